/**
 * Finding jobs for the dashboard: prefix filters on plugin, queue and tenant, and search by id.
 *
 * The managed queue filters by exact names, so a prefix is first resolved against the logical
 * queues that exist (`getQueueStats()`): when each prefix names exactly one plugin/queue/tenant, the
 * list is one exact `listJobs` call; when a prefix matches several, the jobs of the state are read
 * in pages and filtered here (at most {@link MAX_SCANNED_JOBS}).
 */
import { ErrorCodes, isClusterError, namespacedJobId } from 'clusterkit/adapter-kit';
import type { JobState, OpsApp, OpsJobInfo } from './types.js';

/** Most jobs read to answer one list whose prefixes match several names. */
export const MAX_SCANNED_JOBS = 50_000;
const PAGE = 10_000;

/** Prefixes typed into the filter boxes (empty or missing: any). */
export interface JobPrefixes {
  plugin?: string;
  queue?: string;
  tenant?: string;
  /** The values are whole names, not prefixes (a click on a queue row). */
  exact?: boolean;
}

interface Resolved {
  /** Exact filter for `listJobs`. */
  exact: { pluginName?: string; queueName?: string; tenantId?: string };
  /** Further check when a prefix matched several names; undefined when `exact` says it all. */
  match?: (job: OpsJobInfo) => boolean;
  /** No logical queue matches: nothing can. */
  none: boolean;
}

const optional = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
  value ? ({ [key]: value } as Record<K, string>) : {};

const starts = (value: string | undefined, prefix: string | undefined) => !prefix || (value ?? '').startsWith(prefix);

/** Resolves prefixes against the logical queues that have jobs. */
export async function resolvePrefixes(app: OpsApp, p: JobPrefixes): Promise<Resolved> {
  if (!p.plugin && !p.queue && !p.tenant) return { exact: {}, none: false };
  if (p.exact) {
    const exact = {
      ...optional('pluginName', p.plugin),
      ...optional('queueName', p.queue),
      ...optional('tenantId', p.tenant),
    };
    return { exact, none: false };
  }
  const rows = (await app.managedQueue.getQueueStats()).filter(
    (r) => starts(r.pluginName, p.plugin) && starts(r.queueName, p.queue) && starts(r.tenantId, p.tenant),
  );
  if (rows.length === 0) return { exact: {}, none: true };
  const exact: Resolved['exact'] = {};
  let ambiguous = false;
  const pin = (given: string | undefined, values: (string | undefined)[], key: keyof Resolved['exact']) => {
    if (!given) return;
    const distinct = new Set(values);
    const only = distinct.size === 1 ? [...distinct][0] : undefined;
    if (only !== undefined) exact[key] = only;
    else ambiguous = true;
  };
  pin(
    p.plugin,
    rows.map((r) => r.pluginName),
    'pluginName',
  );
  pin(
    p.queue,
    rows.map((r) => r.queueName),
    'queueName',
  );
  pin(
    p.tenant,
    rows.map((r) => r.tenantId),
    'tenantId',
  );
  const match = ambiguous
    ? (job: OpsJobInfo) =>
        starts(job.pluginName, p.plugin) && starts(job.queueName, p.queue) && starts(job.tenantId, p.tenant)
    : undefined;
  return { exact, none: false, ...(match ? { match } : {}) };
}

/** One page of the jobs in `state` matching the prefixes, newest first, with the total. */
export async function listMatching(
  app: OpsApp,
  state: JobState | undefined,
  prefixes: JobPrefixes,
  offset: number,
  limit: number,
): Promise<{ jobs: OpsJobInfo[]; total: number; capped?: boolean }> {
  const r = await resolvePrefixes(app, prefixes);
  if (r.none) return { jobs: [], total: 0 };
  const base = { ...r.exact, ...(state ? { state } : {}) };
  if (!r.match) return app.managedQueue.listJobs({ ...base, offset, limit });
  const found: OpsJobInfo[] = [];
  let scanned = 0;
  let capped = false;
  for (;;) {
    const page = await app.managedQueue.listJobs({ ...base, offset: scanned, limit: PAGE });
    found.push(...page.jobs.filter(r.match));
    scanned += page.jobs.length;
    if (page.jobs.length < PAGE || scanned >= page.total) break;
    if (scanned >= MAX_SCANNED_JOBS) {
      capped = true;
      break;
    }
  }
  return { jobs: found.slice(offset, offset + limit), total: found.length, ...(capped ? { capped } : {}) };
}

/**
 * Applies `act` to every job in `state` matching the prefixes, for actions that move a job out of
 * that state (retry a failed one, promote a delayed one): the first page is read again until it
 * stops shrinking. Returns how many `act` reported done.
 */
export async function forEachMatching(
  app: OpsApp,
  state: JobState,
  prefixes: JobPrefixes,
  act: (job: OpsJobInfo) => Promise<boolean>,
): Promise<number> {
  let done = 0;
  let stuck = 0; // jobs `act` left in the state: skip past them
  const tried = new Set<string>();
  for (let guard = 0; guard < 10_000; guard++) {
    const { jobs } = await listMatching(app, state, prefixes, stuck, 100);
    const fresh = jobs.filter((job) => !tried.has(job.id));
    if (fresh.length === 0) break;
    for (const job of fresh) {
      tried.add(job.id);
      if (await act(job)) done += 1;
      else stuck += 1;
    }
  }
  return done;
}

/**
 * Jobs with id `text`: the job with that exact (namespaced) id, else every job whose caller-given id
 * it is, in any plugin and tenant that has jobs (`<plugin>:<tenant>:<id>`), narrowed by the prefixes.
 */
export async function searchJobs(app: OpsApp, text: string, prefixes: JobPrefixes): Promise<OpsJobInfo[]> {
  const exact = await app.managedQueue.getJob(text).catch(notAName);
  if (exact) return [exact];
  const pairs = new Map<string, [string, string | undefined]>();
  const fits = (value: string | undefined, given: string | undefined) =>
    prefixes.exact ? !given || value === given : starts(value, given);
  for (const row of await app.managedQueue.getQueueStats()) {
    if (!fits(row.pluginName, prefixes.plugin) || !fits(row.tenantId, prefixes.tenant)) continue;
    pairs.set(JSON.stringify([row.pluginName, row.tenantId ?? null]), [row.pluginName, row.tenantId]);
  }
  const found = await Promise.all(
    [...pairs.values()].map(([plugin, tenant]) =>
      app.managedQueue.getJob(namespacedJobId(plugin, tenant, text)).catch(notAName),
    ),
  );
  return found.filter((job): job is OpsJobInfo => job !== null && fits(job.queueName, prefixes.queue));
}

/** Text that cannot be a job id (too long, control characters) finds nothing; other errors stand. */
function notAName(error: unknown): null {
  if (isClusterError(error) && error.code === ErrorCodes.INVALID_NAME) return null;
  throw error;
}
