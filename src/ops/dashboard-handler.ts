/**
 * `createDashboardHandler(app, options)`: the operations dashboard as one plain Node request handler
 * `(req, res, next?)`. It serves a self-contained page, its JSON API and `/metrics`, with auth built
 * in, and mounts under any path in express, koa, fastify or `node:http`.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { assertDuration, assertOptions, ClusterError, ErrorCodes, isClusterError } from 'clusterkit/adapter-kit';
import { handleApi, type DashboardApiContext } from './dashboard-api.js';
import {
  createAuthenticator,
  LOGIN_LINK_TTL_MS,
  MAX_LOGIN_LINK_TTL_MS,
  SESSION_COOKIE,
  SESSION_MAX_AGE_MS,
  type DashboardAuthOptions,
} from './dashboard-auth.js';
import {
  crossOriginRefusal,
  isJsonRequest,
  isLoopbackHostHeader,
  isSafeMethod,
  normalizeOrigin,
  NOT_JSON,
} from './dashboard-guard.js';
import { createNonceSpender, serveLogin, type LoginContext } from './dashboard-login.js';
import { renderDashboardPage, renderLoginPage } from './dashboard-page.js';
import { isLoopback, mountPath, redirect, sendJson, sendText, statusForError, type OpsRequest } from './http-utils.js';
import { createJobStatsRecorder, type JobStatsOptions } from './job-stats.js';
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
  /**
   * Further origins (`https://ops.example.com`) the dashboard is reached at, for a reverse proxy that
   * rewrites `Host` without sending `X-Forwarded-Host`. State-changing requests from any other origin
   * are refused. @default [] (the origin the request itself names)
   */
  allowedOrigins?: readonly string[];
  /**
   * Record job statistics (throughput, wait and run times) of the jobs this node runs, for the
   * dashboard's charts (`createJobStatsRecorder`); pass options to tune it, `false` to not record
   * here. Worker nodes elsewhere record with `createJobStatsRecorder(app)`. @default true
   */
  stats?: boolean | JobStatsOptions;
}

/** A mounted dashboard: call it with `(req, res, next?)`; `close()` stops its metrics collectors. */
export interface DashboardHandler {
  (req: OpsRequest, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The metrics this dashboard serves at `/metrics`, if any. */
  readonly metrics: OpsMetrics | undefined;
  /** True when credentials are configured. */
  readonly hasAuth: boolean;
  /**
   * A signed login link, relative to the dashboard's mount path (`login?link=…`): it opens a
   * session once, within `ttlMs`, and never contains the token. Needs `auth.token`.
   * @param options.ttlMs link lifetime in ms, at most 24 h. @default 600_000 (10 min)
   */
  createLoginLink(options?: { ttlMs?: number }): string;
  /** Releases event listeners of metrics and job statistics created by this handler (writes the last statistics). */
  close(): Promise<void>;
}

const OPTION_KEYS = [
  'auth',
  'readOnly',
  'redact',
  'basePath',
  'deadLetterChannels',
  'metrics',
  'metricsAuth',
  'title',
  'allowedOrigins',
  'stats',
];

/** Builds the dashboard request handler for `app`. See docs/operations.md. */
export function createDashboardHandler(app: OpsApp, options: DashboardOptions = {}): DashboardHandler {
  assertOptions('createDashboardHandler', options, OPTION_KEYS);
  const auth = createAuthenticator(options.auth);
  const allowedOrigins = (options.allowedOrigins ?? []).map((origin) => {
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) {
      throw new ClusterError(
        ErrorCodes.INVALID_OPTION,
        `allowedOrigins: ${JSON.stringify(origin)} is not an http(s) origin`,
        {
          details: { option: 'allowedOrigins' },
        },
      );
    }
    return normalized;
  });
  const readOnly = options.readOnly === true;
  const ownMetrics = options.metrics === undefined || options.metrics === true;
  const metrics: OpsMetrics | undefined = ownMetrics
    ? createMetrics(app)
    : options.metrics === false
      ? undefined
      : (options.metrics as OpsMetrics);
  const metricsAuth = options.metricsAuth !== false;
  const title = options.title ?? `clusterkit · ${app.name}`;
  const recorder =
    options.stats === false
      ? undefined
      : createJobStatsRecorder(app, options.stats === true ? {} : (options.stats ?? {}));
  const ctx: DashboardApiContext = {
    app,
    readOnly,
    recordsStats: recorder !== undefined,
    redact: createRedactor(options.redact ?? DEFAULT_REDACTED_FIELDS),
    deadLetterChannels: () => {
      if (options.deadLetterChannels) return [...options.deadLetterChannels];
      const channel = physicalChannel(app);
      return channel ? [channel] : [];
    },
  };
  const nonces = createNonceSpender(app);

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

    // Request forgery first, before credentials are even looked at: see dashboard-guard.ts.
    if (!isSafeMethod(req.method)) {
      const refusal =
        crossOriginRefusal(req, allowedOrigins) ?? (path === '/login' || isJsonRequest(req) ? undefined : NOT_JSON);
      if (refusal) return sendJson(res, refusal.status, { error: { code: refusal.code, message: refusal.message } });
    }
    if (path === '/metrics' && metrics) {
      if (metricsAuth && !allowed(req)) return unauthorized(req, res, true);
      return sendText(res, 200, metrics.contentType, await metrics.metrics());
    }
    if (!auth.enabled && !allowed(req)) {
      return sendJson(res, 403, {
        error: {
          code: 'AUTH_REQUIRED',
          message: 'the dashboard has no auth configured and only answers loopback requests for a loopback host',
        },
      });
    }
    const login: LoginContext = {
      auth,
      title,
      nonces,
      htmlHeaders,
      sessionCookie: () =>
        `${SESSION_COOKIE}=${auth.newSession()}; Max-Age=${SESSION_MAX_AGE_MS / 1000}; ${cookieFlags}`,
    };
    if (path === '/login' && auth.tokenLogin) return serveLogin(login, req, res, base);
    if (path === '/logout' && req.method === 'POST') {
      return sendJson(res, 200, { loggedOut: true }, { 'set-cookie': `${SESSION_COOKIE}=; Max-Age=0; ${cookieFlags}` });
    }
    if (auth.enabled && !auth.isAuthenticated(req)) return unauthorized(req, res, path.startsWith('/api/'));
    if (path === '/' && isSafeMethod(req.method)) {
      const nonce = randomBytes(16).toString('base64url');
      return sendText(
        res,
        200,
        HTML,
        renderDashboardPage({ title, readOnly, tokenLogin: auth.tokenLogin, nonce }),
        htmlHeaders(nonce),
      );
    }
    if (path.startsWith('/api/') && (await handleApi(ctx, req, res, path.slice(5), url.searchParams))) return;
    return next ? next() : notFound(res);
  };

  /** Who may in: valid credentials, or — without auth — a loopback connection naming a loopback host. */
  const allowed = (req: OpsRequest) =>
    auth.enabled ? auth.isAuthenticated(req) : isLoopback(req.socket?.localAddress) && isLoopbackHostHeader(req);

  const unauthorized = (req: OpsRequest, res: ServerResponse, api: boolean) => {
    const headers: Record<string, string> =
      auth.basic && (!auth.tokenLogin || api)
        ? { 'www-authenticate': 'Basic realm="clusterkit", charset="UTF-8"' }
        : {};
    if (api || !auth.tokenLogin) {
      return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'authentication required' } }, headers);
    }
    return sendText(res, 401, HTML, renderLoginPage(title), { ...htmlHeaders(), ...headers });
  };

  const handler = ((req, res, next) => {
    serve(req, res, next).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      const status = statusForError(error);
      const code = isClusterError(error) ? error.code : ErrorCodes.INVALID_STATE;
      const message = error instanceof Error ? error.message : String(error);
      sendJson(res, status, {
        error: { code: status === 500 && !isClusterError(error) ? 'INTERNAL' : code, message },
      });
    });
  }) as DashboardHandler;
  Object.defineProperties(handler, {
    metrics: { value: metrics, enumerable: true },
    hasAuth: { value: auth.enabled, enumerable: true },
    createLoginLink: {
      value: (linkOptions: { ttlMs?: number } = {}) => {
        const { ttlMs = LOGIN_LINK_TTL_MS } = assertOptions('createLoginLink', linkOptions, ['ttlMs']);
        if (assertDuration('ttlMs', ttlMs) > MAX_LOGIN_LINK_TTL_MS) {
          throw new ClusterError(
            ErrorCodes.INVALID_OPTION,
            `createLoginLink: ttlMs must be at most ${MAX_LOGIN_LINK_TTL_MS} ms`,
          );
        }
        return `login?link=${auth.newLoginLink(ttlMs)}`;
      },
    },
    close: {
      value: async () => {
        if (ownMetrics) metrics?.close();
        await recorder?.close();
      },
    },
  });
  return handler;
}

const HTML = 'text/html; charset=utf-8';

/**
 * Headers of every HTML page: scripts only with this response's nonce, no framing (clickjacking),
 * referrer only to the same origin (a login link in the address bar never leaks to another site; not
 * `no-referrer`, which would make browsers send `Origin: null` and fail the forgery check), no MIME sniffing.
 */
function htmlHeaders(nonce?: string): Record<string, string> {
  const script = nonce ? `'nonce-${nonce}'` : "'none'";
  return {
    'content-security-policy': `default-src 'self'; script-src ${script}; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
  };
}

function notFound(res: ServerResponse): void {
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no such page' } });
}

function isSecure(req: OpsRequest): boolean {
  return (
    Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted) ||
    String(req.headers['x-forwarded-proto'] ?? '') === 'https'
  );
}
