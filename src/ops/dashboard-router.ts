/**
 * The dashboard API's little router and the parameter helpers its routes share. A route is a
 * method, a path pattern (relative to `api/`) and a handler returning the JSON body; POST routes are
 * actions, refused in read-only mode. Request-forgery checks happen before (dashboard-guard.ts).
 */
import type { ServerResponse } from 'node:http';
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import type { JobPrefixes } from './dashboard-job-filter.js';
import { sendJson, type OpsRequest } from './http-utils.js';
import type { OpsApp, OpsJobInfo } from './types.js';

/** What an API route needs. */
export interface DashboardApiContext {
  app: OpsApp;
  readOnly: boolean;
  redact: (value: unknown) => unknown;
  /** Event-queue channels whose dead letters the dashboard lists by default. */
  deadLetterChannels: () => string[];
  /** True when this dashboard records job statistics on its node (`stats` option). */
  recordsStats: boolean;
}

type Handler = (
  ctx: DashboardApiContext,
  req: OpsRequest,
  params: string[],
  query: URLSearchParams,
) => Promise<unknown>;

/** One API route. */
export interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handle: Handler;
}

/** Collects routes: `get(/^x$/, handler)`, `post(...)`. */
export function routeTable(): { routes: Route[]; get(p: RegExp, h: Handler): void; post(p: RegExp, h: Handler): void } {
  const routes: Route[] = [];
  return {
    routes,
    get: (pattern, handle) => void routes.push({ method: 'GET', pattern, handle }),
    post: (pattern, handle) => void routes.push({ method: 'POST', pattern, handle }),
  };
}

/** An API request: context, request, response, path relative to `api/`, query. */
export type ApiRequest = [DashboardApiContext, OpsRequest, ServerResponse, string, URLSearchParams];

/**
 * Serves `path` (relative to `api/`) if a route matches. Returns false when none does, so the
 * caller can 404 or hand over to the framework's `next()`.
 */
export async function dispatch(
  routes: readonly Route[],
  ...[ctx, req, res, path, query]: ApiRequest
): Promise<boolean> {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  let allowed = false;
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    allowed = true;
    if (route.method !== method) continue;
    if (route.method === 'POST' && ctx.readOnly) {
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

/** A job with its payload and return value redacted. */
export function redactJob(ctx: DashboardApiContext, job: OpsJobInfo): OpsJobInfo {
  return { ...job, payload: ctx.redact(job.payload), returnValue: ctx.redact(job.returnValue) };
}

/** `{ [key]: value }` when `value` is a non-empty string, else `{}`. */
export function optional<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' && value !== '' ? ({ [key]: value } as Record<K, string>) : {};
}

/** A required non-empty string field of a JSON body. */
export function stringField(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${key} is required`);
  }
  return value;
}

/** Filter prefixes from a query string (`plugin`, `queue`, `tenant`, `exact=1`) or a JSON body (`pluginName`, ..., `exact: true`). */
export function prefixesOf(source: URLSearchParams | Record<string, unknown>): JobPrefixes {
  const read = (query: string, body: string) =>
    source instanceof URLSearchParams ? (source.get(query) ?? undefined) : (source[body] ?? source[query]);
  const exact = source instanceof URLSearchParams ? source.get('exact') === '1' : source.exact === true;
  return {
    ...optional('plugin', read('plugin', 'pluginName')),
    ...optional('queue', read('queue', 'queueName')),
    ...optional('tenant', read('tenant', 'tenantId')),
    ...(exact ? { exact } : {}),
  };
}

/** An integer query parameter within `[min, max]`, else `INVALID_ARGUMENT`. */
export function intParam(
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
