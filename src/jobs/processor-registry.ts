/**
 * This node's job handlers, their local concurrency lanes, and the heartbeat that tells the rest
 * of the cluster which handlers are alive.
 *
 * A lane admits `concurrency` running jobs plus at most `concurrency` more waiting their turn (a
 * small prefetch so the handler never idles between jobs). Beyond that a job is NOT held: the
 * dispatcher hands it back to the physical queue, so a backlog for one handler never occupies the
 * physical consumer's slots and never delays other plugins' jobs (the head-of-line rule).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { describe } from '../validation.js';
import type { JobStore } from './job-store.js';
import { processorDeclarations } from './plugin-job-processor.js';
import { escapeKeyPart } from './scoped-key.js';
import type { ManagedJobHandler, ProcessorOptions } from './types.js';

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
  /** Mean handler duration (ms), an exponentially weighted estimate. */
  private meanDurationMs = 50;
  private windowStart = Date.now();
  private handBacksNow = 0;
  private handBacksBefore = 0;

  constructor(
    readonly options: ProcessorOptions,
    readonly handler: ManagedJobHandler,
  ) {
    this.key = handlerKey(options.pluginName, options.queueName, options.jobName);
    this.concurrency = options.concurrency ?? 1;
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
    if (this.waiters.length >= this.concurrency) return undefined;
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
   * How long a handed-back job should stay away: roughly the time this node needs to work through
   * the backlog it has recently turned away (so a burst is not re-delivered faster than it can run),
   * between 20 ms and 2 s, with jitter so returning jobs spread out.
   */
  busyDelayMs(): number {
    const now = Date.now();
    if (now - this.windowStart >= 1_000) {
      this.handBacksBefore = now - this.windowStart >= 2_000 ? 0 : this.handBacksNow;
      this.handBacksNow = 0;
      this.windowStart = now;
    }
    this.handBacksNow += 1;
    const backlog = Math.max(this.handBacksNow, this.handBacksBefore);
    const estimate = (this.meanDurationMs * backlog) / this.concurrency;
    const clamped = Math.min(2_000, Math.max(20, estimate));
    return Math.round(clamped * (0.5 + Math.random() * 0.5));
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
    private readonly onError: (error: unknown) => void,
  ) {}

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
    if (this.registrations.has(key)) return true;
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
    for (const key of this.registrations.keys()) {
      writes.push(store.set(this.jobs.key('handler', key), this.nodeId, { ttlMs: this.ttlMs }));
    }
    await Promise.all(writes);
  }
}
