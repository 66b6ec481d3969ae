/**
 * Dashboard access control over real HTTP: token (bearer, login link, login form), basic auth, the
 * loopback rule without auth, read-only mode, and mounting under a path as express, fastify and
 * plain `node:http` do. Backend-independent, so it runs on memory.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { createDashboardHandler, startDashboardServer } from 'clusterkit/ops';
import { auth, json, TOKEN, useDashboardFixture } from './dashboard-fixture.js';

const f = useDashboardFixture({ name: 'memory' });
const { get } = f;

describe('authentication', () => {
  it('answers 401 without a token: page, API and /metrics', async () => {
    const page = await get('', {});
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('Access token');
    const api = await get('api/overview', {});
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'authentication required' } });
    expect((await get('metrics', {})).status).toBe(401);
    expect((await get('api/overview', { authorization: 'Bearer not-the-token-at-all' })).status).toBe(401);
  });

  it('accepts the bearer token', async () => {
    const res = await get('api/info');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ app: f.app.name, readOnly: false, deadLetterChannels: ['webhooks'] });
  });

  it('a ?token= URL no longer logs in (the token must not live in URLs and history)', async () => {
    const res = await get(`?token=${TOKEN}`, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect((await get(`api/overview?token=${TOKEN}`, {})).status).toBe(401);
  });

  it('a signed login link opens a session once, never contains the token, and expires', async () => {
    const link = f.dash.handler.createLoginLink();
    expect(link).toMatch(/^login\?link=\d+\.[\w-]+\.[\w-]+$/);
    expect(link).not.toContain(TOKEN);
    // Opening it (GET) only shows a confirmation page: link previews cannot spend it.
    const confirm = await get(link, {});
    expect(confirm.status).toBe(200);
    expect(confirm.headers.get('set-cookie')).toBeNull();
    expect(confirm.headers.get('referrer-policy')).toBe('same-origin');
    expect(await confirm.text()).toContain('data-testid="use-link"');
    const value = new URLSearchParams(link.split('?')[1]).get('link')!;
    const use = () =>
      fetch(`${f.dash.url}login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ link: value }).toString(),
        redirect: 'manual',
      });
    const first = await use();
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(
      /^clusterkit_session=\d+\.[\w-]+\.[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    expect(cookie).not.toContain(TOKEN);
    const session = { cookie: cookie.split(';')[0]! };
    expect((await get('api/overview', session)).status).toBe(200);
    expect(await (await get('', session)).text()).toContain('data-testid="totals"');
    // Spent: a second use (a leaked history entry, a replay) is refused.
    const again = await use();
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('expired or was already used');
    expect((await get(link, {})).status).toBe(401);
    // A forged or tampered link is refused; so is an expired one.
    const [expires, nonce, sig] = value.split('.');
    for (const bad of [`${Number(expires) + 1000}.${nonce}.${sig}`, `${expires}.${nonce}x.${sig}`, 'garbage']) {
      expect((await get(`login?link=${bad}`, {})).status, bad).toBe(401);
    }
    const short = f.dash.handler.createLoginLink({ ttlMs: 1 });
    await vi.waitFor(() => expect(Number(short.split('=')[1]!.split('.')[0])).toBeLessThan(Date.now()));
    expect((await get(short, {})).status).toBe(401);
    expect(() => f.dash.handler.createLoginLink({ ttlMs: 25 * 3_600_000 })).toThrow(/at most/);
  });

  it('a session cookie is signed and expires: a forged or stale one is refused', async () => {
    for (const cookie of ['clusterkit_session=1.a.b', `clusterkit_session=${'0'.repeat(64)}`, 'clusterkit_session=']) {
      expect((await get('api/overview', { cookie })).status, cookie).toBe(401);
    }
  });

  it('the login form logs in with the right token only; logout clears the cookie', async () => {
    const form = (token: string) =>
      fetch(`${f.dash.url}login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
        redirect: 'manual',
      });
    const wrong = await form('definitely-not-the-token');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Wrong token.');
    const right = await form(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get('set-cookie')).toContain('clusterkit_session=');
    const out = await fetch(`${f.dash.url}logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      redirect: 'manual',
    });
    expect(out.headers.get('set-cookie')).toMatch(/^clusterkit_session=; Max-Age=0/);
  });

  it('basic auth challenges the browser and accepts the credentials', async () => {
    const basic = await startDashboardServer(f.app, {
      port: 0,
      auth: { basic: { username: 'ops', password: 's3cret' } },
    });
    try {
      const denied = await fetch(basic.url);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Basic realm="clusterkit", charset="UTF-8"');
      const ok = await fetch(basic.url, {
        headers: { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` },
      });
      expect(ok.status).toBe(200);
      const bad = await fetch(basic.url, {
        headers: { authorization: `Basic ${Buffer.from('ops:guess').toString('base64')}` },
      });
      expect(bad.status).toBe(401);
    } finally {
      await basic.close();
    }
  });

  it('without auth: refuses to bind beyond loopback, and answers only loopback requests', async () => {
    await expect(startDashboardServer(f.app, { port: 0, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    const handler = createDashboardHandler(f.app, { metrics: false });
    const server = await listen((req, res) => {
      // Pretend the request came in on a public interface, as it would with host 0.0.0.0.
      if (req.headers['x-test-public'])
        Object.defineProperty(req.socket, 'localAddress', { value: '10.1.2.3', configurable: true });
      handler(req, res);
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      expect((await fetch(`${base}api/info`)).status).toBe(200);
      const publicRes = await fetch(`${base}api/info`, { headers: { 'x-test-public': '1' } });
      expect(publicRes.status).toBe(403);
      expect(((await publicRes.json()) as { error: { code: string } }).error.code).toBe('AUTH_REQUIRED');
    } finally {
      await close(server);
      await handler.close();
    }
  });

  it('refuses a short token and unknown options', () => {
    expect(() => createDashboardHandler(f.app, { auth: { token: 'short' } })).toThrow(/at least 16 characters/);
    expect(() => createDashboardHandler(f.app, { readonly: true } as never)).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_OPTION' }),
    );
  });
});

describe('read-only mode', () => {
  it('serves reads, refuses every action with 403, and marks the page', async () => {
    const ro = await startDashboardServer(f.app, { port: 0, auth: { token: TOKEN }, readOnly: true });
    try {
      expect((await fetch(`${ro.url}api/overview`, { headers: auth })).status).toBe(200);
      for (const path of [
        'api/jobs/x/retry',
        'api/jobs/x/cancel',
        'api/clean',
        'api/queues/pause',
        'api/dead-letters/redrive',
      ]) {
        const res = await fetch(`${ro.url}${path}`, { method: 'POST', headers: json, body: '{}' });
        expect(res.status, path).toBe(403);
      }
      expect(await (await fetch(ro.url, { headers: auth })).text()).toContain('data-testid="read-only"');
    } finally {
      await ro.close();
    }
  });
});

describe('mounting', () => {
  it('works under a path with basePath (plain http, fastify) and hands unknown paths to next()', async () => {
    const handler = createDashboardHandler(f.app, { auth: { token: TOKEN }, basePath: '/ops', metrics: false });
    const server = await listen((req, res) =>
      handler(req, res, () => {
        res.writeHead(418).end('next');
      }),
    );
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const bare = await fetch(`${base}/ops`, { headers: auth, redirect: 'manual' });
      expect(bare.status).toBe(303);
      expect(bare.headers.get('location')).toBe('/ops/');
      expect((await fetch(`${base}/ops/api/info`, { headers: auth })).status).toBe(200);
      const link = new URLSearchParams(handler.createLoginLink().split('?')[1]).get('link')!;
      const login = await fetch(`${base}/ops/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ link }),
        redirect: 'manual',
      });
      expect(login.headers.get('location')).toBe('/ops/');
      expect(login.headers.get('set-cookie')).toContain('Path=/ops;');
      expect((await fetch(`${base}/elsewhere`)).status).toBe(418);
      expect((await fetch(`${base}/ops/nothing-here`, { headers: auth })).status).toBe(418);
    } finally {
      await close(server);
      await handler.close();
    }
  });

  it('works as express middleware (prefix stripped into req.url, originalUrl kept)', async () => {
    const handler = createDashboardHandler(f.app, { auth: { token: TOKEN }, metrics: false });
    const server = await listen((req: IncomingMessage & { originalUrl?: string }, res) => {
      // What `f.app.use('/admin/queues', handler)` does in express.
      if (!req.url!.startsWith('/admin/queues')) return void res.writeHead(404).end();
      req.originalUrl = req.url;
      req.url = req.url!.slice('/admin/queues'.length) || '/';
      handler(req, res);
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const bare = await fetch(`${base}/admin/queues`, { headers: auth, redirect: 'manual' });
      expect(bare.headers.get('location')).toBe('/admin/queues/');
      expect((await fetch(`${base}/admin/queues/`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${base}/admin/queues/api/overview`, { headers: auth })).status).toBe(200);
    } finally {
      await close(server);
      await handler.close();
    }
  });
});

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
