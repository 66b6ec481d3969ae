/**
 * `createDashboardHandler(app, options)`: the operations dashboard as one plain Node request handler
 * `(req, res, next?)`. It serves a self-contained page, its JSON API and `/metrics`, with auth built
 * in, and mounts under any path in express, koa, fastify or `node:http`.
 */
import type { ServerResponse } from 'node:http';
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertOptions } from '../validation.js';
import { handleApi, type DashboardApiContext } from './dashboard-api.js';
import {
  createAuthenticator,
  SESSION_COOKIE,
  SESSION_MAX_AGE_MS,
  type DashboardAuthOptions,
} from './dashboard-auth.js';
import { renderDashboardPage, renderLoginPage } from './dashboard-page.js';
import {
  isLoopback,
  mountPath,
  readBody,
  redirect,
  sendJson,
  sendText,
  statusForError,
  type OpsRequest,
} from './http-utils.js';
import { createMetrics, type OpsMetrics } from './metrics.js';
import { createRedactor, DEFAULT_REDACTED_FIELDS } from './redact.js';
import { physicalChannel, type OpsApp } from './types.js';

/** Options of {@link createDashboardHandler}. */
export interface DashboardOptions {
  /**
   * Credentials. Without them the dashboard answers only requests that arrive on a loopback address
   * (everything else gets 403), and `startDashboardServer()` refuses to bind anywhere but loopback.
   */
  auth?: DashboardAuthOptions;
  /** Hide and refuse every action (retry, cancel, clean, pause/resume, redrive). @default false */
  readOnly?: boolean;
  /** Payload field names replaced by `[redacted]` at any depth (case-insensitive). @default DEFAULT_REDACTED_FIELDS */
  redact?: readonly string[];
  /** Path prefix to strip when the framework does not (plain `node:http`, fastify). @default derived from `originalUrl`, else '' */
  basePath?: string;
  /** Event-queue channels whose dead letters are shown. @default the managed queue's physical channel */
  deadLetterChannels?: readonly string[];
  /**
   * Serve `/metrics` (Prometheus). `true` creates a registry for this app; pass an existing
   * {@link OpsMetrics} to share one. @default true
   */
  metrics?: boolean | OpsMetrics;
  /** Require auth for `/metrics` too (Prometheus sends `authorization: Bearer`). @default true */
  metricsAuth?: boolean;
  /** Page title. @default `clusterkit · <app name>` */
  title?: string;
}

/** A mounted dashboard: call it with `(req, res, next?)`; `close()` stops its metrics collectors. */
export interface DashboardHandler {
  (req: OpsRequest, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The metrics this dashboard serves at `/metrics`, if any. */
  readonly metrics: OpsMetrics | undefined;
  /** True when credentials are configured. */
  readonly hasAuth: boolean;
  /** Releases event listeners of metrics created by this handler. */
  close(): void;
}

const OPTION_KEYS = ['auth', 'readOnly', 'redact', 'basePath', 'deadLetterChannels', 'metrics', 'metricsAuth', 'title'];

/** Builds the dashboard request handler for `app`. See docs/operations.md. */
export function createDashboardHandler(app: OpsApp, options: DashboardOptions = {}): DashboardHandler {
  assertOptions('createDashboardHandler', options, OPTION_KEYS);
  const auth = createAuthenticator(options.auth);
  const readOnly = options.readOnly === true;
  const ownMetrics = options.metrics === undefined || options.metrics === true;
  const metrics: OpsMetrics | undefined = ownMetrics
    ? createMetrics(app)
    : options.metrics === false
      ? undefined
      : (options.metrics as OpsMetrics);
  const metricsAuth = options.metricsAuth !== false;
  const title = options.title ?? `clusterkit · ${app.name}`;
  const ctx: DashboardApiContext = {
    app,
    readOnly,
    redact: createRedactor(options.redact ?? DEFAULT_REDACTED_FIELDS),
    deadLetterChannels: () => {
      if (options.deadLetterChannels) return [...options.deadLetterChannels];
      const channel = physicalChannel(app);
      return channel ? [channel] : [];
    },
  };

  const serve = async (req: OpsRequest, res: ServerResponse, next?: (error?: unknown) => void) => {
    const base = mountPath(req, options.basePath);
    const url = new URL(req.url ?? '/', 'http://dashboard.local');
    let path = url.pathname;
    if (options.basePath !== undefined) {
      if (path !== base && !path.startsWith(`${base}/`)) return next ? next() : notFound(res);
      path = path.slice(base.length);
    }
    // Relative links in the page need the trailing slash (`/ops` → `/ops/`).
    const requested = (req.originalUrl ?? req.url ?? '/').split('?')[0]!;
    if ((path === '' || path === '/') && !requested.endsWith('/')) return redirect(res, `${base}/${url.search}`);
    if (path === '') path = '/';
    const cookieFlags = `Path=${base || '/'}; HttpOnly; SameSite=Strict${isSecure(req) ? '; Secure' : ''}`;

    if (path === '/metrics' && metrics) {
      if (metricsAuth && !allowed(req)) return unauthorized(req, res, true);
      return sendText(res, 200, metrics.contentType, await metrics.metrics());
    }
    if (path === '/login' && auth.tokenLogin) {
      if (req.method === 'POST') {
        const body = await readBody(req);
        if (!auth.checkToken(body.token)) return sendText(res, 401, HTML, renderLoginPage(title, 'Wrong token.'));
        return redirect(res, `${base}/`, { 'set-cookie': sessionCookie(cookieFlags) });
      }
      return sendText(res, 200, HTML, renderLoginPage(title));
    }
    if (path === '/logout' && req.method === 'POST') {
      return redirect(res, `${base}/login`, { 'set-cookie': `${SESSION_COOKIE}=; Max-Age=0; ${cookieFlags}` });
    }
    if (!auth.enabled && !isLoopback(req.socket?.localAddress)) {
      return sendJson(res, 403, {
        error: { code: 'AUTH_REQUIRED', message: 'the dashboard has no auth configured and only answers on loopback' },
      });
    }
    if (auth.enabled && !auth.isAuthenticated(req)) {
      const token = url.searchParams.get('token');
      if (token !== null && auth.checkToken(token)) {
        url.searchParams.delete('token');
        return redirect(res, `${base}${path}${url.search}`, { 'set-cookie': sessionCookie(cookieFlags) });
      }
      return unauthorized(req, res, path.startsWith('/api/'));
    }
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendText(res, 200, HTML, renderDashboardPage({ title, readOnly, tokenLogin: auth.tokenLogin }), {
        'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      });
    }
    if (path.startsWith('/api/') && (await handleApi(ctx, req, res, path.slice(5), url.searchParams))) return;
    return next ? next() : notFound(res);
  };

  const allowed = (req: OpsRequest) =>
    auth.enabled ? auth.isAuthenticated(req) : isLoopback(req.socket?.localAddress);

  const sessionCookie = (flags: string) =>
    `${SESSION_COOKIE}=${auth.sessionValue}; Max-Age=${SESSION_MAX_AGE_MS / 1000}; ${flags}`;

  const unauthorized = (req: OpsRequest, res: ServerResponse, api: boolean) => {
    const headers: Record<string, string> =
      auth.basic && (!auth.tokenLogin || api)
        ? { 'www-authenticate': 'Basic realm="clusterkit", charset="UTF-8"' }
        : {};
    if (api || !auth.tokenLogin) {
      return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'authentication required' } }, headers);
    }
    return sendText(res, 401, HTML, renderLoginPage(title), headers);
  };

  const handler = ((req, res, next) => {
    serve(req, res, next).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      const status = statusForError(error);
      const code = error instanceof ClusterError ? error.code : ErrorCodes.INVALID_STATE;
      const message = error instanceof Error ? error.message : String(error);
      sendJson(res, status, {
        error: { code: status === 500 && !(error instanceof ClusterError) ? 'INTERNAL' : code, message },
      });
    });
  }) as DashboardHandler;
  Object.defineProperties(handler, {
    metrics: { value: metrics, enumerable: true },
    hasAuth: { value: auth.enabled, enumerable: true },
    close: { value: () => (ownMetrics ? metrics?.close() : undefined) },
  });
  return handler;
}

const HTML = 'text/html; charset=utf-8';

function notFound(res: ServerResponse): void {
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no such page' } });
}

function isSecure(req: OpsRequest): boolean {
  return (
    Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted) ||
    String(req.headers['x-forwarded-proto'] ?? '') === 'https'
  );
}
