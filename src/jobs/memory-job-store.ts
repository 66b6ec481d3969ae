/**
 * The memory job store: every transition is one synchronous step over in-process maps (nothing can
 * interleave with it), shared by the apps of one `MemoryBackend` (nodes of one in-process cluster).
 * Indexed: records in enqueue order, counts per plugin/queue/tenant and state, per-handler active
 * counts, the pending-ticket set and retention deadlines, so reads never parse every record.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { jsonCopy } from '../json-copy.js';
import type { MemoryBackend } from '../memory-backend.js';
import { isTerminal, visibleState, type JobRecord } from './envelope.js';
import type {
  ClaimRequest,
  ClaimResult,
  CreateResult,
  JobFilter,
  JobRef,
  JobStore,
  JobStoreFactory,
  QueueCountsRow,
  Retention,
} from './job-store.js';
import {
  applyPark,
  applyRelease,
  decideCancel,
  decideClaim,
  decideDiscard,
  decidePromote,
  decideRetry,
  failRetention,
  matchesFilter as matches,
  rateWindow,
  sameIncarnation,
  sumCounts,
} from './job-transitions.js';
import { handlerKeyOf, logicalQueueKey } from './scoped-key.js';
import type { JobCounts, ManagedJobState, ScheduleInfo } from './types.js';

/** One app's job state in a backend. */
class MemoryJobState {
  readonly records = new Map<string, JobRecord>();
  readonly logs = new Map<string, string[]>();
  /** Ids in creation order (removed ids are skipped and compacted away). */
  order: string[] = [];
  readonly pending = new Set<string>();
  readonly expiring = new Map<string, number>();
  readonly active = new Map<string, number>();
  readonly queued = new Map<string, number>();
  readonly rates = new Map<string, { window: number; count: number }>();
  readonly paused = new Set<string>();
  readonly schedules = new Map<string, ScheduleInfo>();
  /** Per plugin/queue/tenant: stored-state counts, and the ids of its delayed jobs (due ones read as waiting). */
  readonly combos = new Map<string, ComboIndex>();
}

interface ComboIndex {
  readonly pluginName: string;
  readonly queueName: string;
  readonly tenantId?: string;
  readonly counts: Record<ManagedJobState, number>;
  readonly delayed: Set<string>;
}

const comboKey = (r: JobRecord) => `${r.pluginName}\u0000${r.queueName}\u0000${r.tenantId ?? '\u0001'}`;

/** A deep copy with the JSON round trip's result (records in and out never share objects with callers). */
const clone = jsonCopy;
const bump = (map: Map<string, number>, key: string, by: number) => map.set(key, Math.max(0, (map.get(key) ?? 0) + by));
const queuedState = (state: ManagedJobState) => state === 'waiting' || state === 'delayed';

/** The memory job store of one app. */
export class MemoryJobStore implements JobStore {
  readonly kind = 'memory';
  readonly capabilities = { transactions: false, indexed: true } as const;

  constructor(private readonly s: MemoryJobState) {}

  async connect(): Promise<void> {}
  async close(): Promise<void> {}

  async create(record: JobRecord, options: { transaction?: unknown } = {}): Promise<CreateResult> {
    if (options.transaction !== undefined) throw noTransactions();
    const existing = this.live(record.id, Date.now());
    if (existing) return { created: false, existing: clone(existing) };
    this.write(undefined, clone(record));
    this.s.order.push(record.id);
    return { created: true, backlog: this.s.queued.get(handlerKeyOf(record)) ?? 0 };
  }

  async ticketSent(ref: JobRef, parkedBy?: string): Promise<void> {
    const record = this.s.records.get(ref.id);
    if (!sameIncarnation(record, ref) || record.gen !== ref.gen || record.ticketPendingSince === undefined) return;
    if (record.parkedBy !== parkedBy) return; // parked since the publish: that node holds the ticket
    // Only the pending mark changes: in place, no other index moves.
    delete record.ticketPendingSince;
    delete record.parkedBy;
    this.s.pending.delete(record.id);
  }

  async park(ref: JobRef, nodeId: string, now: number): Promise<boolean> {
    const record = this.s.records.get(ref.id);
    // Only the pending mark changes: in place, no other index moves.
    if (!applyPark(record, ref, nodeId, now)) return false;
    this.s.pending.add(record.id);
    return true;
  }

  async claim(ref: JobRef, request: ClaimRequest): Promise<ClaimResult> {
    const current = this.live(ref.id, request.now);
    const next = clone(current);
    const result = decideClaim(next, ref, request, {
      isPaused: (r) => this.s.paused.has(logicalQueueKey(r.pluginName, r.queueName)),
      activeCount: (handler) => this.s.active.get(handler) ?? 0,
      takeRate: (handler, limit, now) => {
        const { window, endsInMs } = rateWindow(limit, now);
        const slot = this.s.rates.get(handler);
        const count = slot?.window === window ? slot.count : 0;
        if (count >= limit.max) return endsInMs;
        this.s.rates.set(handler, { window, count: count + 1 });
        return 0;
      },
    });
    if (result.type === 'claimed') this.write(current, result.record);
    return result.type === 'claimed' || result.type === 'stale' ? { ...result, record: clone(result.record) } : result;
  }

  async release(ref: JobRef, owner: string): Promise<boolean> {
    const record = this.owned(ref, owner);
    if (!record) return false;
    const next = clone(record);
    applyRelease(next, Date.now());
    this.write(record, next);
    return true;
  }

  async finish(ref: JobRef, owner: string, next: JobRecord, retention: Retention): Promise<boolean> {
    const record = this.owned(ref, owner);
    if (!record) return false;
    if (isTerminal(next.state) && retention.remove) {
      this.delete(record.id);
      return true;
    }
    const stored = clone(next);
    if (isTerminal(stored.state)) stored.expiresAt = (stored.finishedAt ?? Date.now()) + retention.retentionMs;
    this.write(record, stored);
    return true;
  }

  async setProgress(ref: JobRef, owner: string, progress: number | object): Promise<boolean> {
    const record = this.owned(ref, owner);
    if (!record) return false;
    record.progress = clone(progress);
    return true;
  }

  async appendLog(ref: JobRef, owner: string, line: string, maxLines: number): Promise<boolean> {
    if (!this.owned(ref, owner)) return false;
    const lines = this.s.logs.get(ref.id) ?? [];
    lines.push(line);
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
    this.s.logs.set(ref.id, lines);
    return true;
  }

  async markNoProcessor(ref: JobRef, now: number): Promise<number | undefined> {
    const record = this.s.records.get(ref.id);
    if (!sameIncarnation(record, ref) || record.gen !== ref.gen || isTerminal(record.state)) return undefined;
    record.noProcessorSince ??= now;
    return record.noProcessorSince;
  }

  async cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['cancel']>>> {
    const record = this.live(id, options.now);
    const next = clone(record);
    const outcome = decideCancel(next, options);
    if (outcome.type === 'abort-requested' || (outcome.type === 'cancelled' && record?.state !== 'cancelled')) {
      const retention = failRetention(next!, options.failedRetentionMs);
      if (outcome.type === 'cancelled' && retention.remove) this.delete(id);
      else {
        if (outcome.type === 'cancelled') next!.expiresAt = options.now + retention.retentionMs;
        this.write(record, next!);
      }
    }
    return 'record' in outcome ? { ...outcome, record: clone(outcome.record) } : outcome;
  }

  async retry(
    id: string,
    options: { now: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['retry']>>> {
    const record = this.live(id, options.now);
    const next = clone(record);
    const outcome = decideRetry(next, options);
    if (outcome.type === 'retried') this.write(record, next!);
    return outcome.type === 'retried' ? { ...outcome, record: clone(outcome.record) } : outcome;
  }

  async remove(id: string): Promise<boolean> {
    return this.delete(id);
  }

  async discard(id: string, options: { tenantId?: string }): Promise<Awaited<ReturnType<JobStore['discard']>>> {
    const outcome = decideDiscard(this.live(id, Date.now()), options);
    if (outcome.type !== 'removed') return outcome;
    this.delete(id);
    return { type: 'removed', record: clone(outcome.record) };
  }

  async promote(
    id: string,
    options: { now: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['promote']>>> {
    const record = this.live(id, options.now);
    const next = clone(record);
    const outcome = decidePromote(next, options);
    if (outcome.type !== 'promoted') return outcome;
    this.write(record, next!);
    return { type: 'promoted', record: clone(next!) };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return clone(this.live(id, Date.now()));
  }

  async getLogs(id: string): Promise<string[]> {
    return [...(this.s.logs.get(id) ?? [])];
  }

  async list(
    filter: JobFilter & { state?: ManagedJobState; offset: number; limit: number },
    now: number,
  ): Promise<{ records: JobRecord[]; total: number }> {
    const total = this.total(filter, now);
    const matching: JobRecord[] = [];
    let seen = 0;
    // Newest first by creation order, stopping once the page is full: the walk is as long as the page
    // needs, not the number of records. A retried job keeps its place (its enqueue time does not change).
    for (let i = this.s.order.length - 1; i >= 0 && matching.length < filter.limit; i -= 1) {
      const record = this.live(this.s.order[i] as string, now);
      if (!record || !matches(record, filter)) continue;
      if (filter.state !== undefined && visibleState(record, now) !== filter.state) continue;
      if (seen >= filter.offset) matching.push(clone(record));
      seen += 1;
    }
    this.compact();
    return { records: matching, total };
  }

  private total(filter: JobFilter & { state?: ManagedJobState }, now: number): number {
    let total = 0;
    for (const row of this.rows(filter, now)) {
      if (filter.state === undefined) total += Object.values(row.all).reduce((a, b) => a + b, 0);
      else if (filter.state === 'cancelled') total += row.all.cancelled;
      else total += row[filter.state];
    }
    return total;
  }

  async counts(filter: JobFilter, now: number): Promise<JobCounts> {
    return sumCounts(this.rows(filter, now));
  }

  async queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]> {
    return this.rows(filter, now)
      .filter((row) => Object.values(row.all).some((n) => n > 0))
      .map(({ all: _all, ...row }) => row);
  }

  /** Counts per plugin/queue/tenant from the indexes (a due delayed job counts as waiting). */
  private rows(filter: JobFilter, now: number): (QueueCountsRow & { all: Record<ManagedJobState, number> })[] {
    const out = [];
    for (const combo of this.s.combos.values()) {
      if (!matches(combo, filter)) continue;
      let due = 0;
      for (const id of combo.delayed) if ((this.s.records.get(id)?.runAt ?? Infinity) <= now) due += 1;
      const c = combo.counts;
      out.push({
        pluginName: combo.pluginName,
        queueName: combo.queueName,
        ...(combo.tenantId === undefined ? {} : { tenantId: combo.tenantId }),
        waiting: c.waiting + due,
        active: c.active,
        completed: c.completed,
        failed: c.failed,
        delayed: c.delayed - due,
        all: c,
      });
    }
    return out;
  }

  async clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number> {
    let removed = 0;
    for (const record of [...this.s.records.values()]) {
      if (removed >= options.limit) break;
      if (record.state !== options.state || !matches(record, options)) continue;
      if ((record.finishedAt ?? 0) > options.finishedBefore) continue;
      if (this.delete(record.id)) removed += 1;
    }
    return removed;
  }

  async pendingTickets(before: number, limit: number): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (const id of this.s.pending) {
      const record = this.s.records.get(id);
      if (record?.ticketPendingSince !== undefined && record.ticketPendingSince <= before) out.push(clone(record));
    }
    return out.sort((a, b) => (a.ticketPendingSince ?? 0) - (b.ticketPendingSince ?? 0)).slice(0, limit);
  }

  async sweep(now: number, limit: number): Promise<number> {
    let removed = 0;
    for (const [id, expiresAt] of this.s.expiring) {
      if (removed >= limit) break;
      if (expiresAt <= now && this.delete(id)) removed += 1;
    }
    return removed;
  }

  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    const key = logicalQueueKey(pluginName, queueName);
    if (paused) this.s.paused.add(key);
    else this.s.paused.delete(key);
  }

  async pausedQueues(): Promise<string[]> {
    return [...this.s.paused];
  }

  async saveSchedule(info: ScheduleInfo): Promise<void> {
    const existing = this.s.schedules.get(info.scheduleId);
    assertScheduleOwner(existing, info);
    const stored = clone(info);
    if (existing?.lastTick !== undefined) stored.lastTick = existing.lastTick;
    this.s.schedules.set(info.scheduleId, stored);
  }

  async listSchedules(): Promise<ScheduleInfo[]> {
    return [...this.s.schedules.values()].map(clone);
  }

  async removeSchedule(scheduleId: string, tenantId?: string): Promise<boolean> {
    const existing = this.s.schedules.get(scheduleId);
    if (!existing || (tenantId !== undefined && existing.tenantId !== tenantId)) return false;
    return this.s.schedules.delete(scheduleId);
  }

  async markTick(scheduleId: string, tick: number): Promise<boolean> {
    const existing = this.s.schedules.get(scheduleId);
    if (!existing || (existing.lastTick ?? -Infinity) >= tick) return false;
    existing.lastTick = tick;
    return true;
  }

  /** The record, unless its retention has ended (then it is removed now). */
  private live(id: string, now: number): JobRecord | undefined {
    const record = this.s.records.get(id);
    if (record?.expiresAt !== undefined && record.expiresAt <= now) {
      this.delete(id);
      return undefined;
    }
    return record;
  }

  private owned(ref: JobRef, owner: string): JobRecord | undefined {
    const record = this.s.records.get(ref.id);
    if (!sameIncarnation(record, ref) || record.gen !== ref.gen) return undefined;
    return record.state === 'active' && record.owner === owner ? record : undefined;
  }

  /** Replaces `before` (or nothing) by `after`, keeping every index in step. */
  private write(before: JobRecord | undefined, after: JobRecord): void {
    this.unindex(before);
    this.s.records.set(after.id, after);
    const handler = handlerKeyOf(after);
    if (after.state === 'active') bump(this.s.active, handler, 1);
    if (queuedState(after.state)) bump(this.s.queued, handler, 1);
    if (after.ticketPendingSince !== undefined) this.s.pending.add(after.id);
    if (after.expiresAt !== undefined) this.s.expiring.set(after.id, after.expiresAt);
    const combo = this.combo(after);
    combo.counts[after.state] += 1;
    if (after.state === 'delayed') combo.delayed.add(after.id);
  }

  private combo(record: JobRecord): ComboIndex {
    const key = comboKey(record);
    let combo = this.s.combos.get(key);
    if (!combo) {
      combo = {
        pluginName: record.pluginName,
        queueName: record.queueName,
        ...(record.tenantId === undefined ? {} : { tenantId: record.tenantId }),
        counts: { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0 },
        delayed: new Set(),
      };
      this.s.combos.set(key, combo);
    }
    return combo;
  }

  private unindex(record: JobRecord | undefined): void {
    if (!record) return;
    const handler = handlerKeyOf(record);
    if (record.state === 'active') bump(this.s.active, handler, -1);
    if (queuedState(record.state)) bump(this.s.queued, handler, -1);
    this.s.pending.delete(record.id);
    this.s.expiring.delete(record.id);
    const combo = this.combo(record);
    combo.counts[record.state] -= 1;
    combo.delayed.delete(record.id);
  }

  private delete(id: string): boolean {
    const record = this.s.records.get(id);
    if (!record) return false;
    this.unindex(record);
    this.s.records.delete(id);
    this.s.logs.delete(id);
    return true;
  }

  /** Drops removed ids from the creation order once they are the majority. */
  private compact(): void {
    if (this.s.order.length > 1_000 && this.s.order.length > this.s.records.size * 2) {
      const seen = new Set<string>();
      this.s.order = this.s.order.filter((id) => this.s.records.has(id) && !seen.has(id) && seen.add(id));
    }
  }
}

function noTransactions(): ClusterError {
  return new ClusterError(
    ErrorCodes.NOT_SUPPORTED,
    'this job store cannot write inside a transaction; pass an object with afterCommit(callback) instead',
  );
}

/** Refuses to replace a schedule that belongs to another plugin or tenant (shared by every store). */
export function assertScheduleOwner(existing: ScheduleInfo | undefined, info: ScheduleInfo): void {
  if (existing && (existing.pluginName !== info.pluginName || existing.tenantId !== info.tenantId)) {
    throw new ClusterError(
      ErrorCodes.TENANT_MISMATCH,
      `schedule "${info.scheduleId}" belongs to another plugin or tenant; it was not replaced`,
      { details: { scheduleId: info.scheduleId } },
    );
  }
}

/** The memory job store factory of one backend (apps on one backend share their app's state). */
export function createMemoryJobStore(backend: MemoryBackend): JobStoreFactory {
  const apps = backend.part('jobs', () => new Map<string, MemoryJobState>());
  return ({ appName }) => {
    let state = apps.get(appName);
    if (!state) {
      state = new MemoryJobState();
      apps.set(appName, state);
    }
    return new MemoryJobStore(state);
  };
}
