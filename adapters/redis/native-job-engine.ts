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
import { addWithIdIndex, nativeBullName, readIdIndex } from './native-ids.js';
import { nativeDataOf, parseJobId, type HandlerName } from './native-job-shape.js';
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
import { NativeDirectory } from './native-directory.js';
import { NativeNames } from './native-names.js';
import { closeWorkers, type CloseWorker } from './native-stop.js';
import { batchWrites } from './write-batching.js';

/** Options of the native engine (`createRedisAdapters({ managedJobs })`). */
export interface NativeEngineOptions {
  /** BullMQ lock duration of a running job, ms (extended every half). @default 30000 */
  readonly lockDurationMs?: number;
  /** How often BullMQ's stalled check runs, ms. @default 30000 */
  readonly stalledIntervalMs?: number;
}

/** How long an abort for a job not (yet) running here is remembered. */
const EARLY_ABORT_MS = 60_000;

/** The native engine of one node. */
export class RedisNativeJobEngine implements ManagedJobEngine {
  readonly kind = 'native';
  private client: RedisClient | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly names: NativeNames;
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
  private readonly workers = new Map<() => Promise<void>, CloseWorker>();
  private unsubscribe: (() => Promise<void>)[] = [];
  private readonly prefix: string;
  private readonly finishedChannel: string;
  private readonly abortChannel: string;
  /** `listJobs`, `getMetrics`, `getQueueStats`, `clean` (native-job-queries.ts). */
  readonly queries: NativeJobQueries;
  /** Which handler queues and plugins there are, and the paused flags (native-directory.ts). */
  private readonly directory: NativeDirectory;

  constructor(
    private readonly connections: RedisConnections,
    private readonly context: ManagedJobEngineContext,
    private readonly options: NativeEngineOptions = {},
  ) {
    this.prefix = bullPrefix(connections.prefix);
    this.finishedChannel = `${connections.prefix}:nj:finished`;
    this.abortChannel = `${connections.prefix}:nj:abort`;
    this.names = new NativeNames(this.prefix, connections.prefix, context.appName);
    this.directory = new NativeDirectory({
      client: () => this.redis,
      queue: (h) => this.queue(h),
      prefix: connections.prefix,
      appName: context.appName,
    });
    this.queries = new NativeJobQueries({
      client: () => this.redis,
      locate: (handler) => ({ handler, keyPrefix: this.names.keyPrefixOf(handler) }),
      plugins: () => this.directory.plugins(),
      handlersOf: (pluginName) => this.directory.handlersOf(pluginName),
      isPaused: (pluginName, queueName) => this.directory.isPaused(pluginName, queueName),
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
    await closeWorkers([...this.workers.values()], this.running, graceMs);
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

  setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    return this.directory.setPaused(pluginName, queueName, paused);
  }

  isPaused(pluginName: string, queueName: string): Promise<boolean> {
    return this.directory.isPaused(pluginName, queueName);
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
    const names = this.names.named(h);
    if (!this.directory.isKnown(names.handlerKey)) await this.directory.known(h);
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
      removeOnComplete: this.names.keep(record.removeOnComplete, this.context.completedRetentionMs),
      removeOnFail: this.names.keep(record.removeOnFail, this.context.failedRetentionMs),
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
      return { handler: parsed.handler, bullId: parsed.bullId, keyPrefix: this.names.keyPrefixOf(parsed.handler) };
    }
    const at = await readIdIndex(this.redis, this.names.indexKeyOf(parsed.pluginName), parsed.bullId);
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
        missingKey: this.directory.key('missing'),
        plugins: () => this.directory.plugins(),
        handlersOf: (pluginName) => this.directory.handlersOf(pluginName),
        keyPrefixOf: (h) => this.names.keyPrefixOf(h),
        handlerKeyOf: (h) => handlerKey(h.pluginName, h.queueName, h.jobName),
        indexKeyOf: (pluginName) => this.names.indexKeyOf(pluginName),
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
    await this.directory.known(handler.options);
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
