/**
 * The token login routes: `GET login` (the form, or the confirmation page of a login link),
 * `POST login` (a token or a login link, as a form or JSON: the one route that parses forms) and
 * `POST logout`. A login link is spent once: on the app's shared store when it has one (so a link
 * works once across every dashboard replica), else in this process.
 */
import type { ServerResponse } from 'node:http';
import { escapeKeyPart } from 'clusterkit/adapter-kit';
import type { DashboardAuthenticator } from './dashboard-auth.js';
import { renderLoginPage } from './dashboard-page.js';
import { readBody, redirect, sendText, type OpsRequest } from './http-utils.js';
import type { OpsApp } from './types.js';

/** One-time use of login links. */
export interface NonceSpender {
  /** Marks `nonce` spent for `ttlMs`; false when it already was. */
  spend(nonce: string, ttlMs: number): Promise<boolean>;
  /** True when `nonce` was spent (and its link has not expired yet). */
  spent(nonce: string): Promise<boolean>;
}

/** Most spent nonces remembered in process (each only until its link expires). */
const MAX_LOCAL_SPENT = 10_000;

/** Spends nonces on the app's store (`<app>:ops:login-link:<nonce>`, SET NX with the link's remaining life), else in memory. */
export function createNonceSpender(app: OpsApp): NonceSpender {
  const local = new Map<string, number>();
  const key = (nonce: string) => `${escapeKeyPart(app.name)}:ops:login-link:${escapeKeyPart(nonce)}`;
  const prune = (now: number) => {
    for (const [n, until] of local) if (until <= now) local.delete(n);
  };
  return {
    async spend(nonce, ttlMs) {
      const store = app.cacheManager?.store;
      if (store) return store.set(key(nonce), '1', { nx: true, ttlMs: Math.max(1, Math.ceil(ttlMs)) });
      const now = Date.now();
      prune(now);
      if (local.has(nonce) || local.size >= MAX_LOCAL_SPENT) return false;
      local.set(nonce, now + ttlMs);
      return true;
    },
    async spent(nonce) {
      const store = app.cacheManager?.store;
      if (store) return (await store.get(key(nonce))) !== undefined;
      prune(Date.now());
      return local.has(nonce);
    },
  };
}

/** What the login routes need from the handler. */
export interface LoginContext {
  readonly auth: DashboardAuthenticator;
  readonly title: string;
  readonly nonces: NonceSpender;
  /** Headers every HTML response carries (CSP, framing, referrer). */
  htmlHeaders(): Record<string, string>;
  /** The `Set-Cookie` value of a new session. */
  sessionCookie(): string;
}

const HTML = 'text/html; charset=utf-8';
const LINK_SPENT = 'This login link has expired or was already used. Ask for a new one, or log in with the token.';

/** Serves `GET/POST login`. `base` is the mount path. */
export async function serveLogin(ctx: LoginContext, req: OpsRequest, res: ServerResponse, base: string): Promise<void> {
  const page = (status: number, error?: string, link?: string) =>
    sendText(res, status, HTML, renderLoginPage(ctx.title, { error, link }), ctx.htmlHeaders());
  if (req.method !== 'POST') {
    const link = new URL(req.url ?? '/', 'http://dashboard.local').searchParams.get('link');
    if (link === null) return page(200);
    // Only a confirmation page here: link previews and prefetchers (which GET) cannot spend it.
    const claim = ctx.auth.verifyLoginLink(link);
    return claim && !(await ctx.nonces.spent(claim.nonce)) ? page(200, undefined, link) : page(401, LINK_SPENT);
  }
  const body = await readBody(req, { form: true });
  if (body.link !== undefined) {
    const claim = ctx.auth.verifyLoginLink(body.link);
    if (!claim || !(await ctx.nonces.spend(claim.nonce, claim.remainingMs))) return page(401, LINK_SPENT);
  } else if (!ctx.auth.checkToken(body.token)) {
    return page(401, 'Wrong token.');
  }
  return redirect(res, `${base}/`, { 'set-cookie': ctx.sessionCookie() });
}
