/**
 * The dashboard's JSON API: reads (queues, jobs, dead letters, schedules) and, unless read-only,
 * actions (retry, cancel, clean, pause/resume, redrive, delete dead letters, remove schedules).
 * Every payload-bearing field goes through the redactor before it is sent.
 */
import type { ServerResponse } from 'node:http';
import { ClusterError, ErrorCodes } from '../errors.js';
import { parseDuration } from './duration.js';
import { readBody, sendJson, type OpsRequest } from './http-utils.js';
import { LIST_STATES, type JobState, type OpsApp, type OpsJobInfo } from './types.js';

/** What an API route needs. */
export interface DashboardApiContext {
  app: OpsApp;
  readOnly: boolean;
  redact: (value: unknown) => unknown;
  /** Event-queue channels whose dead letters the dashboard lists by default. */
  deadLetterChannels: () => string[];
}

type Handler = (
  ctx: DashboardApiContext,
  req: OpsRequest,
  params: string[],
  query: URLSearchParams,
) => Promise<unknown>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  action: boolean;
  handle: Handler;
}

const routes: Route[] = [];
const get = (pattern: RegExp, handle: Handler) => routes.push({ method: 'GET', pattern, action: false, handle });
const post = (pattern: RegExp, handle: Handler) => routes.push({ method: 'POST', pattern, action: true, handle });

get(/^info$/, async (ctx) => ({
  app: ctx.app.name,
  readOnly: ctx.readOnly,
  physicalQueue: ctx.app.managedQueue.physicalQueueName ?? null,
  deadLetterChannels: ctx.deadLetterChannels(),
  states: LIST_STATES,
}));

get(/^overview$/, async (ctx) => {
  const [queues, totals, physical] = await Promise.all([
    ctx.app.managedQueue.getQueueStats(),
    ctx.app.managedQueue.getMetrics(),
    Promise.all(
      ctx.deadLetterChannels().map(async (channel) => ({ channel, ...(await ctx.app.eventQueue.counts(channel)) })),
    ),
  ]);
  return { totals, queues, physical, at: Date.now() };
});

get(/^jobs$/, async (ctx, _req, _params, q) => {
  const state = q.get('state') || undefined;
  if (state !== undefined && !LIST_STATES.includes(state as JobState)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `state must be one of ${LIST_STATES.join(', ')}`);
  }
  const { jobs, total } = await ctx.app.managedQueue.listJobs({
    ...(state ? { state: state as JobState } : {}),
    ...optional('pluginName', q.get('plugin')),
    ...optional('queueName', q.get('queue')),
    ...optional('tenantId', q.get('tenant')),
    offset: intParam(q, 'offset', 0, 0),
    limit: intParam(q, 'limit', 20, 1, 500),
  });
  return { jobs: jobs.map((job) => redactJob(ctx, job)), total };
});

get(/^jobs\/([^/]+)$/, async (ctx, _req, [id]) => {
  const job = await ctx.app.managedQueue.getJob(id!);
  if (!job) throw new ClusterError(ErrorCodes.NOT_FOUND, `job ${JSON.stringify(id)} not found`);
  return redactJob(ctx, job);
});

post(/^jobs\/([^/]+)\/retry$/, async (ctx, _req, [id]) => ctx.app.managedQueue.retry(id!));

post(/^jobs\/([^/]+)\/cancel$/, async (ctx, req, [id]) => {
  const body = await readBody(req);
  return ctx.app.managedQueue.cancel({ jobId: id!, abortActive: body.abortActive === true });
});

post(/^jobs\/retry-failed$/, async (ctx, req) => {
  const body = await readBody(req);
  const filter = {
    ...optional('pluginName', body.pluginName),
    ...optional('queueName', body.queueName),
    ...optional('tenantId', body.tenantId),
  };
  let retried = 0;
  // Retried jobs leave the failed list, so always read the first page until it stops shrinking.
  for (let guard = 0; guard < 1_000; guard++) {
    const { jobs } = await ctx.app.managedQueue.listJobs({ ...filter, state: 'failed', offset: 0, limit: 100 });
    let progressed = 0;
    for (const job of jobs) if ((await ctx.app.managedQueue.retry(job.id)).success) progressed++;
    retried += progressed;
    if (progressed === 0 || jobs.length < 100) break;
  }
  return { retried };
});

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

post(/^queues\/(pause|resume)$/, async (ctx, req, [verb]) => {
  const body = await readBody(req);
  const ref = { pluginName: stringField(body, 'pluginName'), queueName: stringField(body, 'queueName') };
  await (verb === 'pause' ? ctx.app.managedQueue.pause(ref) : ctx.app.managedQueue.resume(ref));
  return { ...ref, paused: await ctx.app.managedQueue.isPaused(ref) };
});

get(/^dead-letters$/, async (ctx, _req, _params, q) => {
  const channel = q.get('channel') || ctx.deadLetterChannels()[0];
  if (!channel) return { channel: null, deadLetters: [], counts: null };
  const [deadLetters, counts] = await Promise.all([
    ctx.app.eventQueue.listDeadLetters(channel, {
      offset: intParam(q, 'offset', 0, 0),
      limit: intParam(q, 'limit', 20, 1, 500),
    }),
    ctx.app.eventQueue.counts(channel),
  ]);
  return { channel, counts, deadLetters: deadLetters.map((d) => ({ ...d, message: ctx.redact(d.message) })) };
});

post(/^dead-letters\/(redrive|delete)$/, async (ctx, req, [verb]) => {
  const body = await readBody(req);
  const channel = stringField(body, 'channel');
  const ids = Array.isArray(body.ids) ? body.ids.map(String) : undefined;
  const count =
    verb === 'redrive'
      ? await ctx.app.eventQueue.redrive(channel, ids)
      : await ctx.app.eventQueue.deleteDeadLetters(channel, ids);
  return { channel, count };
});

get(/^schedules$/, async (ctx) => ({ schedules: await ctx.app.managedQueue.listSchedules() }));

post(/^schedules\/([^/]+)\/remove$/, async (ctx, _req, [id]) => ({
  removed: await ctx.app.managedQueue.removeSchedule(id!),
}));

/**
 * Serves `path` (relative to `api/`) if a route matches. Returns false when none does, so the
 * caller can 404 or hand over to the framework's `next()`.
 */
export async function handleApi(
  ctx: DashboardApiContext,
  req: OpsRequest,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<boolean> {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  let allowed = false;
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    allowed = true;
    if (route.method !== method) continue;
    if (route.action && ctx.readOnly) {
      sendJson(res, 403, { error: { code: 'READ_ONLY', message: 'the dashboard is in read-only mode' } });
      return true;
    }
    const params = match.slice(1).map((p) => decodeURIComponent(p));
    sendJson(res, 200, await route.handle(ctx, req, params, query));
    return true;
  }
  if (allowed) {
    sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed here` } });
    return true;
  }
  return false;
}

function redactJob(ctx: DashboardApiContext, job: OpsJobInfo): OpsJobInfo {
  return { ...job, payload: ctx.redact(job.payload), returnValue: ctx.redact(job.returnValue) };
}

function optional<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' && value !== '' ? ({ [key]: value } as Record<K, string>) : {};
}

function stringField(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${key} is required`);
  }
  return value;
}

function intParam(
  q: URLSearchParams,
  key: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = q.get(key);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${key} must be an integer between ${min} and ${max}`);
  }
  return n;
}
