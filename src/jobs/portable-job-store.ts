/**
 * The portable job store: works over any `CacheStore` (get/set/incr/scan) plus the lock manager,
 * for stores that have no native job store. Each transition on a job runs under a short per-job
 * lock (`managed-queue:job:<id>`) as read → decide (job-transitions.ts) → write, so transitions of
 * one job never interleave; global concurrency and rate budgets are `INCR` counters taken back when
 * refused. Not indexed: reads walk the records with SCAN + MGET, and retention uses key TTLs.
 * A native store (memory, `clusterkit/redis`) does each transition in one step and is faster.
 */
import type { CacheStore } from '../cache/types.js';
import { ClusterError, ErrorCodes } from '../errors.js';
import type { LockManager } from '../lock/lock-manager.js';
import { isTerminal, parseRecord, visibleState, type JobRecord } from './envelope.js';
import type {
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  CreateResult,
  DiscardOutcome,
  JobFilter,
  JobRef,
  JobStore,
  PromoteOutcome,
  QueueCountsRow,
  Retention,
  RetryOutcome,
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
  rateWindow,
  matchesFilter as matches,
  sameIncarnation,
  sumCounts,
} from './job-transitions.js';
import { assertScheduleOwner } from './memory-job-store.js';
import { escapeKeyPart, handlerKeyOf, logicalQueueKey } from './scoped-key.js';
import type { JobCounts, ManagedJobState, ScheduleInfo } from './types.js';

const LOCK_TTL_MS = 10_000;
const MGET_BATCH = 200;
/** Counters and pending markers outlive any job they count. */
const COUNTER_TTL_MS = 7 * 24 * 3_600_000;

/** The portable job store of one app. */
export class PortableJobStore implements JobStore {
  readonly kind = 'portable';
  readonly capabilities = { transactions: false, indexed: false } as const;
  private readonly prefix: string;

  constructor(
    private readonly storeOf: () => CacheStore,
    private readonly locks: LockManager,
    appName: string,
  ) {
    this.prefix = `${escapeKeyPart(appName)}:managed-queue:`;
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {}

  private get kv(): CacheStore {
    return this.storeOf();
  }

  private key(kind: string, ...parts: string[]): string {
    return `${this.prefix}${kind}:${parts.map(escapeKeyPart).join(':')}`;
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.runExclusive(`managed-queue:job:${id}`, fn, LOCK_TTL_MS);
  }

  private async read(id: string): Promise<JobRecord | undefined> {
    return parseRecord(await this.kv.get(this.key('job', id)));
  }

  private async put(record: JobRecord, ttlMs?: number): Promise<void> {
    await this.kv.set(this.key('job', record.id), JSON.stringify(record), ttlMs === undefined ? {} : { ttlMs });
  }

  /** Keeps the handler's active counter in step with a state change. */
  private async moveActive(before: ManagedJobState | undefined, after: JobRecord | undefined, handler: string) {
    const delta = (after?.state === 'active' ? 1 : 0) - (before === 'active' ? 1 : 0);
    if (delta !== 0) await this.kv.incr(this.key('active', handler), delta, COUNTER_TTL_MS);
  }

  async create(record: JobRecord, options: { transaction?: unknown } = {}): Promise<CreateResult> {
    if (options.transaction !== undefined) {
      throw new ClusterError(ErrorCodes.NOT_SUPPORTED, 'the portable job store cannot write inside a transaction');
    }
    if (await this.kv.set(this.key('job', record.id), JSON.stringify(record), { nx: true })) {
      const backlog = await this.kv.incr(this.key('queued', handlerKeyOf(record)), 1, COUNTER_TTL_MS);
      return { created: true, backlog };
    }
    const existing = await this.read(record.id);
    if (existing) return { created: false, existing };
    return this.create(record, options); // removed in between: try again
  }

  async ticketSent(ref: JobRef, parkedBy?: string): Promise<void> {
    await this.locked(ref.id, async () => {
      const record = await this.read(ref.id);
      if (!sameIncarnation(record, ref) || record.gen !== ref.gen || record.ticketPendingSince === undefined) return;
      if (record.parkedBy !== parkedBy) return; // parked since the publish: that node holds the ticket
      delete record.ticketPendingSince;
      delete record.parkedBy;
      await this.put(record);
    });
  }

  async park(ref: JobRef, nodeId: string, now: number): Promise<boolean> {
    return this.locked(ref.id, async () => {
      const record = await this.read(ref.id);
      if (!applyPark(record, ref, nodeId, now)) return false;
      await this.put(record);
      return true;
    });
  }

  async claim(ref: JobRef, request: ClaimRequest): Promise<ClaimResult> {
    const paused = new Set(await this.pausedQueues());
    let active = 0;
    if (request.globalConcurrency !== undefined && request.takeOverFrom === undefined) {
      active = await this.kv.incr(this.key('active', request.handler), 1, COUNTER_TTL_MS);
    }
    let counted = false;
    try {
      return await this.locked(ref.id, async () => {
        const record = await this.read(ref.id);
        let rateKey: string | undefined;
        const result = decideClaim(record, ref, request, {
          isPaused: (r) => paused.has(logicalQueueKey(r.pluginName, r.queueName)),
          // The counter already includes this claim's increment.
          activeCount: () => active - 1,
          takeRate: () => 0,
        });
        if (result.type !== 'claimed') return result;
        if (request.rateLimit) {
          const { window, endsInMs } = rateWindow(request.rateLimit, request.now);
          rateKey = this.key('rate', request.handler, String(window));
          const used = await this.kv.incr(rateKey, 1, request.rateLimit.durationMs * 2);
          if (used > request.rateLimit.max) {
            await this.kv.incr(rateKey, -1);
            return { type: 'rate', waitMs: endsInMs };
          }
        }
        await this.put(result.record);
        counted = true;
        if (request.globalConcurrency === undefined && !result.tookOverFrom) {
          await this.kv.incr(this.key('active', request.handler), 1, COUNTER_TTL_MS);
        }
        await this.kv.incr(this.key('queued', request.handler), result.tookOverFrom ? 0 : -1, COUNTER_TTL_MS);
        return result;
      });
    } finally {
      if (!counted && request.globalConcurrency !== undefined && request.takeOverFrom === undefined) {
        await this.kv.incr(this.key('active', request.handler), -1);
      }
    }
  }

  async release(ref: JobRef, owner: string): Promise<boolean> {
    return this.locked(ref.id, async () => {
      const record = await this.read(ref.id);
      if (!owns(record, ref, owner)) return false;
      applyRelease(record, Date.now());
      await this.put(record);
      await this.moveActive('active', record, handlerKeyOf(record));
      await this.kv.incr(this.key('queued', handlerKeyOf(record)), 1, COUNTER_TTL_MS);
      return true;
    });
  }

  async finish(ref: JobRef, owner: string, next: JobRecord, retention: Retention): Promise<boolean> {
    return this.locked(ref.id, async () => {
      const record = await this.read(ref.id);
      if (!owns(record, ref, owner)) return false;
      // Retention counts from the finish; the key's TTL ends it.
      const ttlMs = isTerminal(next.state) ? (next.finishedAt ?? Date.now()) + retention.retentionMs - Date.now() : 1;
      if (isTerminal(next.state) && (retention.remove || ttlMs <= 0)) {
        await this.kv.del(this.key('job', ref.id));
        await this.kv.del(this.key('logs', ref.id));
      } else {
        const stored = isTerminal(next.state) ? { ...next, expiresAt: Date.now() + ttlMs } : next;
        await this.put(stored, isTerminal(next.state) ? ttlMs : undefined);
      }
      await this.moveActive('active', next, handlerKeyOf(record));
      if (!isTerminal(next.state)) await this.kv.incr(this.key('queued', handlerKeyOf(record)), 1, COUNTER_TTL_MS);
      else if (ttlMs > 0) await this.kv.expire(this.key('logs', ref.id), ttlMs);
      return true;
    });
  }

  async setProgress(ref: JobRef, owner: string, progress: number | object): Promise<boolean> {
    return this.locked(ref.id, async () => {
      const record = await this.read(ref.id);
      if (!owns(record, ref, owner)) return false;
      record.progress = progress;
      await this.put(record);
      return true;
    });
  }

  async appendLog(ref: JobRef, owner: string, line: string, maxLines: number): Promise<boolean> {
    return this.locked(ref.id, async () => {
      if (!owns(await this.read(ref.id), ref, owner)) return false;
      const lines = await this.getLogs(ref.id);
      lines.push(line);
      await this.kv.set(this.key('logs', ref.id), JSON.stringify(lines.slice(-maxLines)));
      return true;
    });
  }

  async markNoProcessor(ref: JobRef, now: number): Promise<number | undefined> {
    return this.locked(ref.id, async () => {
      const record = await this.read(ref.id);
      if (!sameIncarnation(record, ref) || record.gen !== ref.gen || isTerminal(record.state)) return undefined;
      if (record.noProcessorSince === undefined) {
        record.noProcessorSince = now;
        await this.put(record);
      }
      return record.noProcessorSince;
    });
  }

  async cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): Promise<CancelOutcome> {
    return this.locked(id, async () => {
      const record = await this.read(id);
      const before = record?.state;
      const outcome = decideCancel(record, options);
      if (outcome.type === 'abort-requested') await this.put(outcome.record);
      if (outcome.type === 'cancelled' && before !== 'cancelled') {
        const retention = failRetention(outcome.record, options.failedRetentionMs);
        if (retention.remove) await this.kv.del(this.key('job', id));
        else {
          outcome.record.expiresAt = options.now + retention.retentionMs;
          await this.put(outcome.record, Math.max(1, outcome.record.expiresAt - Date.now()));
        }
        await this.kv.incr(this.key('queued', handlerKeyOf(outcome.record)), -1, COUNTER_TTL_MS);
      }
      return outcome;
    });
  }

  async retry(id: string, options: { now: number; tenantId?: string }): Promise<RetryOutcome> {
    return this.locked(id, async () => {
      const outcome = decideRetry(await this.read(id), options);
      if (outcome.type === 'retried') {
        await this.put(outcome.record);
        await this.kv.incr(this.key('queued', handlerKeyOf(outcome.record)), 1, COUNTER_TTL_MS);
      }
      return outcome;
    });
  }

  async remove(id: string): Promise<boolean> {
    await this.kv.del(this.key('logs', id));
    return this.kv.del(this.key('job', id));
  }

  async discard(id: string, options: { tenantId?: string }): Promise<DiscardOutcome> {
    // Under the job's lock, like claim: a claim cannot start it between the check and the delete.
    return this.locked(id, async () => {
      const outcome = decideDiscard(await this.read(id), options);
      if (outcome.type !== 'removed') return outcome;
      await this.remove(id);
      if (!isTerminal(outcome.record.state)) {
        await this.kv.incr(this.key('queued', handlerKeyOf(outcome.record)), -1, COUNTER_TTL_MS);
      }
      return outcome;
    });
  }

  async promote(id: string, options: { now: number; tenantId?: string }): Promise<PromoteOutcome> {
    return this.locked(id, async () => {
      const outcome = decidePromote(await this.read(id), options);
      if (outcome.type === 'promoted') await this.put(outcome.record);
      return outcome;
    });
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.read(id);
  }

  async getLogs(id: string): Promise<string[]> {
    const text = await this.kv.get(this.key('logs', id));
    return text === undefined ? [] : (JSON.parse(text) as string[]);
  }

  /** Every record, in batches (SCAN + MGET; never KEYS). Corrupt records are skipped. */
  private async *all(): AsyncIterable<JobRecord> {
    let batch: string[] = [];
    const flush = async (keys: string[]) => {
      const out: JobRecord[] = [];
      for (const text of await this.kv.mget(keys)) {
        try {
          const record = parseRecord(text);
          if (record) out.push(record);
        } catch {
          // a corrupt record is skipped by reads
        }
      }
      return out;
    };
    for await (const key of this.kv.scan(`${this.prefix}job:`)) {
      batch.push(key);
      if (batch.length >= MGET_BATCH) {
        yield* await flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) yield* await flush(batch);
  }

  async list(
    filter: JobFilter & { state?: ManagedJobState; offset: number; limit: number },
    now: number,
  ): Promise<{ records: JobRecord[]; total: number }> {
    const found: JobRecord[] = [];
    for await (const record of this.all()) {
      if (matches(record, filter) && (filter.state === undefined || visibleState(record, now) === filter.state)) {
        found.push(record);
      }
    }
    found.sort((a, b) => b.enqueuedAt - a.enqueuedAt || (a.id < b.id ? -1 : 1));
    return { records: found.slice(filter.offset, filter.offset + filter.limit), total: found.length };
  }

  async counts(filter: JobFilter, now: number): Promise<JobCounts> {
    return sumCounts(await this.queueStats(filter, now));
  }

  async queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]> {
    const rows = new Map<string, QueueCountsRow>();
    for await (const record of this.all()) {
      if (!matches(record, filter)) continue;
      const key = JSON.stringify([record.pluginName, record.queueName, record.tenantId ?? null]);
      let row = rows.get(key);
      if (!row) {
        row = {
          pluginName: record.pluginName,
          queueName: record.queueName,
          waiting: 0,
          active: 0,
          completed: 0,
          failed: 0,
          delayed: 0,
        };
        if (record.tenantId !== undefined) row.tenantId = record.tenantId;
        rows.set(key, row);
      }
      const state = visibleState(record, now);
      if (state !== 'cancelled') row[state] += 1;
    }
    return [...rows.values()];
  }

  async clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number> {
    const doomed: string[] = [];
    for await (const record of this.all()) {
      if (doomed.length >= options.limit) break;
      if (
        record.state === options.state &&
        matches(record, options) &&
        (record.finishedAt ?? 0) <= options.finishedBefore
      ) {
        doomed.push(record.id);
      }
    }
    let removed = 0;
    for (const id of doomed) if (await this.remove(id)) removed += 1;
    return removed;
  }

  async pendingTickets(before: number, limit: number): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const record of this.all()) {
      if (record.ticketPendingSince !== undefined && record.ticketPendingSince <= before) out.push(record);
    }
    return out.sort((a, b) => (a.ticketPendingSince ?? 0) - (b.ticketPendingSince ?? 0)).slice(0, limit);
  }

  async sweep(): Promise<number> {
    return 0; // finished records carry their retention as a key TTL
  }

  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    const key = `${this.prefix}paused:${logicalQueueKey(pluginName, queueName)}`;
    if (paused) await this.kv.set(key, String(Date.now()));
    else await this.kv.del(key);
  }

  async pausedQueues(): Promise<string[]> {
    const out: string[] = [];
    for await (const key of this.kv.scan(`${this.prefix}paused:`)) out.push(key.slice(`${this.prefix}paused:`.length));
    return out;
  }

  async saveSchedule(info: ScheduleInfo): Promise<void> {
    await this.locked(`schedule:${info.scheduleId}`, async () => {
      const key = this.key('schedule', info.scheduleId);
      const text = await this.kv.get(key);
      const existing = text === undefined ? undefined : (JSON.parse(text) as ScheduleInfo);
      assertScheduleOwner(existing, info);
      const stored: ScheduleInfo = { ...info };
      if (existing?.lastTick !== undefined) stored.lastTick = existing.lastTick;
      await this.kv.set(key, JSON.stringify(stored));
    });
  }

  async listSchedules(): Promise<ScheduleInfo[]> {
    const keys: string[] = [];
    for await (const key of this.kv.scan(`${this.prefix}schedule:`)) keys.push(key);
    const values = keys.length === 0 ? [] : await this.kv.mget(keys);
    return values.filter((v): v is string => v !== undefined).map((v) => JSON.parse(v) as ScheduleInfo);
  }

  async removeSchedule(scheduleId: string, tenantId?: string): Promise<boolean> {
    const key = this.key('schedule', scheduleId);
    if (tenantId !== undefined) {
      const text = await this.kv.get(key);
      if (text === undefined || (JSON.parse(text) as ScheduleInfo).tenantId !== tenantId) return false;
    }
    return this.kv.del(key);
  }

  async markTick(scheduleId: string, tick: number): Promise<boolean> {
    return this.locked(`schedule:${scheduleId}`, async () => {
      const key = this.key('schedule', scheduleId);
      const text = await this.kv.get(key);
      if (text === undefined) return false;
      const info = JSON.parse(text) as ScheduleInfo;
      if ((info.lastTick ?? -Infinity) >= tick) return false;
      info.lastTick = tick;
      await this.kv.set(key, JSON.stringify(info));
      return true;
    });
  }
}

function owns(record: JobRecord | undefined, ref: JobRef, owner: string): record is JobRecord {
  return sameIncarnation(record, ref) && record.gen === ref.gen && record.state === 'active' && record.owner === owner;
}

/** A factory of portable stores over an app's cache store and lock manager. */
export function portableJobStoreOver(storeOf: () => CacheStore, locks: LockManager) {
  return ({ appName }: { appName: string }): JobStore => new PortableJobStore(storeOf, locks, appName);
}
