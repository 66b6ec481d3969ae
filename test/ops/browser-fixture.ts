/**
 * The shop the browser tests look at: an app (memory adapters) with a `mail/outbox/send` handler
 * (logs what it does; fails for `bounce…` addresses until `fixed`, times out `failTimes` times), a `crm/sync/push-contact` handler (fails with
 * `fail: true` until `crmFixed`, holds `hold: true` jobs until aborted), jobs of three tenants in
 * every state, a webhooks channel whose messages all dead-letter, a schedule, job statistics, and
 * the dashboard served with a token. Logs in a fresh browser page with a one-time login link.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import {
  createJobStatsRecorder,
  startDashboardServer,
  type DashboardServer,
  type JobStatsRecorder,
} from 'clusterkit/ops';
import { launchChromium } from './browser.js';

/** What a browser test gets. */
export interface Shop {
  readonly app: App;
  readonly dash: DashboardServer;
  readonly browser: Browser;
  /** Job ids by name: `failed` (mail:acme:invoice-1042), `delayed` (mail:globex:reminder-7). */
  readonly ids: Record<string, string>;
  /** While false, mail to `bounce…` fails. */
  fixed: boolean;
  /** While false, crm jobs with `fail: true` fail. */
  crmFixed: boolean;
  enqueue(plugin: 'mail' | 'crm', tenant: string, payload: object, extra?: object): Promise<string>;
  waitForState(jobId: string, state: string): Promise<void>;
  /** A logged-in page (viewport 1280×800 unless given); dialogs are accepted and their texts kept in `dialogs`. */
  page(
    viewport?: { width: number; height: number },
    colorScheme?: 'light' | 'dark',
  ): Promise<Page & { dialogs: string[] }>;
  /** Writes the recorded statistics now (instead of waiting for the flush interval). */
  flushStats(): Promise<void>;
}

const TOKEN = 'browser-test-token-0123456789';

/** Starts the shop in `beforeAll` and stops it in `afterAll`. */
export function useShop(): Shop {
  let app: App;
  let dash: DashboardServer;
  let browser: Browser;
  let stats: JobStatsRecorder;
  const shop = {
    get app() {
      return app;
    },
    get dash() {
      return dash;
    },
    get browser() {
      return browser;
    },
    ids: {} as Record<string, string>,
    fixed: false,
    crmFixed: false,
    enqueue: async (plugin, tenant, payload, extra = {}) =>
      (
        await app.managedQueue.enqueue({
          pluginName: plugin,
          queueName: plugin === 'mail' ? 'outbox' : 'sync',
          jobName: plugin === 'mail' ? 'send' : 'push-contact',
          tenantId: tenant,
          payload,
          ...extra,
        })
      ).jobId,
    waitForState: (jobId, state) =>
      vi.waitFor(async () => expect((await app.managedQueue.getJob(jobId))?.state).toBe(state), {
        timeout: 15_000,
        interval: 25,
      }),
    async page(viewport = { width: 1280, height: 800 }, colorScheme = 'dark') {
      const context = await browser.newContext({ viewport, colorScheme });
      const page = Object.assign(await context.newPage(), { dialogs: [] as string[] });
      page.on('dialog', (dialog) => {
        page.dialogs.push(dialog.message());
        void dialog.accept();
      });
      await page.goto(dash.loginUrl());
      await Promise.all([page.waitForURL(dash.url), page.click('[data-testid=use-link]')]);
      await page.locator('[data-testid=total-failed]').waitFor();
      return page;
    },
    flushStats: () => stats.flush(),
  } satisfies Shop as Shop;

  beforeAll(async () => {
    app = createApp({ name: 'shop', logger: silentLogger });
    await app.managedQueue.process(
      { pluginName: 'mail', queueName: 'outbox', jobName: 'send', concurrency: 4 },
      async (job) => {
        await job.log(`connecting to smtp.example for ${job.data.to}`);
        if (job.data.to.startsWith('bounce') && !shop.fixed) {
          await job.log('smtp.example answered 550');
          throw new Error(`550 mailbox unavailable: ${job.data.to}`);
        }
        // `failTimes`: a flaky send that times out on its first attempts, then goes through.
        if ((job.data.failTimes ?? 0) > job.attemptsMade) {
          throw Object.assign(new Error('smtp.example timed out after 30 s'), { code: 'ETIMEDOUT' });
        }
        await job.progress(100);
        await job.log('250 queued');
        return { messageId: `<${job.id}@mail.example>` };
      },
    );
    await app.managedQueue.process(
      { pluginName: 'crm', queueName: 'sync', jobName: 'push-contact', concurrency: 4 },
      async (job) => {
        if (job.data.fail && !shop.crmFixed) throw new Error(`crm rejected contact ${job.data.contactId}`);
        if (job.data.hold) {
          await new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason)));
        }
        return { synced: true };
      },
    );
    await app.eventQueue.subscribe('webhooks', {
      maxRetries: 0,
      process: async () => {
        throw new Error('POST https://hooks.example/order: 503 Service Unavailable');
      },
    });
    await app.start();
    stats = createJobStatsRecorder(app);

    const done: string[] = [];
    for (const [i, tenant] of ['acme', 'acme', 'globex', 'initech', 'globex', 'acme'].entries()) {
      done.push(await shop.enqueue('mail', tenant, { to: `user${i}@${tenant}.example`, template: 'welcome' }));
      done.push(await shop.enqueue('crm', tenant, { contactId: 100 + i, apiToken: 'tok_live_123' }));
    }
    shop.ids.failed = await shop.enqueue(
      'mail',
      'acme',
      { to: 'bounce@acme.example', template: 'invoice', smtpPassword: 'hunter2' },
      { jobId: 'invoice-1042', attempts: 2, backoffMs: 0 },
    );
    shop.ids.delayed = await shop.enqueue(
      'mail',
      'globex',
      { to: 'later@globex.example', template: 'reminder' },
      {
        jobId: 'reminder-7',
        delayMs: 44 * 60_000,
        priority: 1,
        attempts: 3,
        backoffMs: { type: 'exponential', delay: 2_000 },
      },
    );
    await app.managedQueue.schedule({
      pluginName: 'crm',
      queueName: 'sync',
      jobName: 'push-contact',
      cron: '0 3 * * *',
      tenantId: 'acme',
      payload: { full: true },
    });
    await app.eventQueue.publish('webhooks', { orderId: 4711, url: 'https://hooks.example/order' });
    await app.eventQueue.publish('webhooks', { orderId: 4712, url: 'https://hooks.example/order' });
    await vi.waitFor(
      async () => {
        for (const id of done) expect((await app.managedQueue.getJob(id))?.state).toBe('completed');
        expect((await app.managedQueue.getJob(shop.ids.failed!))?.state).toBe('failed');
        expect((await app.eventQueue.counts('webhooks')).dead).toBe(2);
      },
      { timeout: 15_000, interval: 25 },
    );
    await stats.flush();
    dash = await startDashboardServer(app, {
      port: 0,
      auth: { token: TOKEN },
      deadLetterChannels: ['managed-queue:plugin-jobs', 'webhooks'],
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await stats?.close();
    await app?.stop();
  });
  return shop;
}
