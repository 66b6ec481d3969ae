/**
 * Read-side operations over job records: list with paging, counts by state, per-queue stats and
 * cleaning old finished jobs. They walk the records with SCAN + MGET (portable across stores, never
 * KEYS), so their cost grows with the number of retained records; retention TTLs keep that bounded.
 *
 * Tenant visibility: inside `runWithTenant` only that tenant's jobs are seen; outside any tenant
 * context (platform and operator code) every job is.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { currentTenant } from '../tenant/tenant-context.js';
import { assertDuration, assertInteger, assertName, assertOptions, describe } from '../validation.js';
import { isTerminal, toJobInfo, visibleState, type JobRecord } from './envelope.js';
import type { JobStore } from './job-store.js';
import type { JobCounts, ListJobsFilter, ManagedJobInfo, ManagedJobState, MetricsFilter, QueueStats } from './types.js';

const STATES: readonly ManagedJobState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'];

/** True when the current tenant context (if any) may see `record`. */
export function visibleToCaller(record: JobRecord): boolean {
  const tenant = currentTenant();
  return tenant === undefined || record.tenantId === tenant.tenantId;
}

/** The tenant a query is limited to: the current one, or the filter's outside any tenant context. */
function tenantFilter(call: string, given: unknown): string | undefined {
  const tenant = currentTenant();
  if (given !== undefined) {
    assertName(`${call}: tenantId`, given);
    if (tenant !== undefined && tenant.tenantId !== given) {
      throw new ClusterError(
        ErrorCodes.TENANT_MISMATCH,
        `${call}: tenantId "${String(given)}" contradicts the current tenant context ("${tenant.tenantId}")`,
      );
    }
    return given as string;
  }
  return tenant?.tenantId;
}

interface Matcher {
  pluginName?: string;
  queueName?: string;
  tenantId?: string;
}

function matcherOf(call: string, filter: MetricsFilter | undefined, extra: readonly string[] = []): Matcher {
  const f = assertOptions(call, filter, ['pluginName', 'queueName', 'tenantId', ...extra]) as MetricsFilter;
  return {
    pluginName: f.pluginName === undefined ? undefined : assertName(`${call}: pluginName`, f.pluginName),
    queueName: f.queueName === undefined ? undefined : assertName(`${call}: queueName`, f.queueName),
    tenantId: tenantFilter(call, f.tenantId),
  };
}

function matches(record: JobRecord, m: Matcher): boolean {
  return (
    (m.pluginName === undefined || record.pluginName === m.pluginName) &&
    (m.queueName === undefined || record.queueName === m.queueName) &&
    (m.tenantId === undefined || record.tenantId === m.tenantId)
  );
}

function emptyCounts(): JobCounts {
  return { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 };
}

function count(counts: JobCounts, state: ManagedJobState): void {
  if (state !== 'cancelled') counts[state] += 1;
}

/** `listJobs`: newest first. */
export async function listJobs(
  jobs: JobStore,
  filter: ListJobsFilter = {},
): Promise<{ jobs: ManagedJobInfo[]; total: number }> {
  const m = matcherOf('managedQueue.listJobs', filter, ['state', 'offset', 'limit']);
  const state = filter.state;
  if (state !== undefined && !STATES.includes(state)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `listJobs: state must be one of ${STATES.join(', ')}, got ${describe(state)}`,
    );
  }
  const offset = filter.offset === undefined ? 0 : assertInteger('offset', filter.offset, 0);
  const limit = filter.limit === undefined ? 100 : assertInteger('limit', filter.limit, 1, 10_000);
  const now = Date.now();
  const found: JobRecord[] = [];
  for await (const record of jobs.all()) {
    if (matches(record, m) && (state === undefined || visibleState(record, now) === state)) found.push(record);
  }
  found.sort((a, b) => b.enqueuedAt - a.enqueuedAt || (a.id < b.id ? -1 : 1));
  return { jobs: found.slice(offset, offset + limit).map((r) => toJobInfo(r, now)), total: found.length };
}

/** `getMetrics`: counts by state (cancelled jobs are not counted). */
export async function getMetrics(jobs: JobStore, filter?: MetricsFilter): Promise<JobCounts> {
  const m = matcherOf('managedQueue.getMetrics', filter);
  const counts = emptyCounts();
  const now = Date.now();
  for await (const record of jobs.all()) {
    if (matches(record, m)) count(counts, visibleState(record, now));
  }
  return counts;
}

/** `getQueueStats`: one row per plugin/queue/tenant that has jobs. */
export async function getQueueStats(
  jobs: JobStore,
  isPaused: (pluginName: string, queueName: string) => Promise<boolean>,
): Promise<QueueStats[]> {
  const m = matcherOf('managedQueue.getQueueStats', undefined);
  const rows = new Map<string, QueueStats>();
  const now = Date.now();
  for await (const record of jobs.all()) {
    if (!matches(record, m)) continue;
    const key = JSON.stringify([record.pluginName, record.queueName, record.tenantId ?? null]);
    let row = rows.get(key);
    if (!row) {
      row = { pluginName: record.pluginName, queueName: record.queueName, ...emptyCounts(), paused: false };
      if (record.tenantId !== undefined) row.tenantId = record.tenantId;
      rows.set(key, row);
    }
    count(row, visibleState(record, now));
  }
  const out = [...rows.values()];
  await Promise.all(out.map(async (row) => (row.paused = await isPaused(row.pluginName, row.queueName))));
  return out.sort((a, b) =>
    `${a.pluginName}\u0000${a.queueName}\u0000${a.tenantId ?? ''}`.localeCompare(
      `${b.pluginName}\u0000${b.queueName}\u0000${b.tenantId ?? ''}`,
    ),
  );
}

/** Options of `clean`. */
export interface CleanOptions {
  /** Which finished jobs to delete. */
  state: 'completed' | 'failed' | 'cancelled';
  /** Only jobs finished at least this long ago, in ms (0 = all). */
  olderThanMs: number;
  /** Most records to delete in this call. @default unlimited */
  limit?: number;
}

/** `clean`: deletes finished records; returns how many. */
export async function cleanJobs(jobs: JobStore, options: CleanOptions): Promise<number> {
  const o = assertOptions('managedQueue.clean', options, ['state', 'olderThanMs', 'limit']) as CleanOptions;
  if (o.state === undefined || !isTerminal(o.state)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `clean: state must be 'completed', 'failed' or 'cancelled', got ${describe(o.state)}`,
    );
  }
  const olderThanMs = assertDuration('olderThanMs', o.olderThanMs, { allowZero: true });
  const limit = o.limit === undefined ? Number.MAX_SAFE_INTEGER : assertInteger('limit', o.limit, 1);
  const cutoff = Date.now() - olderThanMs;
  const doomed: string[] = [];
  for await (const record of jobs.all()) {
    if (doomed.length >= limit) break;
    if (record.state === o.state && (record.finishedAt ?? 0) <= cutoff && visibleToCaller(record))
      doomed.push(record.id);
  }
  let removed = 0;
  for (const id of doomed) if (await jobs.delete(id)) removed += 1;
  return removed;
}
