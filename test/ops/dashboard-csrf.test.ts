/**
 * The dashboard's request-forgery rules over plain HTTP, header by header: every state-changing
 * request needs `Content-Type: application/json` (415 otherwise) and, when the client says where it
 * comes from, the dashboard's own origin (scheme, host and port: 403 otherwise). Clients that send
 * neither `Origin` nor `Sec-Fetch-Site` (scripts with a bearer token) are judged by content type
 * alone. Forms are parsed only by the login route. Without auth, a request naming a host that is not
 * loopback is refused (DNS rebinding). The browser-level attacks are in dashboard-csrf-browser.test.ts.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startDashboardServer } from 'clusterkit/ops';
import { auth, TOKEN, useDashboardFixture } from './dashboard-fixture.js';

const f = useDashboardFixture({ name: 'memory' });
const QUEUE = { pluginName: 'crm', queueName: 'sync' };

const ACTIONS: [string, unknown][] = [
  ['api/queues/pause', QUEUE],
  ['api/queues/resume', QUEUE],
  ['api/clean', { state: 'completed', olderThan: '1d' }],
  ['api/jobs/retry-failed', {}],
  ['api/jobs/nope/retry', {}],
  ['api/jobs/nope/cancel', {}],
  ['api/dead-letters/redrive', { channel: 'webhooks', ids: ['nope'] }],
  ['api/schedules/nope/remove', {}],
];

function post(path: string, headers: Record<string, string>, body: string) {
  return fetch(`${f.dash.url}${path}`, { method: 'POST', headers: { ...auth, ...headers }, body, redirect: 'manual' });
}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { code?: string } }).error?.code;
}

describe('state-changing requests', () => {
  it('need Content-Type: application/json (415 for forms, text/plain and none), even with a valid token', async () => {
    for (const [path, body] of ACTIONS) {
      const form = await post(
        path,
        { 'content-type': 'application/x-www-form-urlencoded' },
        'pluginName=crm&queueName=sync',
      );
      expect(form.status, path).toBe(415);
      expect(await errorCode(form)).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect((await post(path, { 'content-type': 'text/plain' }, JSON.stringify(body))).status, path).toBe(415);
      expect((await post(path, { 'content-type': 'multipart/form-data; boundary=x' }, '--x--')).status, path).toBe(415);
      expect((await post(path, {}, JSON.stringify(body))).status, path).toBe(415);
    }
    expect(await f.app.managedQueue.isPaused(QUEUE)).toBe(false);
    // Parameters and case do not matter: it is the media type that counts.
    const ok = await post(
      'api/queues/resume',
      { 'content-type': 'Application/JSON; charset=utf-8' },
      JSON.stringify(QUEUE),
    );
    expect(ok.status).toBe(200);
  });

  it('refuse an Origin that is not the dashboard own (other site, other port, other scheme, null)', async () => {
    const own = new URL(f.dash.url);
    const json = { 'content-type': 'application/json' };
    for (const origin of [
      'https://evil.example',
      `http://localhost:${own.port}`,
      `http://127.0.0.1:${Number(own.port) + 1}`,
      `https://127.0.0.1:${own.port}`,
      'null',
    ]) {
      const res = await post('api/queues/pause', { ...json, origin }, JSON.stringify(QUEUE));
      expect(res.status, origin).toBe(403);
      expect(await errorCode(res)).toBe('CROSS_ORIGIN');
    }
    expect(await f.app.managedQueue.isPaused(QUEUE)).toBe(false);
    const same = await post('api/queues/pause', { ...json, origin: own.origin }, JSON.stringify(QUEUE));
    expect(same.status).toBe(200);
    await f.app.managedQueue.resume(QUEUE);
  });

  it('refuse a Sec-Fetch-Site other than same-origin; accept same-origin', async () => {
    const json = { 'content-type': 'application/json' };
    for (const site of ['cross-site', 'same-site', 'none']) {
      const res = await post('api/queues/pause', { ...json, 'sec-fetch-site': site }, JSON.stringify(QUEUE));
      expect(res.status, site).toBe(403);
    }
    expect(await f.app.managedQueue.isPaused(QUEUE)).toBe(false);
    const origin = new URL(f.dash.url).origin;
    const ok = await post(
      'api/queues/pause',
      { ...json, 'sec-fetch-site': 'same-origin', origin },
      JSON.stringify(QUEUE),
    );
    expect(ok.status).toBe(200);
    await f.app.managedQueue.resume(QUEUE);
  });

  it('a script with a bearer token and JSON (no Origin, no Sec-Fetch-Site) is served', async () => {
    const res = await post('api/queues/pause', { 'content-type': 'application/json' }, JSON.stringify(QUEUE));
    expect(res.status).toBe(200);
    expect(await f.app.managedQueue.isPaused(QUEUE)).toBe(true);
    await f.app.managedQueue.resume(QUEUE);
  });

  it('behind a proxy, the origin is the one the proxy states (X-Forwarded-Proto/Host)', async () => {
    const headers = {
      'content-type': 'application/json',
      origin: 'https://ops.example.com',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'ops.example.com',
    };
    expect((await post('api/queues/resume', headers, JSON.stringify(QUEUE))).status).toBe(200);
    expect(
      (await post('api/queues/resume', { ...headers, origin: 'https://evil.example' }, JSON.stringify(QUEUE))).status,
    ).toBe(403);
  });

  it('the login route parses forms but refuses a foreign origin; logout needs JSON and the same origin', async () => {
    const login = (headers: Record<string, string>) =>
      fetch(`${f.dash.url}login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ token: TOKEN }).toString(),
        redirect: 'manual',
      });
    expect((await login({})).status).toBe(303);
    expect((await login({ origin: new URL(f.dash.url).origin, 'sec-fetch-site': 'same-origin' })).status).toBe(303);
    expect((await login({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await login({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const form = await fetch(`${f.dash.url}logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(form.status).toBe(415);
    const out = await fetch(`${f.dash.url}logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      redirect: 'manual',
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^clusterkit_session=; Max-Age=0/);
  });

  it('the page cannot be framed (clickjacking)', async () => {
    const page = await fetch(f.dash.url, { headers: auth });
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('without auth (loopback only)', () => {
  it('refuses a Host that is not loopback, so a DNS-rebound page cannot reach it', async () => {
    const open = await startDashboardServer(f.app, { port: 0, metrics: false });
    try {
      const port = new URL(open.url).port;
      expect((await rawRequest(`${open.url}api/info`, {})).status).toBe(200);
      expect((await rawRequest(`${open.url}api/info`, { host: `localhost:${port}` })).status).toBe(200);
      const rebound = await rawRequest(`${open.url}api/info`, { host: `rebind.evil.example:${port}` });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toContain('AUTH_REQUIRED');
      const action = await rawRequest(
        `${open.url}api/queues/pause`,
        {
          host: `rebind.evil.example:${port}`,
          origin: `http://rebind.evil.example:${port}`,
          'content-type': 'application/json',
        },
        JSON.stringify(QUEUE),
      );
      expect(action.status).toBe(403);
      expect(await f.app.managedQueue.isPaused(QUEUE)).toBe(false);
    } finally {
      await open.close();
    }
  });
});

/** An HTTP request with any `Host` header (fetch always sends the URL's host). */
function rawRequest(
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
