/**
 * The dashboard handler over real HTTP, on memory and on Redis: authentication (token, login link, login
 * form, basic), the loopback rule, read-only mode, redaction, the JSON API behind every page and
 * action, and mounting under a path as express/fastify/plain http do.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createApp,
  createDashboardHandler,
  silentLogger,
  startDashboardServer,
  type App,
  type ClusterAdapters,
  type DashboardServer,
} from 'clusterkit';
import { Redis } from 'ioredis';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, redisAnswers } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisReachable = await redisAnswers(url);
if (!redisReachable && process.env.CI === 'true')
  throw new Error(`Redis does not answer at ${url} (CI=true: refusing to skip)`);
const redisPrefix = randomName('ckdash');

interface Backend {
  name: string;
  adapters?: () => ClusterAdapters;
  cleanup?: () => Promise<void>;
}

const backends: Backend[] = [
  { name: 'memory' },
  ...(redisReachable
    ? [
        {
          name: 'redis',
          adapters: () => createRedisAdapters({ url, prefix: redisPrefix }),
          cleanup: async () => {
            const client = new Redis(url);
            await deletePrefix(client, redisPrefix);
            client.disconnect();
          },
        },
      ]
    : []),
];

for (const backend of backends) {
  describe(`dashboard on ${backend.name}`, () => {
    const TOKEN = 'dashboard-test-token-42';
    let app: App;
    let dash: DashboardServer;
    let fixed = false;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const json = { ...auth, 'content-type': 'application/json' };

    beforeAll(async () => {
      app = createApp({
        name: randomName('dash'),
        logger: silentLogger,
        ...(backend.adapters ? { adapters: backend.adapters() } : {}),
      });
      await app.managedQueue.process(
        { pluginName: 'crm', queueName: 'sync', jobName: 'push', concurrency: 4 },
        async (job) => {
          if (job.data.fail && !fixed) throw new Error(`crm rejected ${job.data.contact.email}`);
          await job.progress(100);
          return { pushed: job.data.contact.email, apiToken: 'should-not-leak' };
        },
      );
      await app.eventQueue.subscribe('webhooks', {
        maxRetries: 0,
        process: async () => {
          throw new Error('endpoint 503');
        },
      });
      await app.start();
      dash = await startDashboardServer(app, { port: 0, auth: { token: TOKEN }, deadLetterChannels: ['webhooks'] });
    });

    afterAll(async () => {
      await dash?.close();
      await app?.stop();
      await backend.cleanup?.();
    });

    const get = (path: string, headers: Record<string, string> = auth) =>
      fetch(`${dash.url}${path}`, { headers, redirect: 'manual' });
    const post = (path: string, body: unknown = {}) =>
      fetch(`${dash.url}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
    const enqueue = (payload: unknown, extra: Record<string, unknown> = {}) =>
      app.managedQueue.enqueue({
        pluginName: 'crm',
        queueName: 'sync',
        jobName: 'push',
        tenantId: 'acme',
        payload,
        ...extra,
      });
    const waitForState = (jobId: string, state: string) =>
      vi.waitFor(async () => expect((await app.managedQueue.getJob(jobId))?.state).toBe(state), {
        timeout: 10_000,
        interval: 20,
      });

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
        expect(await res.json()).toMatchObject({ app: app.name, readOnly: false, deadLetterChannels: ['webhooks'] });
      });

      it('a ?token= link sets a session cookie and strips the token from the URL', async () => {
        const res = await get(`?token=${TOKEN}`, {});
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe('/');
        const cookie = res.headers.get('set-cookie')!;
        expect(cookie).toMatch(/^clusterkit_session=[0-9a-f]{64}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
        expect(cookie).not.toContain(TOKEN);
        const session = { cookie: cookie.split(';')[0]! };
        expect((await get('api/overview', session)).status).toBe(200);
        const page = await get('', session);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('data-testid="totals"');
      });

      it('the login form logs in with the right token only; logout clears the cookie', async () => {
        const form = (token: string) =>
          fetch(`${dash.url}login`, {
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
        const out = await fetch(`${dash.url}logout`, { method: 'POST', redirect: 'manual' });
        expect(out.headers.get('set-cookie')).toMatch(/^clusterkit_session=; Max-Age=0/);
      });

      it('basic auth challenges the browser and accepts the credentials', async () => {
        const basic = await startDashboardServer(app, {
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
        await expect(startDashboardServer(app, { port: 0, host: '0.0.0.0' })).rejects.toMatchObject({
          code: 'INVALID_OPTION',
        });
        const handler = createDashboardHandler(app, { metrics: false });
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
        }
      });

      it('refuses a short token and unknown options', () => {
        expect(() => createDashboardHandler(app, { auth: { token: 'short' } })).toThrow(/at least 16 characters/);
        expect(() => createDashboardHandler(app, { readonly: true } as never)).toThrow(
          expect.objectContaining({ code: 'UNKNOWN_OPTION' }),
        );
      });
    });

    describe('JSON API', () => {
      it('lists jobs by state with paging, and shows a job with redacted payload, failure and timestamps', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++)
          ids.push((await enqueue({ contact: { email: `p${i}@acme.test`, password: 'pw' } })).jobId);
        for (const id of ids) await waitForState(id, 'completed');
        const page1 = (await (await get('api/jobs?state=completed&limit=2&offset=0&plugin=crm')).json()) as {
          jobs: unknown[];
          total: number;
        };
        const page3 = (await (await get('api/jobs?state=completed&limit=2&offset=4&plugin=crm')).json()) as {
          jobs: unknown[];
          total: number;
        };
        expect(page1.total).toBe(5);
        expect(page1.jobs).toHaveLength(2);
        expect(page3.jobs).toHaveLength(1);

        const { jobId } = await enqueue({
          contact: { email: 'bad@acme.test', password: 'hunter2', nested: [{ Token: 'abc' }] },
          fail: true,
        });
        await waitForState(jobId, 'failed');
        const job = (await (await get(`api/jobs/${encodeURIComponent(jobId)}`)).json()) as Record<string, any>;
        expect(job).toMatchObject({
          id: jobId,
          state: 'failed',
          tenantId: 'acme',
          attemptsMade: 1,
          failedReason: 'crm rejected bad@acme.test',
          payload: {
            contact: { email: 'bad@acme.test', password: '[redacted]', nested: [{ Token: '[redacted]' }] },
            fail: true,
          },
        });
        expect(job.stacktrace.join('\n')).toContain('crm rejected');
        expect(job.timestamps.enqueuedAt).toBeTypeOf('number');
        expect(job.timestamps.finishedAt).toBeTypeOf('number');

        // Retry from the API completes it once the cause is fixed; the return value is redacted too.
        fixed = true;
        try {
          expect(await (await post(`api/jobs/${encodeURIComponent(jobId)}/retry`)).json()).toEqual({ success: true });
          await waitForState(jobId, 'completed');
        } finally {
          fixed = false;
        }
        const done = (await (await get(`api/jobs/${encodeURIComponent(jobId)}`)).json()) as Record<string, any>;
        expect(done.returnValue).toEqual({ pushed: 'bad@acme.test', apiToken: '[redacted]' });
      });

      it('404 for an unknown job, 400 for a bad state or page size, 405 for a wrong method', async () => {
        expect((await get('api/jobs/nope')).status).toBe(404);
        expect((await get('api/jobs?state=sleeping')).status).toBe(400);
        expect((await get('api/jobs?limit=0')).status).toBe(400);
        expect((await get('api/jobs/x/retry')).status).toBe(405);
        expect((await get('api/unknown')).status).toBe(404);
      });

      it('cancels a delayed job, retries all failed, pauses and resumes a queue, cleans old jobs', async () => {
        const { jobId: delayed } = await enqueue({ contact: { email: 'later@acme.test' } }, { delayMs: 3_600_000 });
        expect(await (await post(`api/jobs/${encodeURIComponent(delayed)}/cancel`)).json()).toEqual({ success: true });
        expect((await app.managedQueue.getJob(delayed))?.state).toBe('cancelled');

        const failing = [
          await enqueue({ contact: { email: 'f1@acme.test' }, fail: true }),
          await enqueue({ contact: { email: 'f2@acme.test' }, fail: true }),
        ];
        for (const { jobId } of failing) await waitForState(jobId, 'failed');
        fixed = true;
        try {
          expect(await (await post('api/jobs/retry-failed', { pluginName: 'crm' })).json()).toEqual({ retried: 2 });
          for (const { jobId } of failing) await waitForState(jobId, 'completed');
        } finally {
          fixed = false;
        }

        expect(await (await post('api/queues/pause', { pluginName: 'crm', queueName: 'sync' })).json()).toEqual({
          pluginName: 'crm',
          queueName: 'sync',
          paused: true,
        });
        const overview = (await (await get('api/overview')).json()) as {
          queues: { paused: boolean }[];
          physical: { channel: string }[];
        };
        expect(overview.queues.every((q) => q.paused)).toBe(true);
        expect(overview.physical.map((p) => p.channel)).toEqual(['webhooks']);
        expect(
          (await (await post('api/queues/resume', { pluginName: 'crm', queueName: 'sync' })).json()) as object,
        ).toMatchObject({ paused: false });

        const completed = (await app.managedQueue.getMetrics()).completed;
        expect(completed).toBeGreaterThan(0);
        expect(await (await post('api/clean', { state: 'completed', olderThan: '0s' })).json()).toEqual({
          removed: completed,
        });
        expect((await post('api/clean', { state: 'active', olderThan: '1d' })).status).toBe(400);
      });

      it('lists and redrives dead letters, lists and removes schedules', async () => {
        await app.eventQueue.publish('webhooks', { url: 'https://example.test/hook', secret: 'shh' });
        await vi.waitFor(async () => expect((await app.eventQueue.counts('webhooks')).dead).toBe(1), {
          timeout: 10_000,
          interval: 20,
        });
        const dead = (await (await get('api/dead-letters')).json()) as {
          channel: string;
          deadLetters: { id: string; message: unknown; error: { message: string } }[];
        };
        expect(dead.channel).toBe('webhooks');
        expect(dead.deadLetters).toHaveLength(1);
        expect(dead.deadLetters[0]).toMatchObject({
          message: { url: 'https://example.test/hook', secret: '[redacted]' },
          error: { message: 'endpoint 503' },
        });
        expect(
          await (
            await post('api/dead-letters/redrive', { channel: 'webhooks', ids: [dead.deadLetters[0]!.id] })
          ).json(),
        ).toEqual({
          channel: 'webhooks',
          count: 1,
        });
        await vi.waitFor(async () => expect((await app.eventQueue.counts('webhooks')).dead).toBe(1), {
          timeout: 10_000,
          interval: 20,
        });
        expect(await (await post('api/dead-letters/delete', { channel: 'webhooks' })).json()).toEqual({
          channel: 'webhooks',
          count: 1,
        });

        const { scheduleId } = await app.managedQueue.schedule({
          pluginName: 'crm',
          queueName: 'sync',
          jobName: 'push',
          everyMs: 86_400_000,
          tenantId: 'acme',
          payload: { contact: { email: 'daily@acme.test' } },
        });
        const listed = (await (await get('api/schedules')).json()) as { schedules: { scheduleId: string }[] };
        expect(listed.schedules.map((s) => s.scheduleId)).toContain(scheduleId);
        expect(await (await post(`api/schedules/${encodeURIComponent(scheduleId)}/remove`)).json()).toEqual({
          removed: true,
        });
        expect(await app.managedQueue.listSchedules()).toEqual([]);
      });
    });

    describe('read-only mode', () => {
      it('serves reads, refuses every action with 403, and marks the page', async () => {
        const ro = await startDashboardServer(app, { port: 0, auth: { token: TOKEN }, readOnly: true });
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
        const handler = createDashboardHandler(app, { auth: { token: TOKEN }, basePath: '/ops', metrics: false });
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
          const login = await fetch(`${base}/ops/?token=${TOKEN}`, { redirect: 'manual' });
          expect(login.headers.get('set-cookie')).toContain('Path=/ops;');
          expect((await fetch(`${base}/elsewhere`)).status).toBe(418);
          expect((await fetch(`${base}/ops/nothing-here`, { headers: auth })).status).toBe(418);
        } finally {
          await close(server);
        }
      });

      it('works as express middleware (prefix stripped into req.url, originalUrl kept)', async () => {
        const handler = createDashboardHandler(app, { auth: { token: TOKEN }, metrics: false });
        const server = await listen((req: IncomingMessage & { originalUrl?: string }, res) => {
          // What `app.use('/admin/queues', handler)` does in express.
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
        }
      });
    });
  });
}

function listen(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
