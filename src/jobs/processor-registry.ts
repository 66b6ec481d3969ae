/**
 * This node's job handlers, their local concurrency lanes, and the heartbeat that tells the rest
 * of the cluster which handlers are alive.
 *
 * A lane runs at most `concurrency` jobs. A ticket that finds the lane full is *parked*: acknowledged
 * on the physical queue (it holds no physical slot), remembered here in priority order (then enqueue
 * order), and marked in the job store as parked by this node, so the reconciler republishes it if this
 * node dies. When a slot frees, the
 * best parked job starts next — so a busy handler still takes its waiting jobs in priority order,
 * and one plugin's backlog never occupies the physical consumer's slots (the head-of-line rule).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { describe } from '../validation.js';
import type { CacheStore } from '../cache/types.js';
import type { JobEnvelope } from './envelope.js';
import { listNodes, type NodeBeat, type NodeInfo } from './node-list.js';
import { processorDeclarations } from './plugin-job-processor.js';
import { escapeKeyPart, handlerKey } from './scoped-key.js';
import type { ManagedJobHandler, ProcessorOptions } from './types.js';

export { handlerKey } from './scoped-key.js';

/** Longest delay of a hand-back for a busy handler, in ms: a deep backlog still gets looked at again. */
export const MAX_BUSY_DELAY_MS = 30_000;
/** Most jobs parked per lane; beyond, tickets are handed back (paced) instead. */
export const MAX_PARKED = 10_000;

/**
 * A ticket still held by its physical delivery (unacknowledged) while it waits for a park turn: taking
 * it from the lane hands it back to that delivery, which runs it in its own slot.
 */
export interface HeldTicket {
  /** The lane took the job (a slot is reserved for it): the delivery runs it. */
  take(): void;
  /** The node is stopping: the delivery hands the ticket back. */
  stop(): void;
}

/** A parked (or held) ticket and the order it first arrived in (ties within one millisecond keep publish order). */
export interface Parked {
  readonly envelope: JobEnvelope;
  readonly seq: number;
  /** Set while the ticket is held by its delivery, not yet parked. */
  hold?: HeldTicket | undefined;
}

/** Does `a` run before `b` (lower priority number, then earlier enqueue, then arrival)? */
function before(a: Parked, b: Parked): boolean {
  if (a.envelope.priority !== b.envelope.priority) return a.envelope.priority < b.envelope.priority;
  if (a.envelope.enqueuedAt !== b.envelope.enqueuedAt) return a.envelope.enqueuedAt < b.envelope.enqueuedAt;
  return a.seq < b.seq;
}

/** One registered handler on this node. */
export class Registration {
  readonly key: string;
  readonly concurrency: number;
  running = 0;
  /** Parked tickets, best first. */
  private parked: Parked[] = [];
  private readonly parkedIds = new Map<string, Parked>();
  private seq = 0;
  /** Mean time a job holds a lane slot (ms), exponentially weighted; starts low so a first burst is re-offered soon. */
  private meanDurationMs = 1;
  /** The latest return slot handed out by {@link busyDelayMs} (epoch ms). */
  private nextSlotAt = 0;

  constructor(
    readonly options: ProcessorOptions,
    readonly handler: ManagedJobHandler,
  ) {
    this.key = handlerKey(options.pluginName, options.queueName, options.jobName);
    this.concurrency = options.concurrency ?? 1;
  }

  /** Takes a slot for a fresh ticket: only when one is free and no parked job is waiting for it. */
  tryEnter(): boolean {
    if (this.running >= this.concurrency || this.parked.length > 0) return false;
    this.running += 1;
    return true;
  }

  /** Frees a slot (the dispatcher then starts the best parked job, if any). */
  leave(durationMs?: number): void {
    if (durationMs !== undefined) this.meanDurationMs = this.meanDurationMs * 0.8 + durationMs * 0.2;
    this.running = Math.max(0, this.running - 1);
  }

  /** How many tickets are parked in this lane. */
  get parkedCount(): number {
    return this.parked.length;
  }

  /** Is a ticket of `jobId` parked here? */
  isParked(jobId: string): boolean {
    return this.parkedIds.has(jobId);
  }

  /**
   * Parks a ticket in priority order (a job parked again keeps its first arrival order); false when
   * the lane already parks {@link MAX_PARKED}.
   */
  park(envelope: JobEnvelope, hold?: HeldTicket): Parked | undefined {
    const known = this.parkedIds.get(envelope.jobId);
    if (known) this.unpark(known);
    if (this.parked.length >= MAX_PARKED) return undefined;
    const entry: Parked = { envelope, seq: known?.seq ?? (this.seq += 1), hold };
    let lo = 0;
    let hi = this.parked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.parked[mid] as Parked, entry)) lo = mid + 1;
      else hi = mid;
    }
    this.parked.splice(lo, 0, entry);
    this.parkedIds.set(envelope.jobId, entry);
    return entry;
  }

  /** Is `entry` still waiting in this lane (not taken, not dropped)? */
  holds(entry: Parked): boolean {
    return this.parkedIds.get(entry.envelope.jobId) === entry;
  }

  /** Takes a slot for the best parked job, if a slot is free and a job is parked. */
  takeParked(): Parked | undefined {
    if (this.running >= this.concurrency || this.parked.length === 0) return undefined;
    const next = this.parked.shift() as Parked;
    this.parkedIds.delete(next.envelope.jobId);
    this.running += 1;
    return next;
  }

  /** Empties the parked list (the node is stopping: the caller hands every ticket back). */
  drainParked(): Parked[] {
    const all = this.parked;
    this.parked = [];
    this.parkedIds.clear();
    return all;
  }

  /** Forgets the parked ticket of `jobId` (its job turned out stale). */
  unparkJob(jobId: string): void {
    const entry = this.parkedIds.get(jobId);
    if (entry) this.unpark(entry);
  }

  private unpark(entry: Parked): void {
    const i = this.parked.indexOf(entry);
    if (i >= 0) this.parked.splice(i, 1);
    this.parkedIds.delete(entry.envelope.jobId);
  }

  /**
   * How long a handed-back job should stay away (lanes whose parking is full, busy global slots).
   * Each hand-back gets its own future slot, spaced by the time this lane needs per job, so a backlog
   * comes back at about the rate the handler works it off. At least 5 ms, at most {@link MAX_BUSY_DELAY_MS}.
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
    private readonly storeOf: () => CacheStore,
    /** `<app>:managed-queue:` — the prefix of heartbeat keys in the cache store. */
    private readonly prefix: string,
    private readonly nodeId: string,
    /** Liveness TTL of a heartbeat key, in ms; beats come every third of it. */
    readonly ttlMs: number,
    /** False on a producer-only node (`worker: false`): its handlers never run, so they are not advertised. */
    private readonly advertise: boolean,
    private readonly onError: (error: unknown) => void,
    /** The node's `workerConcurrency`, stated in its heartbeat. */
    private readonly workerConcurrency: number,
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
    const registration = new Registration(options, handler);
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
    return (await this.storeOf().get(this.key('handler', key))) !== undefined;
  }

  /** Is `nodeId` alive (its heartbeat has not lapsed)? */
  async nodeAlive(nodeId: string): Promise<boolean> {
    if (nodeId === this.nodeId) return this.timer !== undefined;
    return (await this.storeOf().get(this.key('node', nodeId))) !== undefined;
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
    await this.storeOf().del(this.key('node', this.nodeId)).catch(this.onError);
  }

  /** Writes this node's liveness key and one key per handler it has, each with the TTL. */
  async beat(): Promise<void> {
    const store = this.storeOf();
    const writes = [store.set(this.key('node', this.nodeId), JSON.stringify(this.describe()), { ttlMs: this.ttlMs })];
    for (const key of this.advertise ? this.registrations.keys() : []) {
      writes.push(store.set(this.key('handler', key), this.nodeId, { ttlMs: this.ttlMs }));
    }
    await Promise.all(writes);
  }

  /** Every node whose heartbeat has not lapsed, with what its last beat stated (`managedQueue.listNodes()`). */
  listNodes(): Promise<NodeInfo[]> {
    return listNodes(this.storeOf(), `${this.prefix}node:`);
  }

  /** What this node's heartbeat states. */
  private describe(): NodeBeat {
    const handlers = this.advertise
      ? [...this.registrations.values()].map((r) => ({
          pluginName: r.options.pluginName,
          queueName: r.options.queueName,
          jobName: r.options.jobName,
          concurrency: r.concurrency,
          running: r.running,
        }))
      : [];
    return { at: Date.now(), worker: this.advertise, workerConcurrency: this.workerConcurrency, handlers };
  }

  /** Every registration (stop: hand back what they parked). */
  all(): Registration[] {
    return [...this.registrations.values()];
  }

  /** True while the heartbeat runs (between start and stop). */
  get isBeating(): boolean {
    return this.timer !== undefined;
  }

  private key(kind: 'node' | 'handler', part: string): string {
    // Handler keys are already escaped; node ids are escaped here (they contain the app name).
    return `${this.prefix}${kind}:${kind === 'node' ? escapeKeyPart(part) : part}`;
  }
}
