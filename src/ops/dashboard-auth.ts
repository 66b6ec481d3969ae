/**
 * Dashboard authentication: a bearer token (header, login form, or a signed one-time login link,
 * each of which sets a session cookie) and/or HTTP basic auth. Secrets are compared in constant
 * time. Sessions and login links are `<expiry>.<nonce>.<signature>`: an HMAC under a key derived
 * from the token, so they expire on their own, never contain the token, and all stop working when
 * the token is changed.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import { parseCookies } from './http-utils.js';

/** How operators prove who they are. Give `token`, `basic`, or both. */
export interface DashboardAuthOptions {
  /**
   * Shared secret: send it as `Authorization: Bearer <token>`, type it into the login form, or open
   * a one-time login link made from it (`createLoginLink()`); the form and the link set a session
   * cookie. At least 16 characters.
   */
  token?: string;
  /** HTTP basic auth credentials (the browser asks for them). */
  basic?: { username: string; password: string };
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'clusterkit_session';

/** Lifetime of a session, in ms (the cookie's Max-Age and the signed expiry). */
export const SESSION_MAX_AGE_MS = 12 * 3_600_000;

/** Default lifetime of a login link, in ms. */
export const LOGIN_LINK_TTL_MS = 10 * 60_000;

/** Longest lifetime a login link may be given, in ms. */
export const MAX_LOGIN_LINK_TTL_MS = 24 * 3_600_000;

/** A verified login link: its nonce (to spend once) and how long it has left. */
export interface LoginLinkClaim {
  readonly nonce: string;
  readonly remainingMs: number;
}

/** Checks requests against configured credentials. */
export interface DashboardAuthenticator {
  /** False when no credentials are configured. */
  readonly enabled: boolean;
  /** Token login (form and login links) is available. */
  readonly tokenLogin: boolean;
  /** Basic auth is configured: a 401 asks the browser for credentials. */
  readonly basic: boolean;
  /** True when the request carries a valid bearer token, session cookie or basic credentials. */
  isAuthenticated(req: IncomingMessage): boolean;
  /** True when `token` is the configured token. */
  checkToken(token: unknown): boolean;
  /** A new signed session value, valid for {@link SESSION_MAX_AGE_MS}. */
  newSession(): string;
  /** A new signed login link value (the `link` query parameter), valid for `ttlMs`. */
  newLoginLink(ttlMs: number): string;
  /** Verifies a login link's signature and expiry (not whether it was spent). */
  verifyLoginLink(value: unknown): LoginLinkClaim | undefined;
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
  const sessions = token ? signer(token, 'clusterkit-dashboard-session-v2') : undefined;
  const links = token ? signer(token, 'clusterkit-dashboard-login-link-v1') : undefined;

  const checkToken = (candidate: unknown) =>
    tokenDigest !== undefined && typeof candidate === 'string' && same(candidate, tokenDigest);
  const needToken = (what: string): never => {
    throw new ClusterError(ErrorCodes.INVALID_STATE, `${what} needs auth.token`);
  };

  return {
    enabled: Boolean(token || basic),
    tokenLogin: Boolean(token),
    basic: Boolean(basic),
    checkToken,
    newSession: () => (sessions ?? needToken('a session')).sign(SESSION_MAX_AGE_MS),
    newLoginLink: (ttlMs) => (links ?? needToken('a login link')).sign(ttlMs),
    verifyLoginLink: (value) => links?.verify(value),
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
      return sessions !== undefined && sessions.verify(cookie) !== undefined;
    },
  };
}

/** Signs and verifies `<expiresAt>.<nonce>.<hmac>` values under a key derived from `secret` for one purpose. */
function signer(secret: string, purpose: string) {
  const key = createHmac('sha256', secret).update(purpose).digest();
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    sign(ttlMs: number): string {
      const body = `${Date.now() + ttlMs}.${randomBytes(16).toString('base64url')}`;
      return `${body}.${mac(body)}`;
    },
    verify(value: unknown): LoginLinkClaim | undefined {
      if (typeof value !== 'string' || value.length > 200) return undefined;
      const parts = value.split('.');
      if (parts.length !== 3) return undefined;
      const [expires, nonce, signature] = parts as [string, string, string];
      const expected = Buffer.from(mac(`${expires}.${nonce}`));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const remainingMs = Number(expires) - Date.now();
      return Number.isFinite(remainingMs) && remainingMs > 0 ? { nonce, remainingMs } : undefined;
    },
  };
}
