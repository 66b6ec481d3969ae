/**
 * Small HTTP helpers shared by the dashboard and metrics handlers. They take plain Node
 * `IncomingMessage`/`ServerResponse` objects, so the handlers mount in express, koa, fastify or
 * `node:http` alike without a framework dependency.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';

/** Largest request body the dashboard reads, in bytes. */
export const MAX_BODY_BYTES = 1_048_576;

/** A request as frameworks hand it over: express adds `originalUrl` and may have parsed `body`. */
export type OpsRequest = IncomingMessage & { originalUrl?: string; body?: unknown };

/** Writes a JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Writes a text response (HTML, Prometheus exposition, plain). */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Sends a redirect (303, so a POST turns into a GET). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
  res.end();
}

/**
 * Reads a JSON request body (or, with `form: true` — the login route only — a urlencoded one). A
 * body already parsed by a framework (`req.body`) is used as is. Refuses bodies over
 * {@link MAX_BODY_BYTES} and malformed JSON with `INVALID_ARGUMENT`.
 */
export async function readBody(req: OpsRequest, options: { form?: boolean } = {}): Promise<Record<string, unknown>> {
  if (req.body !== undefined && req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) {
    return req.body as Record<string, unknown>;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `request body is over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (options.form === true && type.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'request body must be a JSON object');
  }
}

/** Parses the `Cookie` header. */
export function parseCookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A cookie someone else set with bad escaping is not ours to fail on.
    }
  }
  return out;
}

/** True for 127.0.0.0/8, ::1, IPv4-mapped loopback and `localhost`. */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The path the handler is mounted at, so redirects and cookies work under any prefix: an explicit
 * `basePath`, else what express stripped (`originalUrl` minus `url`), else the root.
 */
export function mountPath(req: OpsRequest, basePath: string | undefined): string {
  if (basePath !== undefined) return basePath.replace(/\/+$/, '');
  const original = (req.originalUrl ?? req.url ?? '/').split('?')[0]!;
  const local = (req.url ?? '/').split('?')[0]!;
  if (original !== local && original.endsWith(local)) return original.slice(0, original.length - local.length);
  if (original !== local && local === '/') return original.replace(/\/+$/, '');
  return '';
}

/** HTTP status for an error thrown by a manager call. */
export function statusForError(error: unknown): number {
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case ErrorCodes.NOT_FOUND:
      return 404;
    case ErrorCodes.INVALID_ARGUMENT:
    case ErrorCodes.INVALID_OPTION:
    case ErrorCodes.INVALID_NAME:
    case ErrorCodes.UNKNOWN_OPTION:
    case ErrorCodes.INVALID_PAYLOAD:
      return 400;
    case ErrorCodes.BACKEND_UNAVAILABLE:
    case ErrorCodes.NOT_CONNECTED:
      return 503;
    default:
      return 500;
  }
}
