/**
 * The dashboard's JSON API: the overview (counts, logical and physical queues, dead-letter
 * channels, live nodes), job statistics for the charts, dead letters, schedules and pause/resume;
 * the job routes are in dashboard-api-jobs.ts. Every payload-bearing field goes through the
 * redactor before it is sent.
 */
import { dispatch, intParam, routeTable, stringField, type ApiRequest } from './dashboard-router.js';
import { jobRoutes } from './dashboard-api-jobs.js';
import { readBody } from './http-utils.js';
import { readJobStats } from './job-stats-report.js';
import { LIST_STATES } from './types.js';

export type { DashboardApiContext } from './dashboard-router.js';

const { routes, get, post } = routeTable();

get(/^info$/, async (ctx) => ({
  app: ctx.app.name,
  nodeId: ctx.app.nodeId ?? null,
  readOnly: ctx.readOnly,
  physicalQueue: ctx.app.managedQueue.physicalQueueName ?? null,
  deadLetterChannels: ctx.deadLetterChannels(),
  states: LIST_STATES,
  stats: { available: ctx.app.cacheManager?.store !== undefined, recordedHere: ctx.recordsStats },
}));

get(/^overview$/, async (ctx) => {
  const { managedQueue, eventQueue } = ctx.app;
  const [queues, totals, physical, nodes] = await Promise.all([
    managedQueue.getQueueStats(),
    managedQueue.getMetrics(),
    Promise.all(ctx.deadLetterChannels().map(async (channel) => ({ channel, ...(await eventQueue.counts(channel)) }))),
    managedQueue.listNodes(),
  ]);
  return { totals, queues, physical, nodes, at: Date.now() };
});

get(/^stats$/, async (ctx, _req, _params, q) =>
  readJobStats(ctx.app, { minutes: intParam(q, 'minutes', 60, 1, 1_440) }),
);

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

const allRoutes = [...routes, ...jobRoutes];

/** Serves an API request (`path` relative to `api/`); false when no route matches (see `dispatch`). */
export function handleApi(...request: ApiRequest): Promise<boolean> {
  return dispatch(allRoutes, ...request);
}
