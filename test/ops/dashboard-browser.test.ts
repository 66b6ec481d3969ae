/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium): log in with the
 * token, find a failed job, read its failure, click Retry and see it complete. Screenshots of each
 * step go to a temp folder, or to docs/images/ (for docs/operations.md) with UPDATE_SCREENSHOTS=1,
 * so a test run leaves the work tree clean. Under CI=true a missing Chromium fails the run.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, startDashboardServer, type App, type DashboardServer } from 'clusterkit';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IMAGES =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/images/', import.meta.url))
    : join(mkdtempSync(join(tmpdir(), 'ck-screens-')), '/');
const TOKEN = 'browser-test-token-0123456789';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`Chromium not found at ${CHROMIUM} (CI=true: refusing to skip; run .ci/install-chromium.sh)`);
}

describe.skipIf(!haveChromium)('dashboard in Chromium', () => {
  let app: App;
  let dash: DashboardServer;
  let browser: Browser;
  let page: Page;
  let fixed = false;
  let failedJobId = '';

  beforeAll(async () => {
    app = createApp({ name: 'shop', logger: silentLogger });
    await app.managedQueue.process(
      { pluginName: 'mail', queueName: 'outbox', jobName: 'send', concurrency: 2 },
      async (job) => {
        if (job.data.to.startsWith('bounce') && !fixed) throw new Error(`550 mailbox unavailable: ${job.data.to}`);
        await job.progress(100);
        return { messageId: `<${job.id}@mail.example>` };
      },
    );
    await app.managedQueue.process({ pluginName: 'crm', queueName: 'sync', jobName: 'push-contact' }, async () => ({
      synced: true,
    }));
    await app.eventQueue.subscribe('webhooks', {
      maxRetries: 0,
      process: async () => {
        throw new Error('POST https://hooks.example/order: 503 Service Unavailable');
      },
    });
    await app.start();

    const enqueue = (
      pluginName: string,
      queueName: string,
      jobName: string,
      tenantId: string,
      payload: unknown,
      extra = {},
    ) => app.managedQueue.enqueue({ pluginName, queueName, jobName, tenantId, payload, ...extra });
    const done: string[] = [];
    for (const [i, tenant] of ['acme', 'acme', 'globex', 'initech'].entries()) {
      done.push(
        (await enqueue('mail', 'outbox', 'send', tenant, { to: `user${i}@${tenant}.example`, template: 'welcome' }))
          .jobId,
      );
      done.push(
        (await enqueue('crm', 'sync', 'push-contact', tenant, { contactId: 100 + i, apiToken: 'tok_live_123' })).jobId,
      );
    }
    failedJobId = (
      await enqueue('mail', 'outbox', 'send', 'acme', {
        to: 'bounce@acme.example',
        template: 'invoice',
        smtpPassword: 'hunter2',
      })
    ).jobId;
    await enqueue(
      'mail',
      'outbox',
      'send',
      'globex',
      { to: 'later@globex.example', template: 'reminder' },
      { delayMs: 3_600_000 },
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
    await vi.waitFor(
      async () => {
        for (const id of done) expect((await app.managedQueue.getJob(id))?.state).toBe('completed');
        expect((await app.managedQueue.getJob(failedJobId))?.state).toBe('failed');
        expect((await app.eventQueue.counts('webhooks')).dead).toBe(1);
      },
      { timeout: 15_000, interval: 25 },
    );

    dash = await startDashboardServer(app, {
      port: 0,
      auth: { token: TOKEN },
      deadLetterChannels: ['webhooks', 'managed-queue:plugin-jobs'],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    mkdirSync(IMAGES, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await app?.stop();
  });

  it('answers 401 without a token and shows the login form', async () => {
    const response = await page.goto(dash.url);
    expect(response?.status()).toBe(401);
    await page.locator('#token').waitFor();
    await page.screenshot({ path: `${IMAGES}dashboard-login.png` });
    const api = await page.request.get(`${dash.url}api/overview`);
    expect(api.status()).toBe(401);
  });

  it('logs in and shows queues with live counts', async () => {
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(dash.url), page.click('button[type=submit]')]);
    await expect.poll(() => page.locator('[data-testid=total-failed] b').textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => page.locator('[data-testid=queue-row]').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: `${IMAGES}dashboard-queues.png`, fullPage: true });
  });

  it('sees the failed job with its reason and stack, retries it and sees it complete', async () => {
    await page.click('nav button[data-tab=jobs]');
    await page.click('[data-testid=state-failed]');
    const row = page.locator(`[data-testid=job-row][data-job-id="${failedJobId}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('550 mailbox unavailable: bounce@acme.example');
    await row.click();
    const detail = page.locator('[data-testid=job-detail]');
    await detail.waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('[data-testid=job-state]').textContent()).toBe('failed');
    expect(await page.locator('#d-reason').textContent()).toBe('550 mailbox unavailable: bounce@acme.example');
    expect(await page.locator('#d-stack').textContent()).toContain('Error: 550 mailbox unavailable');
    expect(await page.locator('#d-payload').textContent()).toContain('"smtpPassword": "[redacted]"');
    await page.screenshot({ path: `${IMAGES}dashboard-failed-job.png`, fullPage: true });

    fixed = true; // the operator fixed the mailbox; now retry from the page
    await page.click('[data-testid=retry]');
    await expect
      .poll(() => page.locator('[data-testid=job-state]').textContent(), { timeout: 15_000 })
      .toBe('completed');
    expect(await page.locator('#d-return').textContent()).toContain(`<${failedJobId}@mail.example>`);
    expect((await app.managedQueue.getJob(failedJobId))?.state).toBe('completed');
    await page.screenshot({ path: `${IMAGES}dashboard-job-completed.png`, fullPage: true });
  });

  it('shows dead letters and schedules', async () => {
    await page.click('nav button[data-tab=dead]');
    const dead = page.locator('[data-testid=dead-row]');
    await dead.first().waitFor({ timeout: 10_000 });
    expect(await dead.first().textContent()).toContain('503 Service Unavailable');
    await page.screenshot({ path: `${IMAGES}dashboard-dead-letters.png`, fullPage: true });
    await page.click('nav button[data-tab=schedules]');
    await expect.poll(() => page.locator('#sched-rows').textContent(), { timeout: 10_000 }).toContain('0 3 * * *');
  });
});
