import type { App } from '../app.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import type { Plugin, PluginClass, PluginOptions } from './plugin.js';

/** Registers plugins and drives their lifecycle with the app (`app.pm`). */
export class PluginManager {
  private readonly plugins = new Map<string, Plugin>();
  private started = false;

  constructor(private readonly app: App) {}

  /**
   * Registers a plugin. Before `app.start()` it loads with the others; after, it loads at once.
   * Its sync-message channel is subscribed right away (effective when the app connects).
   */
  async add<P extends Plugin>(PluginCtor: PluginClass<P>, options: PluginOptions = {}): Promise<P> {
    const plugin = new PluginCtor(this.app, options);
    if (this.plugins.has(plugin.name)) {
      throw new ClusterError(ErrorCodes.INVALID_STATE, `plugin "${plugin.name}" is already registered`);
    }
    this.plugins.set(plugin.name, plugin);
    await this.app.syncMessageManager.subscribe(plugin.name, (message) => plugin.handleSyncMessage(message));
    if (this.started) await this.load([plugin]);
    return plugin;
  }

  /** The plugin registered under `name`. */
  get<P extends Plugin = Plugin>(name: string): P | undefined {
    return this.plugins.get(name) as P | undefined;
  }

  /** Every registered plugin, in registration order. */
  list(): Plugin[] {
    return [...this.plugins.values()];
  }

  /** @internal Called by `app.start()`. */
  async startAll(): Promise<void> {
    await this.load(this.list());
    this.started = true;
  }

  /** @internal Called by `app.stop()`. */
  async stopAll(): Promise<void> {
    this.started = false;
    for (const plugin of this.list().reverse()) {
      try {
        await plugin.beforeStop();
      } catch (error) {
        this.app.reportError(error, { plugin: plugin.name, hook: 'beforeStop' });
      }
    }
  }

  private async load(plugins: Plugin[]): Promise<void> {
    for (const p of plugins) await p.beforeLoad();
    for (const p of plugins) await p.load();
    for (const p of plugins) await p.afterStart();
  }
}
