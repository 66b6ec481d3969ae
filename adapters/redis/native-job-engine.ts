/**
 * The native managed-job engine on Redis (the default; `createRedisAdapters({ managedJobs:
 * { engine: 'records' } })` opts out): a managed job IS a BullMQ job of its handler's BullMQ queue
 * (native-job-shape.ts), run by a BullMQ worker per handler (native-worker.ts), its attempt history
 * kept by BullMQ's own fetch and finish scripts, wrapped (native-scripts.ts). No separate record, no
 * ticket, no reconciler: the add is BullMQ's add. Core's contract: src/jobs/native-engine.ts.
 *
 * Reads (`get`) are one pipelined round trip (the hash, the log, the state sets). `waitFinished`
 * marks the job watched (`<job key>:w`, with a TTL) before it reads, and the final finish (or the
 * cancel) of a watched job publishes its key on the finished channel, so nothing finished is missed
 * and unwatched jobs publish nothing. `cancel({ abortActive })` marks the job (`ab`) and publishes
 * its key on the abort channel; the node running it aborts the handler's signal.
 */
import { Job, Queue, type JobsOptions } from 'bullmq';
import {
  ClusterError,
  DEFAULT_JOB_PRIORITY,
  ErrorCodes,
  handlerKey,
  JobCancelledError,
  MAX_JOB_LOG_LINES,
  unescapeKeyPart,
  type CancelResult,
  type PromoteResult,
  type RemoveResult,
  type RetryResult,
  type FinishedJob,
  type JobRecord,
  type LazyAbort,
  type ManagedJobEngine,
  type ManagedJobEngineContext,
  type NativeHandler,
  type NativeNoProcessorPass,
} from 'clusterkit/adapter-kit';
import { wrapAddScripts, wrappingClient, type WrappedAdds } from './bull-add-scripts.js';
import { bullPrefix } from './bull-names.js';
import { closeClient, connectClient, createClient, type RedisClient, type RedisConnections } from './connection.js';
import { addWithIdIndex, idIndexEntry, idIndexKey, nativeAppKey, nativeBullName, readIdIndex } from './native-ids.js';
import { generatedIdPrefix, nativeDataOf, parseJobId, type HandlerName } from './native-job-shape.js';
import { noProcessorPass } from './native-no-processor.js';
import {
  cancelScript,
  promoteNativeJob,
  readNativeJob,
  removeNativeJob,
  retryNativeJob,
  type Located,
  type OperateDeps,
} from './native-job-reads.js';
import { NativeJobQueries } from './native-job-queries.js';
import { NATIVE_CANCEL_LUA } from './native-scripts.js';
import { FinishWaiters } from './native-wait.js';
import { BULL_DEFAULT_PRIORITY } from './lua/queue-scripts.js';
import { QueuePrioritizer } from './queue-prioritizer.js';
import { startNativeWorker } from './native-worker.js';
import { batchWrites } from './write-batching.js';

/** Options of the native engine (`createRedisAdapters({ managedJobs })`). */
export interface NativeEngineOptions {
  /** BullMQ lock duration of a running job, ms (extended every half). @default 30000 */
  readonly lockDurationMs?: number;
  /** How often BullMQ's stalled check runs, ms. @default 30000 */
  readonly stalledIntervalMs?: number;
}

/** A handler's names (see `RedisNativeJobEngine.named`). */
interface HandlerNames {
  /** The BullMQ name of its queue (nativeBullName). */
  readonly queueName: string;
  /** BullMQ's key prefix of its queue (`<prefix>:<queueName>:`). */
  readonly keyPrefix: string;
  /** Its queue's key prefix and its entry in its plugin's id index (native-ids.ts). */
  readonly idEntry: string;
  /** Its plugin's id index. */
  readonly indexKey: string;
  /** handlerKey(plugin, queue, job). */
  readonly handlerKey: string;
  /** What its generated public ids start with. */
  readonly idPrefix: string;
}

/** How long an abort for a job not (yet) running here is remembered. */
const EARLY_ABORT_MS = 60_000;

/** The native engine of one node. */
export class RedisNativeJobEngine implements ManagedJobEngine {
  readonly kind = 'native';
  private client: RedisClient | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly knownHandlers = new Set<string>();
  private readonly handlerNames = new Map<string, HandlerNames>();
  private lastNamed: (HandlerName & { readonly names: HandlerNames }) | undefined;
  private readonly keeps = new Map<number, { readonly age: number }>();
  /** The handler queues this node switched or saw switched to prioritized (queue-prioritizer.ts). */
  private readonly prioritized = new QueuePrioritizer();
  /** The wrapped adds on the engine's connection (null: BullMQ's could not be wrapped). */
  private wrappedAdds: WrappedAdds | null | undefined;
  private readonly running = new Map<string, LazyAbort>();
  private readonly earlyAborts = new Map<string, number>();
  private readonly finishWaiters = new FinishWaiters();
  /** Where the NO_PROCESSOR pass goes on pruning each plugin's id index (HSCAN cursors). */
  private readonly indexCursors = new Map<string, string>();
  /** This node's workers, each by the function that closes it (`force`: without waiting for running jobs). */
  private readonly workers = new Map<() => Promise<void>, (force: boolean) => Promise<void>>();
  private unsubscribe: (() => Promise<void>)[] = [];
  private readonly prefix: string;
  private readonly finishedChannel: string;
  private readonly abortChannel: string;
  /** `listJobs`, `getMetrics`, `getQueueStats`, `clean` (native-job-queries.ts). */
  readonly queries: NativeJobQueries;

  constructor(
    private readonly connections: RedisConnections,
    private readonly context: ManagedJobEngineContext,
    private readonly options: NativeEngineOptions = {},
  ) {
    this.prefix = bullPrefix(connections.prefix);
    this.finishedChannel = `${connections.prefix}:nj:finished`;
    this.abortChannel = `${connections.prefix}:nj:abort`;
    this.queries = new NativeJobQueries({
      client: () => this.redis,
      locate: (handler) => ({ handler, keyPrefix: this.keyPrefixOf(handler) }),
      plugins: () => this.redis.smembers(this.pluginsKey),
      handlersOf: (pluginName) => this.handlersOf(pluginName),
      isPaused: (pluginName, queueName) => this.isPaused(pluginName, queueName),
    });
  }

  async start(): Promise<void> {
    await this.connections.open();
    const client = createClient(this.connections.source, 'worker');
    client.on('error', () => {});
    // The adds and the workers' finishes of one microtask checkpoint leave in one write (write-batching.ts).
    batchWrites(client);
    await connectClient(client, this.connections.connectTimeoutMs, 'native managed jobs');
    client.defineCommand('ckNativeCancel', { numberOfKeys: 8, lua: NATIVE_CANCEL_LUA });
    this.client = client;
    const sub = this.connections.subscriber;
    this.unsubscribe = [
      await sub.listen(this.finishedChannel, (message) => this.finishWaiters.finished(message)),
      await sub.listen(this.abortChannel, (message) => this.abortHere(message)),
    ];
  }

  async stop(graceMs: number): Promise<void> {
    const abort = setTimeout(() => {
      for (const entry of this.running.values())
        entry.abort(new ClusterError(ErrorCodes.SHUTDOWN, 'the node is stopping'));
    }, graceMs);
    // Running jobs get the grace period, then their signal aborts; a handler that ignores it is
    // abandoned after as long again (at least ABANDON_AFTER_MS): its worker is closed without waiting.
    let abandon: NodeJS.Timeout | undefined;
    const closing = Promise.allSettled([...this.workers.values()].map((close) => close(false)));
    try {
      const done = await Promise.race([
        closing.then(() => true),
        new Promise<false>(
          (resolve) => (abandon = setTimeout(() => resolve(false), graceMs + Math.max(graceMs, ABANDON_AFTER_MS))),
        ),
      ]);
      if (!done) await boundedForceClose([...this.workers.values()]);
    } finally {
      clearTimeout(abort);
      clearTimeout(abandon);
    }
    this.workers.clear();
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    await Promise.allSettled(this.unsubscribe.map((off) => off()));
    this.unsubscribe = [];
    if (this.client) await closeClient(this.client);
    this.client = undefined;
    await this.connections.release();
  }

  private get redis(): RedisClient {
    if (!this.client) throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'native managed jobs: not started');
    return this.client;
  }

  private queue(h: HandlerName): Queue {
    return this.queueNamed(nativeBullName(this.context.appName, h));
  }

  /** The Queue of a handler queue by its BullMQ name. */
  private queueNamed(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis, prefix: this.prefix });
      queue.on('error', (error) => this.context.reportError(error, { source: 'managedQueue.native' }));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** An app-level key (native-ids.ts `nativeAppKey`: all in the app's slot). */
  private appKey(...parts: string[]): string {
    return nativeAppKey(this.connections.prefix, this.context.appName, ...parts);
  }

  /** The set of a plugin's handler keys that have had jobs (for pause/resume and NO_PROCESSOR). */
  private handlersKey(pluginName: string): string {
    return this.appKey('handlers', pluginName);
  }

  /** The set of plugins that have handler queues (for the NO_PROCESSOR pass). */
  private get pluginsKey(): string {
    return this.appKey('plugins');
  }

  /** BullMQ's key prefix of a handler's queue. */
  private keyPrefixOf(handler: HandlerName): string {
    return `${this.prefix}:${nativeBullName(this.context.appName, handler)}:`;
  }

  /**
   * Records a handler's queue in its plugin's set once per node (to find scoped ids, and for
   * pause/resume); a queue new to the cluster is paused at once when its logical queue is. One
   * transaction in the app's slot (nativeAppKey) records it and reads the flag; the pause writes its
   * flag before reading the set, so either it sees the new queue or the new queue sees the flag.
   */
  private async known(h: HandlerName): Promise<void> {
    const hk = handlerKey(h.pluginName, h.queueName, h.jobName);
    if (this.knownHandlers.has(hk)) return;
    const [[, added], , [, paused]] = (await this.redis
      .multi()
      .sadd(this.handlersKey(h.pluginName), hk)
      .sadd(this.pluginsKey, h.pluginName)
      .exists(this.pausedKey(h.pluginName, h.queueName))
      .exec()) as [[unknown, number], unknown, [unknown, number]];
    if (added === 1 && paused === 1) await this.queue(h).pause();
    this.knownHandlers.add(hk);
  }

  private pausedKey(pluginName: string, queueName: string): string {
    return this.appKey('paused', pluginName, queueName);
  }

  /** The handler queues of a plugin that have been used (see {@link known}). */
  private async handlersOf(pluginName: string): Promise<HandlerName[]> {
    const keys = await this.redis.smembers(this.handlersKey(pluginName));
    return keys.map((key) => {
      const [p, queueName, jobName] = key.split(':').map(unescapeKeyPart) as [string, string, string];
      return { pluginName: p, queueName, jobName };
    });
  }

  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    const flag = this.pausedKey(pluginName, queueName);
    if (paused) await this.redis.set(flag, '1');
    else await this.redis.del(flag);
    const handlers = (await this.handlersOf(pluginName)).filter((h) => h.queueName === queueName);
    await Promise.all(handlers.map((h) => (paused ? this.queue(h).pause() : this.queue(h).resume())));
  }

  async isPaused(pluginName: string, queueName: string): Promise<boolean> {
    return (await this.redis.exists(this.pausedKey(pluginName, queueName))) === 1;
  }

  /** BullMQ's retention option of a job (one frozen object per distinct age: `add` runs per job). */
  private keep(remove: boolean | number, fallbackMs: number): JobsOptions['removeOnComplete'] {
    if (remove === true) return true;
    const age = Math.max(1, Math.ceil((remove === false ? fallbackMs : remove) / 1000));
    let keep = this.keeps.get(age);
    if (!keep) {
      keep = Object.freeze({ age });
      if (this.keeps.size < 64) this.keeps.set(age, keep);
    }
    return keep;
  }

  /** A handler's names, computed once per node (`add` runs per job; the last one needs no key). */
  private named(h: HandlerName): HandlerNames {
    const last = this.lastNamed;
    if (last && last.pluginName === h.pluginName && last.queueName === h.queueName && last.jobName === h.jobName)
      return last.names;
    const cacheKey = `${h.pluginName}\n${h.queueName}\n${h.jobName}`;
    let names = this.handlerNames.get(cacheKey);
    if (!names) {
      const queueName = nativeBullName(this.context.appName, h);
      const hk = handlerKey(h.pluginName, h.queueName, h.jobName);
      const keyPrefix = `${this.prefix}:${queueName}:`;
      names = {
        queueName,
        keyPrefix,
        idEntry: idIndexEntry(keyPrefix, hk),
        indexKey: idIndexKey(this.connections.prefix, this.context.appName, h.pluginName),
        handlerKey: hk,
        idPrefix: generatedIdPrefix(h),
      };
      this.handlerNames.set(cacheKey, names);
    }
    this.lastNamed = { pluginName: h.pluginName, queueName: h.queueName, jobName: h.jobName, names };
    return names;
  }

  /**
   * Adds a record's job. A job of the default priority is a plain BullMQ job (no priority: BullMQ's
   * cheaper path) while its handler queue has only ever seen the default; the first job of another
   * priority switches the queue to prioritized for good (queue-prioritizer.ts), and every plain add
   * is lifted to the default level in its own script if the queue has been switched meanwhile.
   */
  async add(record: JobRecord): Promise<string> {
    const h: HandlerName = record;
    const callerId = record.id.includes(':');
    const names = this.named(h);
    if (!this.knownHandlers.has(names.handlerKey)) await this.known(h);
    const queue = this.queueNamed(names.queueName);
    const tenantId = record.tenantId;
    // The plain generated-id add goes through the event queue's wrapped adds (bull-add-scripts.ts);
    // when BullMQ's scripts cannot be wrapped there, every job of the queue is prioritized.
    let adds: WrappedAdds | undefined;
    let backend: unknown;
    if (!callerId && tenantId === undefined) {
      backend = await queue.getBackend().client; // BullMQ defines its scripts on the connection when the queue first connects.
      adds = this.addsOf(this.redis);
    }
    const mustPrioritize =
      record.priority !== DEFAULT_JOB_PRIORITY || (adds === undefined && !callerId && tenantId === undefined);
    if (mustPrioritize && !this.prioritized.has(names.queueName))
      await this.prioritized.prioritize(this.redis, names.queueName, names.keyPrefix);
    const opts: JobsOptions = {
      attempts: record.maxAttempts,
      removeOnComplete: this.keep(record.removeOnComplete, this.context.completedRetentionMs),
      removeOnFail: this.keep(record.removeOnFail, this.context.failedRetentionMs),
      keepLogs: MAX_JOB_LOG_LINES,
    };
    if (this.prioritized.has(names.queueName)) opts.priority = Math.min(record.priority + 1, 2_097_152);
    if (record.maxAttempts > 1) opts.backoff = { type: 'clusterkit' };
    if (record.delayMs > 0) opts.delay = record.delayMs;
    const data = nativeDataOf(record);
    // A job with a tenant enters its tenant's index in the same script call (native-job-queries.ts).
    if (callerId) {
      // Plugin-wide dedupe in one script call: BullMQ's add wrapped with the plugin's id index.
      const bullId = parseJobId(record.id)!.bullId;
      const index = { indexKey: names.indexKey, bullId, entry: names.idEntry };
      if (tenantId === undefined)
        await addWithIdIndex(queue, record.jobName, data, opts, bullId, index.indexKey, index.entry);
      else await this.queries.addWithTenant(queue, record.jobName, data, opts, tenantId, index);
      return record.id;
    }
    if (tenantId !== undefined)
      return names.idPrefix + (await this.queries.addWithTenant(queue, record.jobName, data, opts, tenantId));
    const job = new Job(queue, record.jobName, data, opts);
    const client = adds ? wrappingClient(this.redis, adds, false, BULL_DEFAULT_PRIORITY) : backend;
    return names.idPrefix + (await job.addJob(client as unknown as Parameters<Job['addJob']>[0]));
  }

  /** The wrapped adds on `client` (bull-add-scripts.ts), once per connection; undefined when BullMQ's cannot be wrapped. */
  private addsOf(client: RedisClient): WrappedAdds | undefined {
    if (this.wrappedAdds === undefined) this.wrappedAdds = wrapAddScripts(client) ?? null;
    return this.wrappedAdds ?? undefined;
  }

  /** Finds a job's queue: from a generated id directly; a scoped id from its plugin's id index (one HGET). */
  private async locate(jobId: string): Promise<Located | undefined> {
    const parsed = parseJobId(jobId);
    if (!parsed) return undefined;
    if (parsed.kind === 'generated') {
      const keyPrefix = `${this.prefix}:${nativeBullName(this.context.appName, parsed.handler)}:`;
      return { handler: parsed.handler, bullId: parsed.bullId, keyPrefix };
    }
    const index = idIndexKey(this.connections.prefix, this.context.appName, parsed.pluginName);
    const at = await readIdIndex(this.redis, index, parsed.bullId);
    return at && { handler: at.handler, bullId: parsed.bullId, keyPrefix: at.keyPrefix };
  }

  async get(jobId: string): Promise<{ record: JobRecord; logs: string[] } | null> {
    const at = await this.locate(jobId);
    return at ? readNativeJob(this.redis, jobId, at) : null;
  }

  async cancel(jobId: string, abortActive: boolean): Promise<CancelResult> {
    const at = await this.locate(jobId);
    if (!at) return { success: false, reason: 'not_found' };
    const outcome = await cancelScript(this.redis, at, jobId, abortActive, this.finishedChannel);
    if (outcome === 'cancelled') return { success: true };
    if (outcome === 'abort') {
      // `<job key>\n<public id>`: the running node aborts the signal with the job's public id.
      await this.redis.publish(this.abortChannel, `${at.keyPrefix + at.bullId}\n${jobId}`);
      return { success: true };
    }
    return { success: false, reason: outcome };
  }

  private async operate<R>(
    jobId: string,
    op: (deps: OperateDeps) => Promise<R>,
  ): Promise<R | { success: false; reason: 'not_found' }> {
    const at = await this.locate(jobId);
    if (!at) return { success: false, reason: 'not_found' };
    return op({ client: this.redis, queue: this.queue(at.handler), at, jobId, finishedChannel: this.finishedChannel });
  }

  retry(jobId: string): Promise<RetryResult> {
    return this.operate(jobId, retryNativeJob);
  }

  remove(jobId: string): Promise<RemoveResult> {
    return this.operate(jobId, removeNativeJob);
  }

  promote(jobId: string): Promise<PromoteResult> {
    return this.operate(jobId, promoteNativeJob);
  }

  /** One NO_PROCESSOR pass (native-no-processor.ts); core runs it on one node at a time. */
  failWithoutProcessor(pass: NativeNoProcessorPass): Promise<number> {
    return noProcessorPass(
      {
        client: this.redis,
        missingKey: this.appKey('missing'),
        plugins: () => this.redis.smembers(this.pluginsKey),
        handlersOf: (pluginName) => this.handlersOf(pluginName),
        keyPrefixOf: (h) => `${this.prefix}:${nativeBullName(this.context.appName, h)}:`,
        handlerKeyOf: (h) => handlerKey(h.pluginName, h.queueName, h.jobName),
        indexKeyOf: (pluginName) => idIndexKey(this.connections.prefix, this.context.appName, pluginName),
        indexCursors: this.indexCursors,
        finishedChannel: this.finishedChannel,
        nodeId: this.context.nodeId,
      },
      pass,
    );
  }

  private abortHere(message: string): void {
    const [jobKey = '', jobId = ''] = message.split('\n');
    const entry = this.running.get(jobKey);
    if (entry) entry.abort(new JobCancelledError(jobId));
    else {
      const now = Date.now();
      for (const [key, at] of this.earlyAborts) if (at < now - EARLY_ABORT_MS) this.earlyAborts.delete(key);
      this.earlyAborts.set(jobKey, now);
    }
  }

  async waitFinished(jobId: string, timeoutMs: number): Promise<FinishedJob | 'removed' | null> {
    const at = await this.locate(jobId);
    return at ? this.finishWaiters.wait(this.redis, jobId, at, timeoutMs) : null;
  }

  async handle(handler: NativeHandler): Promise<() => Promise<void>> {
    // Cluster-wide limits of the handler are BullMQ's own, on its queue (= the handler): checked by
    // BullMQ's fetch, nothing per job when unset. The last registration that gives one sets it.
    const { globalConcurrency, rateLimit } = handler.options;
    await this.known(handler.options);
    if (globalConcurrency !== undefined) await this.queue(handler.options).setGlobalConcurrency(globalConcurrency);
    if (rateLimit !== undefined)
      await this.queue(handler.options).setGlobalRateLimit(rateLimit.max, rateLimit.durationMs);
    const close = await startNativeWorker(
      {
        connection: this.redis,
        prefix: this.prefix,
        nodeId: this.context.nodeId,
        finishedChannel: this.finishedChannel,
        lockDurationMs: this.options.lockDurationMs ?? 30_000,
        stalledIntervalMs: this.options.stalledIntervalMs ?? 30_000,
        running: this.running,
        abortedEarly: (jobKey) => this.earlyAborts.delete(jobKey),
        reportError: this.context.reportError,
      },
      nativeBullName(this.context.appName, handler.options),
      handler,
    );
    const stop = async () => {
      this.workers.delete(stop);
      await close(false);
    };
    this.workers.set(stop, close);
    return stop;
  }
}

/** How long a stopping node waits, beyond the grace period, for a handler that ignores its aborted signal. */
const ABANDON_AFTER_MS = 1_000;

/** Closes workers without waiting for their running jobs; gives up on them after ABANDON_AFTER_MS. */
async function boundedForceClose(closes: ReadonlyArray<(force: boolean) => Promise<void>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(closes.map((close) => close(true))),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ABANDON_AFTER_MS))),
  ]);
  clearTimeout(timer);
}
