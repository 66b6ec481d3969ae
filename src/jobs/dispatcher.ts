/**
 * Routes each ticket that arrives on the physical queue. Whatever happens, the physical message is
 * settled quickly: a ticket is run here, parked (its handler's lane is full: acknowledged, kept in
 * priority order, covered by a delayed safety ticket), handed back (republished with a delay, same
 * generation, attempt unspent) or dropped as stale.
 *
 * Order: handler missing here (someone else has it: hand back; nobody has had it for the grace
 * period: fail the attempt with NO_PROCESSOR) → a duplicate of a job this node already handles →
 * lane full (park) → claim, ONE store transition that checks incarnation, generation, owner, paused,
 * global concurrency and rate limit together → run. No store read happens before the lane check.
 */
import type { EventQueueProcessContext } from '../event-queue/event-queue-options.js';
import { isClusterError, ErrorCodes } from '../errors.js';
import { LazyAbort, NEVER_ABORTED, signalSource, type AbortSource } from '../lazy-abort.js';
import { decodeJobEnvelope, ticketId, type JobEnvelope, type JobRecord } from './envelope.js';
import type { JobRunner } from './job-runner.js';
import type { ClaimResult, JobRef, JobStore } from './job-store.js';
import { noProcessorError } from './no-processor-error.js';
import { ParkGate } from './park-gate.js';
import { randomHex12 } from './random-hex.js';
import type { ProcessorRegistry, Registration } from './processor-registry.js';
import { handlerKeyOf } from './scoped-key.js';
import type { TicketPublisher } from './ticket-publisher.js';

/** What the dispatcher needs from the managed queue. */
export interface DispatcherDeps {
  readonly store: JobStore;
  readonly registry: ProcessorRegistry;
  readonly runner: JobRunner;
  readonly nodeId: string;
  /** How long a handler may be missing on every node before its jobs fail, in ms. */
  readonly processorGraceMs: number;
  /** Delay of a hand-back to a node that has the handler, in ms. */
  readonly handBackDelayMs: number;
  /** How often a paused queue's jobs come back to check, in ms. */
  readonly pausedRecheckMs: number;
  readonly publishTicket: TicketPublisher;
  /** Most tickets parked at once (see park-gate.ts). */
  readonly parksInFlight: number;
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/** The physical queue's message handler. */
export class Dispatcher {
  private readonly local = new Set<Promise<void>>();
  /** The node is stopping: a ticket whose lane is full goes straight back to the queue. */
  private stopping = false;
  private readonly parkGate: ParkGate;

  constructor(private readonly deps: DispatcherDeps) {
    this.parkGate = new ParkGate(Math.max(1, deps.parksInFlight));
  }

  /** Handles one physical message; throws only to make the event queue keep the ticket. */
  readonly deliver = async (message: unknown, context: EventQueueProcessContext): Promise<void> => {
    const envelope = decodeJobEnvelope(message);
    const registration = this.deps.registry.get(handlerKeyOf(envelope));
    if (!registration) return this.withoutHandler(envelope);
    const ref = refOfTicket(envelope);
    // A duplicate of a generation this node already runs (or is claiming): the owner settles it.
    if (this.deps.runner.holds(ref.id, ref)) return;
    if (!registration.tryEnter() && !(await this.hold(registration, envelope))) return;
    let ranFor: number | undefined;
    try {
      const startedAt = Date.now();
      if (await this.start(envelope, registration, physicalAbort(context))) ranFor = Date.now() - startedAt;
    } finally {
      registration.leave(ranFor);
      this.pump(registration);
    }
  };

  /** Parks again (the node started again after a stop). */
  resume(): void {
    this.stopping = false;
    this.parkGate.close();
  }

  /** Resolves when every job started from the parked list has settled. */
  async drain(): Promise<void> {
    while (this.local.size > 0) await Promise.allSettled([...this.local]);
  }

  /** Hands every parked ticket back to the physical queue at once; from now on nothing is parked (the node is stopping). */
  async unparkAll(): Promise<void> {
    this.stopping = true;
    this.parkGate.openAll(); // held tickets waiting for a park turn hand themselves back
    const tickets: JobEnvelope[] = [];
    for (const entry of this.deps.registry.all().flatMap((registration) => registration.drainParked())) {
      if (entry.hold) entry.hold.stop();
      else tickets.push(entry.envelope);
    }
    await Promise.all(
      tickets.map(async (envelope) => {
        try {
          await this.handBack(envelope, 0);
          await this.deps.store.ticketSent(refOfTicket(envelope), this.deps.nodeId);
        } catch (error) {
          this.reportError(error); // still marked parked by this node: the reconciler republishes it
        }
      }),
    );
  }

  /** Starts the best parked jobs while their lane has free slots (outside any physical delivery). */
  private pump(registration: Registration): void {
    for (let entry = registration.takeParked(); entry; entry = registration.takeParked()) {
      // Still held by its delivery: that delivery runs it in its own slot (and acknowledges it after).
      if (entry.hold) {
        entry.hold.take();
        continue;
      }
      const ticket = entry.envelope;
      const startedAt = Date.now();
      let ranFor: number | undefined;
      // No physical delivery to abort it; the runner's stop path aborts the job.
      const run = this.start(ticket, registration, NEVER_ABORTED)
        .then((ran) => void (ran && (ranFor = Date.now() - startedAt)))
        .catch(async (error: unknown) => {
          // Stopping mid-run (or the store failed): the job goes back to the physical queue unspent.
          await this.handBack(ticket, 0).catch(this.reportError);
          if (!(isClusterError(error) && error.code === ErrorCodes.SHUTDOWN)) this.reportError(error);
        })
        .finally(() => {
          this.local.delete(run);
          registration.leave(ranFor);
          this.pump(registration);
        });
      this.local.add(run);
    }
  }

  /** Claims and runs one ticket's generation. True when the job ran here. */
  private async start(envelope: JobEnvelope, registration: Registration, signal: AbortSource): Promise<boolean> {
    const { runner, store, nodeId } = this.deps;
    const ref = refOfTicket(envelope);
    // Reserved before the first await: a second ticket of this job on this node is now a duplicate.
    if (!runner.reserve(ref)) return false;
    let claimed: JobRecord | undefined;
    try {
      if (signal.aborted) throw signal.reason;
      const { globalConcurrency, rateLimit } = registration.options;
      const request = {
        nodeId,
        now: Date.now(),
        handler: registration.key,
        ...(globalConcurrency === undefined ? {} : { globalConcurrency }),
        ...(rateLimit === undefined ? {} : { rateLimit }),
      };
      let result = await store.claim(ref, request);
      if (result.type === 'owned' && (await this.ownerGone(result.owner))) {
        // Compare-and-set against the dead owner: of all nodes that saw it dead, one wins.
        result = await store.claim(ref, { ...request, now: Date.now(), takeOverFrom: result.owner });
      }
      if (result.type === 'claimed') claimed = result.record;
      else {
        // Before the hand-back: its ticket may come back here at once and must not look like a duplicate.
        runner.unreserve(ref);
        await this.notClaimed(envelope, registration, result);
      }
    } finally {
      if (!claimed) runner.unreserve(ref);
    }
    if (!claimed) return false;
    await runner.run(claimed, registration, signal);
    return true;
  }

  private async ownerGone(owner: string): Promise<boolean> {
    // This node holds the reservation, so no local run of it exists: a claim of ours it outlived.
    if (owner === this.deps.nodeId) return true;
    return !(await this.deps.registry.nodeAlive(owner));
  }

  /** What a refused claim means for the ticket. */
  private async notClaimed(envelope: JobEnvelope, registration: Registration, result: ClaimResult): Promise<void> {
    switch (result.type) {
      case 'early':
        return this.handBack(envelope, result.runAt - Date.now());
      case 'paused':
        return this.handBack(envelope, this.deps.pausedRecheckMs);
      case 'owned':
        // A redelivery while a live owner runs it: look again once its heartbeat could have lapsed.
        return this.handBack(envelope, this.deps.registry.ttlMs);
      case 'busy':
        return this.handBack(envelope, registration.busyDelayMs());
      case 'rate':
        return this.handBack(envelope, result.waitMs);
      default:
        // missing, finished, stale: nothing to do (a successor generation has its own ticket, and the
        // reconciler republishes it if it was never confirmed).
        return;
    }
  }

  /**
   * A ticket whose lane is full: held in its delivery (unacknowledged, in the lane's priority order)
   * until either the lane takes it — true: a slot is reserved and the caller runs it — or it gets a
   * park turn and is parked (false). Parked: remembered in the lane, and marked in the store ("ticket
   * pending", parked by this node) before the physical ticket is acknowledged, so the reconciler
   * brings the job back if this node dies. A full parking, or a stopping node, hands the ticket back.
   */
  private async hold(registration: Registration, envelope: JobEnvelope): Promise<boolean> {
    if (registration.isParked(envelope.jobId)) return false; // a duplicate: its first ticket is here already
    if (this.stopping) {
      await this.handBack(envelope, 0);
      return false;
    }
    let settle!: (how: 'run' | 'stop') => void;
    const taken = new Promise<'run' | 'stop'>((resolve) => (settle = resolve));
    const entry = registration.park(envelope, { take: () => settle('run'), stop: () => settle('stop') });
    if (!entry) {
      await this.handBack(envelope, registration.busyDelayMs());
      return false;
    }
    const turn = this.parkGate.acquire(registration);
    const first = await Promise.race([taken, turn.ready.then(() => 'turn' as const)]);
    if (first !== 'turn') {
      if (!turn.cancel()) void turn.ready.then(() => this.parkGate.release());
      if (first === 'stop') await this.handBack(envelope, 0);
      return first === 'run';
    }
    try {
      if (!registration.holds(entry)) {
        // Taken or dropped in the same instant as the turn came: `taken` says which.
        const how = await taken;
        if (how === 'stop') await this.handBack(envelope, 0);
        return how === 'run';
      }
      entry.hold = undefined; // parked from here on: the lane starts it itself
      if (!(await this.deps.store.park(refOfTicket(envelope), this.deps.nodeId, Date.now()))) {
        registration.unparkJob(envelope.jobId); // stale or finished: nothing to wait for
      }
      return false;
    } catch (error) {
      registration.unparkJob(envelope.jobId);
      throw error;
    } finally {
      this.parkGate.release();
    }
  }

  /** No handler on this node: hand back if a live node has one; after the grace period, fail the attempt. */
  private async withoutHandler(envelope: JobEnvelope): Promise<void> {
    const { store, registry, processorGraceMs, runner, nodeId } = this.deps;
    const key = handlerKeyOf(envelope);
    if (await registry.aliveAnywhere(key)) return this.handBack(envelope, this.deps.handBackDelayMs);
    const ref = refOfTicket(envelope);
    const now = Date.now();
    const since = await store.markNoProcessor(ref, now);
    if (since === undefined) return; // stale or finished
    const missingFor = now - since;
    if (missingFor < processorGraceMs) {
      return this.handBack(envelope, Math.min(processorGraceMs - missingFor, Math.max(100, processorGraceMs / 4)));
    }
    if (!runner.reserve(ref)) return;
    try {
      const result = await store.claim(ref, { nodeId, now: Date.now(), handler: key });
      if (result.type !== 'claimed') return;
      const error = noProcessorError(envelope, processorGraceMs);
      result.record.noProcessorSince = since;
      await runner.fail(result.record, error, { cancelled: false, durationMs: 0 });
    } finally {
      runner.unreserve(ref);
    }
  }

  /** Republishes the same generation with a delay (a new physical id); the caller then acks. */
  private async handBack(envelope: JobEnvelope, delayMs: number): Promise<void> {
    const physicalId = `${ticketId({ id: envelope.jobId, nonce: envelope.nonce ?? '', gen: envelope.gen })}|${randomHex12()}`;
    await this.deps.publishTicket(envelope, Math.max(0, Math.round(delayMs)), physicalId);
  }

  private readonly reportError = (error: unknown) => this.deps.reportError(error, { source: 'managedQueue.dispatch' });
}

/**
 * The abort state of a ticket's delivery. The event queue's handler attempt is one itself, followed
 * without making its `AbortSignal` (~5–8 µs per ticket with the listener); any other context by its signal.
 */
function physicalAbort(context: EventQueueProcessContext): AbortSource {
  return context instanceof LazyAbort ? context : signalSource(context.signal);
}

/** The generation a ticket names. */
export function refOfTicket(envelope: JobEnvelope): JobRef {
  return { id: envelope.jobId, nonce: envelope.nonce ?? '', gen: envelope.gen };
}
