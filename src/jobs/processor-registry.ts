/**
 * This node's job handlers, their local concurrency lanes, and the heartbeat that tells the rest
 * of the cluster which handlers are alive.
 *
 * A lane (registration.ts) runs at most `concurrency` jobs. A ticket that finds the lane full is
 * *parked*: acknowledged on the physical queue, remembered in priority order (then enqueue order),
 * and marked in the job store as parked by this node, so the reconciler republishes it if this node
 * dies; while it waits for one of the node's park turns it is *held* in its delivery (park-gate.ts).
 * When a slot frees, the best waiting job starts next — so a busy handler still takes its waiting jobs
 * in priority order, and one plugin's backlog does not keep the physical consumer's slots (the
 * head-of-line rule).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { describe } from '../validation.js';
import type { CacheStore } from '../cache/types.js';
import { listNodes, type NodeBeat, type NodeInfo } from './node-list.js';
import { processorDeclarations } from './plugin-job-processor.js';
import { Registration } from './registration.js';
import { escapeKeyPart } from './scoped-key.js';
import type { ManagedJobHandler, ProcessorOptions } from './types.js';

export { handlerKey } from './scoped-key.js';
export { MAX_BUSY_DELAY_MS, MAX_PARKED, Registration, type HeldTicket, type Parked } from './registration.js';

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

  /** What {@link addInstance} registered for `instance` (empty when it is not registered). */
  registrationsOf(instance: object): readonly Registration[] {
    return this.instances.get(instance) ?? [];
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
