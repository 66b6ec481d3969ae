/**
 * The native engine's app-level directory on Redis (native-job-engine.ts): which handler queues
 * each plugin has had jobs in, which plugins there are, and each logical queue's paused flag. Every
 * key is in the app's slot (native-ids.ts `nativeAppKey`), so the few multi-key steps here are one
 * transaction on a Redis Cluster too.
 */
import type { Queue } from 'bullmq';
import { handlerKey, unescapeKeyPart } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { nativeAppKey } from './native-ids.js';
import type { HandlerName } from './native-job-shape.js';

/** What the directory needs from its engine. */
export interface NativeDirectoryDeps {
  /** The engine's connection (throws when the engine is not started). */
  readonly client: () => RedisClient;
  /** The BullMQ queue of a handler (for pause and resume). */
  readonly queue: (handler: HandlerName) => Queue;
  /** The adapters' key prefix. */
  readonly prefix: string;
  readonly appName: string;
}

/** The native engine's handler-queue directory and paused flags of one app. */
export class NativeDirectory {
  private readonly knownHandlers = new Set<string>();

  constructor(private readonly deps: NativeDirectoryDeps) {}

  /** An app-level key (all in the app's slot). */
  key(...parts: string[]): string {
    return nativeAppKey(this.deps.prefix, this.deps.appName, ...parts);
  }

  /** True once this node recorded the handler (see {@link known}). */
  isKnown(hk: string): boolean {
    return this.knownHandlers.has(hk);
  }

  /**
   * Records a handler's queue in its plugin's set once per node (to find scoped ids, and for
   * pause/resume); a queue new to the cluster is paused at once when its logical queue is. One
   * transaction in the app's slot records it and reads the flag; the pause writes its flag before
   * reading the set, so either it sees the new queue or the new queue sees the flag.
   */
  async known(h: HandlerName): Promise<void> {
    const hk = handlerKey(h.pluginName, h.queueName, h.jobName);
    if (this.knownHandlers.has(hk)) return;
    const [[, added], , [, paused]] = (await this.deps
      .client()
      .multi()
      .sadd(this.handlersKey(h.pluginName), hk)
      .sadd(this.pluginsKey, h.pluginName)
      .exists(this.pausedKey(h.pluginName, h.queueName))
      .exec()) as [[unknown, number], unknown, [unknown, number]];
    if (added === 1 && paused === 1) await this.deps.queue(h).pause();
    this.knownHandlers.add(hk);
  }

  /** The plugins that have handler queues. */
  plugins(): Promise<string[]> {
    return this.deps.client().smembers(this.pluginsKey);
  }

  /** The handler queues of a plugin that have been used (see {@link known}). */
  async handlersOf(pluginName: string): Promise<HandlerName[]> {
    const keys = await this.deps.client().smembers(this.handlersKey(pluginName));
    return keys.map((key) => {
      const [p, queueName, jobName] = key.split(':').map(unescapeKeyPart) as [string, string, string];
      return { pluginName: p, queueName, jobName };
    });
  }

  /** Pauses or resumes a logical queue: its flag first, then BullMQ's pause of each of its handler queues. */
  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    const flag = this.pausedKey(pluginName, queueName);
    if (paused) await this.deps.client().set(flag, '1');
    else await this.deps.client().del(flag);
    const handlers = (await this.handlersOf(pluginName)).filter((h) => h.queueName === queueName);
    await Promise.all(handlers.map((h) => (paused ? this.deps.queue(h).pause() : this.deps.queue(h).resume())));
  }

  /** Whether a logical queue is paused. */
  async isPaused(pluginName: string, queueName: string): Promise<boolean> {
    return (await this.deps.client().exists(this.pausedKey(pluginName, queueName))) === 1;
  }

  /** The set of a plugin's handler keys that have had jobs. */
  private handlersKey(pluginName: string): string {
    return this.key('handlers', pluginName);
  }

  /** The set of plugins that have handler queues. */
  private get pluginsKey(): string {
    return this.key('plugins');
  }

  private pausedKey(pluginName: string, queueName: string): string {
    return this.key('paused', pluginName, queueName);
  }
}
