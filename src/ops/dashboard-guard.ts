/**
 * Request-forgery rules of the dashboard. A browser attaches an operator's credentials (session
 * cookie, cached basic-auth credentials) to requests that other pages start, so a credential alone
 * does not prove the operator meant the request. A state-changing request is served only when
 *
 * - its body is `application/json`: HTML forms and "simple" cross-origin fetches cannot send that
 *   type without a CORS preflight, which the dashboard never grants (the login form is the one
 *   exception, and it only ever sets a session for whoever knows the token);
 * - its `Origin`, when sent, is the dashboard's own (scheme, host and port — a sibling port or
 *   subdomain of the same site is another origin);
 * - its `Sec-Fetch-Site`, when sent, is `same-origin`.
 *
 * Clients that send neither header (scripts, curl, Prometheus) are judged by content type and
 * credentials alone; browsers send `Origin` on every POST. Without auth, the dashboard also refuses
 * requests that name a non-loopback `Host`, which is what a DNS-rebinding page would send.
 */
import type { IncomingMessage } from 'node:http';
import { isLoopback } from './http-utils.js';

/** Why a request was refused, for the JSON error body. */
export interface Refusal {
  status: 403 | 415;
  code: 'CROSS_ORIGIN' | 'UNSUPPORTED_MEDIA_TYPE';
  message: string;
}

/** True for methods that never change state here. */
export function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** The first value of a header that proxies may repeat or list (`x-forwarded-proto: https, http`). */
function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const head = text?.split(',')[0]?.trim();
  return head ? head : undefined;
}

/**
 * The origin the client reached: scheme and host as a proxy states them (`X-Forwarded-Proto`,
 * `X-Forwarded-Host`), else the connection's TLS state and `Host`. A forged cross-site request
 * cannot set these headers (forms cannot, and a fetch that tries needs a preflight that fails).
 */
export function ownOrigin(req: IncomingMessage): string | undefined {
  const encrypted = Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted);
  const scheme = first(req.headers['x-forwarded-proto']) ?? (encrypted ? 'https' : 'http');
  const host = first(req.headers['x-forwarded-host']) ?? first(req.headers.host);
  if (!host) return undefined;
  return normalizeOrigin(`${scheme}://${host}`);
}

/** `scheme://host[:port]` with default ports dropped and case folded; undefined when not an origin. */
export function normalizeOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Checks where a state-changing request comes from. Returns the refusal, or undefined when the
 * request may proceed. `extraOrigins` are further origins the dashboard is reachable at (a proxy
 * that rewrites `Host` without stating `X-Forwarded-Host`).
 */
export function crossOriginRefusal(req: IncomingMessage, extraOrigins: readonly string[] = []): Refusal | undefined {
  const site = first(req.headers['sec-fetch-site']);
  if (site !== undefined && site.toLowerCase() !== 'same-origin') {
    return refuse(`Sec-Fetch-Site is ${site}: only the dashboard's own pages may change state`);
  }
  const origin = first(req.headers.origin);
  if (origin === undefined) return undefined;
  const given = normalizeOrigin(origin);
  const own = ownOrigin(req);
  if (given !== undefined && (given === own || extraOrigins.includes(given))) return undefined;
  return refuse(`Origin ${origin} is not the dashboard's own (${own ?? 'unknown'})`);
}

function refuse(message: string): Refusal {
  return { status: 403, code: 'CROSS_ORIGIN', message };
}

/** True when the body is declared `application/json` (parameters and case ignored). */
export function isJsonRequest(req: IncomingMessage): boolean {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  return type === 'application/json';
}

/** The 415 a non-JSON state-changing request gets. */
export const NOT_JSON: Refusal = {
  status: 415,
  code: 'UNSUPPORTED_MEDIA_TYPE',
  message: 'state-changing requests must send Content-Type: application/json',
};

/**
 * True when the `Host` the client asked for is a loopback name or address (or absent, as with
 * HTTP/1.0 clients): what an unauthenticated dashboard requires, so a page whose DNS name was
 * rebound to 127.0.0.1 is still refused.
 */
export function isLoopbackHostHeader(req: IncomingMessage): boolean {
  const host = first(req.headers.host);
  if (host === undefined) return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return isLoopback(hostname) || hostname.endsWith('.localhost');
}
