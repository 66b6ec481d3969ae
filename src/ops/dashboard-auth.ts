/**
 * Dashboard authentication: a bearer token (header, `?token=` login link or the login form, which
 * set a session cookie) and/or HTTP basic auth. Secrets are compared in constant time; the cookie
 * holds an HMAC derived from the token, never the token itself.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ClusterError, ErrorCodes } from '../errors.js';
import { parseCookies } from './http-utils.js';

/** How operators prove who they are. Give `token`, `basic`, or both. */
export interface DashboardAuthOptions {
  /**
   * Shared secret: send it as `Authorization: Bearer <token>`, open the dashboard with `?token=<token>`
   * once, or type it into the login form (both set a session cookie). At least 16 characters.
   */
  token?: string;
  /** HTTP basic auth credentials (the browser asks for them). */
  basic?: { username: string; password: string };
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'clusterkit_session';

/** Lifetime of the session cookie, in ms. */
export const SESSION_MAX_AGE_MS = 12 * 3_600_000;

/** Checks requests against configured credentials. */
export interface DashboardAuthenticator {
  /** False when no credentials are configured. */
  readonly enabled: boolean;
  /** Token login (form and `?token=`) is available. */
  readonly tokenLogin: boolean;
  /** Basic auth is configured: a 401 asks the browser for credentials. */
  readonly basic: boolean;
  /** True when the request carries a valid bearer token, session cookie or basic credentials. */
  isAuthenticated(req: IncomingMessage): boolean;
  /** True when `token` is the configured token. */
  checkToken(token: unknown): boolean;
  /** The session cookie value that {@link isAuthenticated} accepts. */
  readonly sessionValue: string;
}

/** Validates auth options and builds the checker. */
export function createAuthenticator(options: DashboardAuthOptions | undefined): DashboardAuthenticator {
  const token = options?.token;
  const basic = options?.basic;
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      'dashboard auth.token must be a string of at least 16 characters',
      {
        details: { option: 'auth.token' },
      },
    );
  }
  if (basic !== undefined && (!basic || !basic.username || !basic.password || typeof basic.password !== 'string')) {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, 'dashboard auth.basic needs a username and a password', {
      details: { option: 'auth.basic' },
    });
  }
  // Hashing both sides first makes the comparison length-independent and constant-time.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const same = (a: string, b: Buffer) => timingSafeEqual(digest(a), b);
  const tokenDigest = token ? digest(token) : undefined;
  const basicDigest = basic ? digest(`${basic.username}:${basic.password}`) : undefined;
  const sessionValue = token ? createHmac('sha256', token).update('clusterkit-dashboard-session').digest('hex') : '';
  const sessionDigest = token ? digest(sessionValue) : undefined;

  const checkToken = (candidate: unknown) =>
    tokenDigest !== undefined && typeof candidate === 'string' && same(candidate, tokenDigest);

  return {
    enabled: Boolean(token || basic),
    tokenLogin: Boolean(token),
    basic: Boolean(basic),
    sessionValue,
    checkToken,
    isAuthenticated(req) {
      const header = String(req.headers.authorization ?? '');
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (scheme === 'bearer' && checkToken(value)) return true;
      if (scheme === 'basic' && basicDigest) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        if (same(decoded, basicDigest)) return true;
      }
      const cookie = parseCookies(req)[SESSION_COOKIE];
      return sessionDigest !== undefined && cookie !== undefined && same(cookie, sessionDigest);
    },
  };
}
