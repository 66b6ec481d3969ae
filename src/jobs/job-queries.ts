/**
 * Read-side operations over job records: list with paging, counts by state, per-queue stats and
 * cleaning old finished jobs, on the job store (indexed on memory and Redis; the portable store walks
 * its records with SCAN + MGET) or on a native engine's {@link ManagedJobQueries}.
 *
 * Tenant visibility: inside `runWithTenant` only that tenant's jobs are seen; outside any tenant
 * context (platform and operator code) every job is.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { currentTenant } from '../tenant/tenant-context.js';
import { assertDuration, assertInteger, assertName, assertOptions, describe } from '../validation.js';
import { isTerminal, toJobInfo, type JobRecord } from './envelope.js';
import type { ManagedJobQueries } from './native-engine.js';
import { logicalQueueKey } from './scoped-key.js';
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

/** `listJobs`: newest first. */
export async function listJobs(
  jobs: ManagedJobQueries,
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
  const { records, total } = await jobs.list(
    { ...defined(m), ...(state === undefined ? {} : { state }), offset, limit },
    now,
  );
  return { jobs: records.map((r) => toJobInfo(r, now)), total };
}

/** `getMetrics`: counts by state (cancelled jobs are not counted). */
export async function getMetrics(jobs: ManagedJobQueries, filter?: MetricsFilter): Promise<JobCounts> {
  return jobs.counts(defined(matcherOf('managedQueue.getMetrics', filter)), Date.now());
}

/** `getQueueStats`: one row per plugin/queue/tenant that has jobs. */
export async function getQueueStats(jobs: ManagedJobQueries): Promise<QueueStats[]> {
  const m = matcherOf('managedQueue.getQueueStats', undefined);
  const [rows, paused] = await Promise.all([jobs.queueStats(defined(m), Date.now()), jobs.pausedQueues()]);
  const pausedSet = new Set(paused);
  return rows
    .map((row) => ({ ...row, paused: pausedSet.has(logicalQueueKey(row.pluginName, row.queueName)) }))
    .sort((a, b) =>
      `${a.pluginName}\u0000${a.queueName}\u0000${a.tenantId ?? ''}`.localeCompare(
        `${b.pluginName}\u0000${b.queueName}\u0000${b.tenantId ?? ''}`,
      ),
    );
}

/** The matcher without its unset fields. */
function defined(m: Matcher): Matcher {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as Matcher;
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
export async function cleanJobs(jobs: ManagedJobQueries, options: CleanOptions): Promise<number> {
  const o = assertOptions('managedQueue.clean', options, ['state', 'olderThanMs', 'limit']) as CleanOptions;
  if (o.state === undefined || !isTerminal(o.state)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `clean: state must be 'completed', 'failed' or 'cancelled', got ${describe(o.state)}`,
    );
  }
  // An age filter: compared with timestamps, never waited for, so no timer bound.
  const olderThanMs = assertDuration('olderThanMs', o.olderThanMs, { allowZero: true, max: Number.MAX_SAFE_INTEGER });
  const limit = o.limit === undefined ? Number.MAX_SAFE_INTEGER : assertInteger('limit', o.limit, 1);
  const tenantId = currentTenant()?.tenantId;
  return jobs.clean({
    state: o.state,
    finishedBefore: Date.now() - olderThanMs,
    limit,
    ...(tenantId === undefined ? {} : { tenantId }),
  });
}
