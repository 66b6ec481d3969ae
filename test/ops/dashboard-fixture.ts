/**
 * A dashboard under test: an app with a `crm/sync/push` handler (failing while `fixed` is false for
 * payloads with `fail: true`), a `webhooks` channel that dead-letters everything, and the dashboard
 * served with a token. Used by the auth and API tests, on memory and on Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { createApp, silentLogger, type App, type ClusterAdapters } from 'clusterkit';
import { startDashboardServer, type DashboardServer } from 'clusterkit/ops';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, redisAnswers } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';

/** The dashboard token of every fixture. */
export const TOKEN = 'dashboard-test-token-42';
/** Bearer header for {@link TOKEN}. */
export const auth = { authorization: `Bearer ${TOKEN}` };
/** Bearer plus JSON content type, for actions. */
export const json = { ...auth, 'content-type': 'application/json' };

/** A backend the fixture can run on. */
export interface Backend {
  name: string;
  adapters?: () => ClusterAdapters;
  cleanup?: () => Promise<void>;
}

/** Memory, plus Redis when it answers (under CI=true an unreachable Redis throws instead). */
export async function backends(): Promise<Backend[]> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const reachable = await redisAnswers(url);
  if (!reachable && process.env.CI === 'true')
    throw new Error(`Redis does not answer at ${url} (CI=true: refusing to skip)`);
  const prefix = randomName('ckdash');
  const redis: Backend = {
    name: 'redis',
    adapters: () => createRedisAdapters({ url, prefix }),
    cleanup: async () => {
      const client = new Redis(url);
      await deletePrefix(client, prefix);
      client.disconnect();
    },
  };
  return reachable ? [{ name: 'memory' }, redis] : [{ name: 'memory' }];
}

/** What a test gets from {@link useDashboardFixture}. */
export interface DashboardFixture {
  readonly app: App;
  readonly dash: DashboardServer;
  /** While false, jobs with `fail: true` fail. */
  fixed: boolean;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, body?: unknown): Promise<Response>;
  enqueue(payload: unknown, extra?: Record<string, unknown>): Promise<{ jobId: string }>;
  waitForState(jobId: string, state: string): Promise<void>;
}

/** Starts the fixture in `beforeAll` and stops it in `afterAll` of the enclosing describe. */
export function useDashboardFixture(backend: Backend): DashboardFixture {
  let app: App | undefined;
  let dash: DashboardServer | undefined;
  const f: DashboardFixture = {
    get app() {
      return app!;
    },
    get dash() {
      return dash!;
    },
    fixed: false,
    get: (path, headers = auth) => fetch(`${dash!.url}${path}`, { headers, redirect: 'manual' }),
    post: (path, body = {}) =>
      fetch(`${dash!.url}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) }),
    enqueue: (payload, extra = {}) =>
      app!.managedQueue.enqueue({
        pluginName: 'crm',
        queueName: 'sync',
        jobName: 'push',
        tenantId: 'acme',
        payload,
        ...extra,
      }),
    waitForState: (jobId, state) =>
      vi.waitFor(async () => expect((await app!.managedQueue.getJob(jobId))?.state).toBe(state), {
        timeout: 10_000,
        interval: 20,
      }),
  };
  beforeAll(async () => {
    app = createApp({
      name: randomName('dash'),
      logger: silentLogger,
      ...(backend.adapters ? { adapters: backend.adapters() } : {}),
    });
    await app.managedQueue.process(
      { pluginName: 'crm', queueName: 'sync', jobName: 'push', concurrency: 4 },
      async (job) => {
        if (job.data.fail && !f.fixed) throw new Error(`crm rejected ${job.data.contact.email}`);
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
  return f;
}
