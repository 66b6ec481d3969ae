/**
 * Loads the plugin modules given to `clusterkit worker --plugins` (and `dashboard --plugins`).
 * A module may export, as `default` or under the names below:
 * - a setup function `(app, { concurrency }) => void | Promise<void>` (named `register` or default)
 *   that registers processors with `app.managedQueue.process()` / `registerProcessor()`;
 * - a `Plugin` subclass, added with `app.pm.add(PluginClass, { concurrency })`;
 * - `processors`: an array of `@PluginJobProcessor` classes or instances, each registered.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from 'clusterkit';
import { CliError, ExitCodes } from './cli-context.js';

/** What a setup function receives besides the app. */
export interface PluginModuleOptions {
  /** `--concurrency`, when given. */
  concurrency?: number;
}

/** Loads each module and registers what it exports; returns a one-line description per module. */
export async function loadPluginModules(
  app: App,
  specs: readonly string[],
  options: PluginModuleOptions,
): Promise<string[]> {
  const loaded: string[] = [];
  for (const spec of specs) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(toImportable(spec))) as Record<string, unknown>;
    } catch (error) {
      throw new CliError(explainLoadError(spec, error), ExitCodes.USAGE);
    }
    const what: string[] = [];
    const entry = mod.register ?? mod.default;
    if (typeof entry === 'function') {
      if (isClass(entry)) {
        await app.pm.add(entry as never, { ...options });
        what.push(`plugin ${(entry as { pluginName?: string }).pluginName ?? entry.name}`);
      } else {
        await (entry as (app: App, options: PluginModuleOptions) => unknown)(app, { ...options });
        what.push('setup function');
      }
    }
    if (Array.isArray(mod.processors)) {
      const managed = (app as unknown as { managedQueue: { registerProcessor(instance: object): Promise<unknown> } })
        .managedQueue;
      for (const p of mod.processors as unknown[]) {
        const instance = typeof p === 'function' ? new (p as new () => object)() : (p as object);
        await managed.registerProcessor(instance);
      }
      what.push(`${mod.processors.length} processor(s)`);
    }
    if (what.length === 0) {
      throw new CliError(
        `plugin module ${spec} exports nothing clusterkit can load (a default/register function, a Plugin class, or processors[])`,
        ExitCodes.USAGE,
      );
    }
    loaded.push(`${spec}: ${what.join(', ')}`);
  }
  return loaded;
}

/**
 * The message for a plugin module that failed to load. Node 20 does not run TypeScript, so a `.ts`
 * plugin fails with `ERR_UNKNOWN_FILE_EXTENSION`; the message then says how to run one.
 */
export function explainLoadError(spec: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (/\.[cm]?tsx?$/.test(spec) && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || /Unknown file extension/.test(message))) {
    return (
      `cannot load plugin module ${spec}: Node.js does not run TypeScript by itself. Either compile the plugin ` +
      `to JavaScript and pass the .js file, or run the worker with a TypeScript loader: ` +
      `npm i -D tsx, then node --import tsx ./node_modules/clusterkit/dist/cli.js worker --plugins ${spec} ` +
      `(or NODE_OPTIONS="--import tsx" npx clusterkit worker --plugins ${spec})`
    );
  }
  return `cannot load plugin module ${spec}: ${message}`;
}

/** Paths (./x.js, /abs/x.js) become file URLs resolved from the working directory; package names stay as they are. */
function toImportable(spec: string): string {
  if (spec.startsWith('.') || isAbsolute(spec)) return pathToFileURL(resolve(process.cwd(), spec)).href;
  return spec;
}

function isClass(fn: unknown): boolean {
  return typeof fn === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}
