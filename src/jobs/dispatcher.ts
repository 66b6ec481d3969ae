/**
 * Routes each ticket that arrives on the physical queue. Whatever happens, the physical message is
 * settled quickly: a ticket is either run here, handed back (republished with a delay, same
 * generation, attempt unspent) or dropped as stale. Nothing waits on the physical queue's slots
 * except a bounded prefetch per handler, which is what keeps one plugin's backlog from delaying
 * another plugin's jobs.
 *
 * Order of checks: logical queue paused → handler missing here (someone else has it: hand back;
 * nobody has had it for the grace period: fail the attempt with NO_PROCESSOR) → local lane full →
 * rate limit → global concurrency → claim the generation → run.
 */
import { randomBytes } from 'node:crypto';
import type { EventQueueProcessContext } from '../event-queue/event-queue-options.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import type { LockManager } from '../lock/lock-manager.js';
import { decodeJobEnvelope, envelopeOf, isTerminal, type JobEnvelope, type JobRecord } from './envelope.js';
import type { JobRunner } from './job-runner.js';
import type { JobStore } from './job-store.js';
import { handlerKey, type ProcessorRegistry, type Registration } from './processor-registry.js';
import { takeGlobalSlot, takeRateSlot, type GlobalSlot } from './rate-limit.js';

/** What the dispatcher needs from the managed queue. */
export interface DispatcherDeps {
  readonly jobs: JobStore;
  readonly registry: ProcessorRegistry;
  readonly runner: JobRunner;
  readonly locks: LockManager;
  readonly nodeId: string;
  /** How long a handler may be missing on every node before its jobs fail, in ms. */
  readonly processorGraceMs: number;
  /** Delay of a hand-back to a node that has the handler, in ms. */
  readonly handBackDelayMs: number;
  /** How often a paused queue's jobs come back to check, in ms. */
  readonly pausedRecheckMs: number;
  isPaused(pluginName: string, queueName: string): Promise<boolean>;
  publishTicket(envelope: JobEnvelope, delayMs: number, physicalId: string): Promise<void>;
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/** The physical queue's message handler. */
export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /** Handles one physical message; throws only to make the event queue keep the ticket. */
  readonly deliver = async (message: unknown, context: EventQueueProcessContext): Promise<void> => {
    const envelope = decodeJobEnvelope(message);
    const { deps } = this;
    if (await deps.isPaused(envelope.pluginName, envelope.queueName)) {
      return this.handBack(envelope, deps.pausedRecheckMs);
    }
    const key = handlerKey(envelope.pluginName, envelope.queueName, envelope.jobName);
    const registration = deps.registry.get(key);
    if (!registration) return this.withoutHandler(envelope, key);
    const entered = registration.enter();
    if (!entered) return this.handBack(envelope, registration.busyDelayMs());
    await entered;
    let ranFor: number | undefined;
    try {
      if (context.signal.aborted) throw context.signal.reason;
      const startedAt = Date.now();
      if (await this.limited(envelope, registration, context.signal)) ranFor = Date.now() - startedAt;
    } finally {
      registration.leave(ranFor);
    }
  };

  /** Checks the cluster-wide limits, then claims and runs. True when the job ran here. */
  private async limited(envelope: JobEnvelope, registration: Registration, signal: AbortSignal): Promise<boolean> {
    const { rateLimit, globalConcurrency } = registration.options;
    if (rateLimit) {
      const waitMs = await takeRateSlot(this.deps.jobs, registration.key, rateLimit);
      if (waitMs > 0) {
        await this.handBack(envelope, waitMs);
        return false;
      }
    }
    let slot: GlobalSlot | undefined;
    if (globalConcurrency !== undefined) {
      slot = await takeGlobalSlot(this.deps.locks, registration.key, globalConcurrency, (error) =>
        this.deps.reportError(error, { source: 'managedQueue.globalConcurrency' }),
      );
      if (!slot) {
        await this.handBack(envelope, registration.busyDelayMs());
        return false;
      }
    }
    try {
      const record = await this.claim(envelope);
      if (!record) return false;
      await this.deps.runner.run(record, registration, signal);
      return true;
    } finally {
      await slot?.release();
    }
  }

  /**
   * Wins generation `envelope.gen` for this node and returns its record, or returns undefined when
   * the ticket is stale, the job finished or was cancelled, or another live node runs it.
   */
  private async claim(envelope: JobEnvelope): Promise<JobRecord | undefined> {
    const { jobs, nodeId, registry } = this.deps;
    const record = await this.current(envelope);
    if (!record) return undefined;
    const earlyMs = record.runAt - Date.now();
    if (earlyMs > 0 && record.state === 'delayed') {
      // Only on an adapter without delay support (or a clock skew): not before its time.
      await this.handBack(envelope, earlyMs);
      return undefined;
    }
    if (await jobs.claim(record.id, record.gen, `active|${nodeId}`)) return record;
    const holder = await jobs.claimOf(record.id, record.gen);
    if (!holder?.startsWith('active|')) return undefined; // cancelled, or failed for want of a processor
    const owner = holder.slice('active|'.length);
    if (owner === nodeId && this.deps.runner.isRunning(record.id)) return undefined;
    if (owner !== nodeId && (await registry.nodeAlive(owner))) {
      // A redelivery while the owner still runs it: look again once its heartbeat could have lapsed.
      await this.handBack(envelope, registry.ttlMs);
      return undefined;
    }
    // The owner died mid-run (its liveness key lapsed): take over; a crash spends no attempt.
    await jobs.takeOver(record.id, record.gen, `active|${nodeId}`);
    return record;
  }

  /** The record this ticket names, if the ticket is current; repairs a missing successor ticket. */
  private async current(envelope: JobEnvelope): Promise<JobRecord | undefined> {
    const record = await this.deps.jobs.get(envelope.jobId);
    if (!record || isTerminal(record.state)) return undefined;
    if (record.gen === envelope.gen) return record;
    if (record.gen > envelope.gen && record.state !== 'active') {
      // A node may have stored generation n+1 and died before publishing its ticket. Re-publishing
      // `<id>|<gen>` is harmless when the ticket exists: backends with unique ids drop the copy, and
      // on the others (RabbitMQ) the duplicate ticket loses the claim step and is ignored.
      const claimed = await this.deps.jobs.claimOf(record.id, record.gen);
      if (claimed === undefined) {
        await this.deps.publishTicket(
          envelopeOf(record),
          Math.max(0, record.runAt - Date.now()),
          `${record.id}|${record.gen}`,
        );
      }
    }
    return undefined;
  }

  /** No handler on this node: hand back if a live node has one; after the grace period, fail the attempt. */
  private async withoutHandler(envelope: JobEnvelope, key: string): Promise<void> {
    const { jobs, registry, processorGraceMs } = this.deps;
    if (await registry.aliveAnywhere(key)) return this.handBack(envelope, this.deps.handBackDelayMs);
    const now = Date.now();
    const sinceKey = jobs.key('noproc', envelope.gen, envelope.jobId);
    await jobs.store.set(sinceKey, String(now), { nx: true, ttlMs: Math.max(processorGraceMs * 10, 60_000) });
    const since = Number((await jobs.store.get(sinceKey)) ?? now);
    const missingFor = now - since;
    if (missingFor < processorGraceMs) {
      return this.handBack(envelope, Math.min(processorGraceMs - missingFor, Math.max(100, processorGraceMs / 4)));
    }
    const record = await this.current(envelope);
    if (!record || !(await jobs.claim(record.id, record.gen, `noproc|${this.deps.nodeId}`))) return;
    const error = new ClusterError(
      ErrorCodes.NO_PROCESSOR,
      `no processor registered for ${envelope.pluginName}/${envelope.queueName}/${envelope.jobName} on any live node for ${processorGraceMs} ms`,
      { details: { pluginName: envelope.pluginName, queueName: envelope.queueName, jobName: envelope.jobName } },
    );
    record.noProcessorSince = since;
    await this.deps.runner.fail(record, error, { cancelled: false, durationMs: 0 });
  }

  /** Republishes the same generation with a delay (a new physical id); the caller then acks. */
  private async handBack(envelope: JobEnvelope, delayMs: number): Promise<void> {
    const physicalId = `${envelope.jobId}|${envelope.gen}|${randomBytes(6).toString('hex')}`;
    await this.deps.publishTicket(envelope, Math.max(0, Math.round(delayMs)), physicalId);
  }
}
