/**
 * The dashboard API's job routes: list (state, prefix filters, paging), search by id, detail, and
 * the actions on one job (retry, cancel/abort, remove, promote) and on many (retry every failed
 * job, promote every delayed one, clean finished ones by state and age).
 */
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import { forEachMatching, listMatching, searchJobs } from './dashboard-job-filter.js';
import { intParam, prefixesOf, redactJob, routeTable, type DashboardApiContext } from './dashboard-router.js';
import { parseDuration } from './duration.js';
import { readBody } from './http-utils.js';
import { LIST_STATES, type JobState, type OpsJobInfo } from './types.js';

const { routes, get, post } = routeTable();

/** The job routes. */
export const jobRoutes = routes;

/** A job as a list row: what the detail adds (attempt history, stacks, logs) is left out, so a page stays small. */
function rowOf(ctx: DashboardApiContext, job: OpsJobInfo): OpsJobInfo {
  const { history: _history, stacktrace: _stacks, logs: _logs, ...row } = job;
  return redactJob(ctx, row);
}

get(/^jobs$/, async (ctx, _req, _params, q) => {
  const state = q.get('state') || undefined;
  if (state !== undefined && !LIST_STATES.includes(state as JobState)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `state must be one of ${LIST_STATES.join(', ')}`);
  }
  const page = await listMatching(
    ctx.app,
    state as JobState | undefined,
    prefixesOf(q),
    intParam(q, 'offset', 0, 0),
    intParam(q, 'limit', 20, 1, 500),
  );
  return { ...page, jobs: page.jobs.map((job) => rowOf(ctx, job)) };
});

get(/^search$/, async (ctx, _req, _params, q) => {
  const text = (q.get('q') ?? '').trim();
  if (text === '') throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'q (a job id) is required');
  const jobs = await searchJobs(ctx.app, text, prefixesOf(q));
  return { jobs: jobs.map((job) => rowOf(ctx, job)) };
});

get(/^jobs\/([^/]+)$/, async (ctx, _req, [id]) => {
  const job = await ctx.app.managedQueue.getJob(id!);
  if (!job) throw new ClusterError(ErrorCodes.NOT_FOUND, `job ${JSON.stringify(id)} not found`);
  return redactJob(ctx, job);
});

post(/^jobs\/([^/]+)\/retry$/, async (ctx, _req, [id]) => ctx.app.managedQueue.retry(id!));
post(/^jobs\/([^/]+)\/remove$/, async (ctx, _req, [id]) => ctx.app.managedQueue.remove(id!));
post(/^jobs\/([^/]+)\/promote$/, async (ctx, _req, [id]) => ctx.app.managedQueue.promote(id!));

post(/^jobs\/([^/]+)\/cancel$/, async (ctx, req, [id]) => {
  const body = await readBody(req);
  return ctx.app.managedQueue.cancel({ jobId: id!, abortActive: body.abortActive === true });
});

// Bulk actions on the jobs the list's filters select: each job leaves its state when the action works.
const bulk = (state: 'failed' | 'delayed', verb: 'retry' | 'promote', key: string) =>
  post(new RegExp(`^jobs/${verb === 'retry' ? 'retry-failed' : 'promote-delayed'}$`), async (ctx, req) => {
    const prefixes = prefixesOf(await readBody(req));
    const act = async (job: { id: string }) => (await ctx.app.managedQueue[verb](job.id)).success;
    return { [key]: await forEachMatching(ctx.app, state, prefixes, act) };
  });
bulk('failed', 'retry', 'retried');
bulk('delayed', 'promote', 'promoted');

post(/^clean$/, async (ctx, req) => {
  const body = await readBody(req);
  const state = body.state;
  if (state !== 'completed' && state !== 'failed' && state !== 'cancelled') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'state must be completed, failed or cancelled');
  }
  const olderThanMs =
    typeof body.olderThanMs === 'number' ? body.olderThanMs : parseDuration(String(body.olderThan ?? ''), 'olderThan');
  const removed = await ctx.app.managedQueue.clean({ state, olderThanMs });
  return { removed };
});
