/**
 * This node's job handlers, their local concurrency lanes, and the heartbeat that tells the rest
 * of the cluster which handlers are alive.
 *
 * A lane admits `concurrency` running jobs plus a small prefetch of waiting ones (max(concurrency, 4),
 * at most a quarter of the node's `workerConcurrency`) so the handler never idles between jobs.
 * Beyond that a job is NOT held: the dispatcher hands it back to the physical queue with a return
 * slot paced to the handler's speed, so a backlog for one handler never occupies the physical
 * consumer's slots and never delays other plugins' jobs (the head-of-line rule).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { describe } from '../validation.js';
import type { JobStore } from './job-store.js';
import { processorDeclarations } from './plugin-job-processor.js';
import { escapeKeyPart } from './scoped-key.js';
import type { ManagedJobHandler, ProcessorOptions } from './types.js';

/** Longest delay of a hand-back for a busy lane, in ms: a deep backlog still gets looked at again. */
export const MAX_BUSY_DELAY_MS = 30_000;

/** `<plugin>:<queue>:<job>`, escaped. */
export function handlerKey(pluginName: string, queueName: string, jobName: string): string {
  return [pluginName, queueName, jobName].map(escapeKeyPart).join(':');
}

/** One registered handler on this node. */
export class Registration {
  readonly key: string;
  readonly concurrency: number;
  running = 0;
  private readonly waiters: (() => void)[] = [];
  /** Mean time a job holds a lane slot (ms), exponentially weighted; starts low so a first burst is re-offered soon. */
  private meanDurationMs = 1;
  /** The latest return slot handed out by {@link busyDelayMs} (epoch ms). */
  private nextSlotAt = 0;

  /** Most jobs waiting in the lane for a slot (they hold physical-queue slots, so this is bounded). */
  readonly prefetch: number;

  constructor(
    readonly options: ProcessorOptions,
    readonly handler: ManagedJobHandler,
    /** The physical consumer's concurrency on this node. */
    workerConcurrency: number,
  ) {
    this.key = handlerKey(options.pluginName, options.queueName, options.jobName);
    this.concurrency = options.concurrency ?? 1;
    // Enough waiting jobs to ride out uneven returns of handed-back tickets, but never more than a
    // quarter of the physical slots: the rest stay free for every other handler.
    this.prefetch = Math.min(Math.max(this.concurrency, 4), Math.max(1, Math.floor(workerConcurrency / 4)));
  }

  /**
   * A slot in the lane: resolves when the job may run, or returns `undefined` when the lane (running
   * plus prefetch) is full and the job must be handed back.
   */
  enter(): Promise<void> | undefined {
    if (this.running < this.concurrency) {
      this.running += 1;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.prefetch) return undefined;
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Frees a slot: the oldest waiter takes it over. */
  leave(durationMs?: number): void {
    if (durationMs !== undefined) this.meanDurationMs = this.meanDurationMs * 0.8 + durationMs * 0.2;
    const next = this.waiters.shift();
    if (next) next();
    else this.running = Math.max(0, this.running - 1);
  }

  /**
   * How long a handed-back job should stay away. Each hand-back gets its own future slot, spaced by
   * the time this lane needs per job (mean lane time / concurrency, a little tighter so the prefetch
   * stays fed): a backlog comes back at about the rate the handler works it off, instead of all at
   * once (churn) or long after the handler went idle. At least 5 ms, at most {@link MAX_BUSY_DELAY_MS}.
   */
  busyDelayMs(): number {
    const now = Date.now();
    const spacing = Math.max(0.5, (this.meanDurationMs * 0.8) / this.concurrency);
    this.nextSlotAt = Math.min(now + MAX_BUSY_DELAY_MS, Math.max(now, this.nextSlotAt) + spacing);
    return Math.max(5, Math.round(this.nextSlotAt - now));
  }
}

/** The handlers of one node. */
export class ProcessorRegistry {
  private readonly registrations = new Map<string, Registration>();
  private readonly instances = new Map<object, Registration[]>();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobs: JobStore,
    private readonly nodeId: string,
    /** Liveness TTL of a heartbeat key, in ms; beats come every third of it. */
    readonly ttlMs: number,
    private readonly workerConcurrency: number,
    /** False on a producer-only node (`worker: false`): its handlers never run, so they are not advertised. */
    private readonly advertise: boolean,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** How many handlers this node has registered. */
  get size(): number {
    return this.registrations.size;
  }

  get(key: string): Registration | undefined {
    return this.registrations.get(key);
  }

  /** Adds a handler; a second one for the same plugin/queue/job on this node is refused. */
  add(options: ProcessorOptions, handler: ManagedJobHandler): Registration {
    const registration = new Registration(options, handler, this.workerConcurrency);
    if (this.registrations.has(registration.key)) {
      throw new ClusterError(
        ErrorCodes.ALREADY_SUBSCRIBED,
        `a processor for ${options.pluginName}/${options.queueName}/${options.jobName} is already registered on this node`,
      );
    }
    this.registrations.set(registration.key, registration);
    return registration;
  }

  /** Removes a handler (its running jobs finish). Its heartbeat key lapses on its own. */
  remove(registration: Registration): boolean {
    if (this.registrations.get(registration.key) !== registration) return false;
    this.registrations.delete(registration.key);
    return true;
  }

  /** Registers every `@PluginJobProcessor` declaration of an instance's class, all or none. */
  addInstance(instance: object): void {
    if (typeof instance !== 'object' || instance === null) {
      throw new ClusterError(
        ErrorCodes.INVALID_ARGUMENT,
        `registerProcessor needs an instance, got ${describe(instance)}`,
      );
    }
    const name = instance.constructor?.name ?? 'processor';
    if (this.instances.has(instance)) {
      throw new ClusterError(ErrorCodes.ALREADY_SUBSCRIBED, `this ${name} instance is already registered`);
    }
    const declarations = processorDeclarations(instance);
    if (declarations.length === 0) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${name} has no @PluginJobProcessor declaration`);
    }
    const target = instance as { handle?: unknown; process?: unknown };
    const method = typeof target.handle === 'function' ? target.handle : target.process;
    if (typeof method !== 'function') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${name} must implement handle(job, ctx) (or process)`);
    }
    const handler: ManagedJobHandler = (job, ctx) => (method as ManagedJobHandler).call(instance, job, ctx);
    const added: Registration[] = [];
    try {
      for (const declaration of declarations) added.push(this.add(declaration, handler));
    } catch (error) {
      for (const registration of added) this.remove(registration);
      throw error;
    }
    this.instances.set(instance, added);
  }

  /** Unregisters what {@link addInstance} registered (running jobs finish). */
  removeInstance(instance: object): void {
    const added = this.instances.get(instance);
    if (!added) return;
    this.instances.delete(instance);
    for (const registration of added) this.remove(registration);
  }

  /** Is any live node (this one included) known to have this handler? */
  async aliveAnywhere(key: string): Promise<boolean> {
    if (this.advertise && this.registrations.has(key)) return true;
    return (await this.jobs.store.get(this.jobs.key('handler', key))) !== undefined;
  }

  /** Is `nodeId` alive (its heartbeat has not lapsed)? */
  async nodeAlive(nodeId: string): Promise<boolean> {
    if (nodeId === this.nodeId) return this.timer !== undefined;
    return (await this.jobs.store.get(this.jobs.key('node', nodeId))) !== undefined;
  }

  /** Starts heart-beating (an immediate beat, then every `ttlMs / 3`). */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(
      () => {
        this.beating = this.beat().catch(this.onError);
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref?.();
  }

  /** Stops heart-beating and removes this node's liveness key, so others may take over at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating.catch(() => {});
    await this.jobs.store.del(this.jobs.key('node', this.nodeId)).catch(this.onError);
  }

  /** Writes this node's liveness key and one key per handler it has, each with the TTL. */
  async beat(): Promise<void> {
    const { store } = this.jobs;
    const writes = [store.set(this.jobs.key('node', this.nodeId), String(Date.now()), { ttlMs: this.ttlMs })];
    for (const key of this.advertise ? this.registrations.keys() : []) {
      writes.push(store.set(this.jobs.key('handler', key), this.nodeId, { ttlMs: this.ttlMs }));
    }
    await Promise.all(writes);
  }
}
