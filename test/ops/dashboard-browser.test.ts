/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium), as an operator uses
 * it: log in with a one-time link, read the overview (throughput chart, logical queues with one
 * pause per plugin/queue, nodes, dead-letter channels), open a queue's jobs, find a job by id, read
 * a delayed and a failed job in full, act on jobs one by one and in bulk, and read dead letters.
 * Screenshots go to a temp folder, or to docs/images/ with UPDATE_SCREENSHOTS=1.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { haveChromium, screenshotDir } from './browser.js';
import { useShop } from './browser-fixture.js';

const IMAGES = screenshotDir();
const MAIL = { pluginName: 'mail', queueName: 'outbox' };

describe.skipIf(!haveChromium)('dashboard in Chromium', () => {
  const shop = useShop();
  let page: Page & { dialogs: string[] };
  beforeAll(async () => {
    page = await shop.page();
  });
  afterAll(async () => {
    await page?.context().close();
  });
  const hash = () => decodeURIComponent(new URL(page.url()).hash);
  const text = (selector: string) => page.locator(selector).first().textContent();
  /** A screenshot with the window as tall as the open job's detail, so the whole detail is in it. */
  async function detailShot(name: string): Promise<void> {
    const height = await page.locator('[data-testid=job-detail]').evaluate((node) => node.scrollHeight);
    await page.locator('#toast').evaluate((node) => (node.style.display = 'none'));
    await page.setViewportSize({ width: 1280, height: Math.max(800, height) });
    await page.screenshot({ path: `${IMAGES}${name}` });
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  it('answers 401 with the login form; a one-time login link opens a session once', async () => {
    const context = await shop.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const fresh = await context.newPage();
    expect((await fresh.goto(shop.dash.url))?.status()).toBe(401);
    await fresh.locator('#token').waitFor();
    await fresh.screenshot({ path: `${IMAGES}dashboard-login.png` });
    const link = shop.dash.loginUrl();
    await fresh.goto(link);
    await Promise.all([fresh.waitForURL(shop.dash.url), fresh.click('[data-testid=use-link]')]);
    await fresh.locator('[data-testid=total-failed]').waitFor();
    const other = await (await shop.browser.newContext()).newPage();
    expect((await other.goto(link))?.status()).toBe(401);
    expect(await other.textContent('body')).toContain('expired or was already used');
    await other.context().close();
    await context.close();
  });

  it('overview: totals, throughput chart, logical queues by plugin/queue, wait/run times, nodes, dead letters', async () => {
    await expect.poll(() => text('[data-testid=total-failed] b'), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => page.locator('[data-testid=throughput] svg rect.c-completed').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=queue-group]').count()).toBe(2);
    expect(await page.locator('[data-testid=queue-row]').count()).toBe(6);
    const mail = page.locator('[data-testid=queue-group]', { hasText: 'mail / outbox' });
    expect(await mail.textContent()).toContain('Pause all tenants');
    expect(await text('#v-overview .note')).toContain('every tenant');
    expect(await page.locator('[data-testid=perf-row]').count()).toBe(2);
    expect(await text('[data-testid=perf-row]')).toMatch(/\d+(\.\d)? (ms|s) \/ \d/);
    const node = page.locator('[data-testid=node-row]');
    expect(await node.count()).toBe(1);
    expect(await node.textContent()).toContain('mail/outbox/send ×4');
    expect(await node.textContent()).toContain('(this dashboard)');
    const webhooks = page.locator('[data-testid=dead-channel]', { hasText: 'webhooks' });
    expect(await webhooks.textContent()).toContain('2');
    await page.click('#physical-box summary');
    expect(await text('#physical-box .note')).toContain('These counts are tickets, not jobs');
    await page.screenshot({ path: `${IMAGES}dashboard-queues.png`, fullPage: true });
  });

  it('pauses and resumes a plugin/queue for every tenant, saying so first', async () => {
    await page
      .locator('[data-testid=queue-group]', { hasText: 'mail / outbox' })
      .getByText('Pause all tenants')
      .click();
    await vi.waitFor(async () => expect(await shop.app.managedQueue.isPaused(MAIL)).toBe(true));
    expect(page.dialogs.at(-1)).toContain('for EVERY tenant');
    const group = page.locator('[data-testid=queue-group]', { hasText: 'mail / outbox' });
    await expect.poll(() => group.textContent()).toContain('paused');
    await group.getByText('Resume all tenants').click();
    await vi.waitFor(async () => expect(await shop.app.managedQueue.isPaused(MAIL)).toBe(false));
  });

  it('a logical queue row opens its jobs, with tab and filters in the URL; Back returns', async () => {
    await page.locator('[data-testid=queue-row]', { hasText: 'globex' }).first().click();
    await expect.poll(hash).toContain('#/jobs?state=all&plugin=crm&queue=sync&tenant=globex&exact=1');
    await expect.poll(() => page.locator('[data-testid=job-row]').count()).toBe(2);
    for (const row of await page.locator('[data-testid=job-row]').all()) {
      expect(await row.textContent()).toMatch(/crm \/ sync \/ push-contact.*globex/);
    }
    await page.goBack();
    await expect.poll(hash).not.toContain('#/jobs');
    await page.locator('#v-overview').waitFor({ state: 'visible' });
  });

  it('finds a job by its caller id or full id, filters by prefix, and the open job survives a reload', async () => {
    await page.click('#tabs a[data-tab=jobs]');
    await page.fill('[data-testid=search]', 'invoice-1042');
    await page.press('[data-testid=search]', 'Enter');
    await expect.poll(hash).toContain(`job=${shop.ids.failed}`);
    await expect.poll(() => text('[data-testid=job-facts] [data-fact=id]')).toBe(shop.ids.failed);
    await page.reload();
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 10_000 }).toBe('failed');
    await page.click('[data-testid=close-detail]');
    await expect.poll(hash).not.toContain('job=');
    await page.goBack(); // Back reopens the job
    await expect.poll(() => page.locator('[data-testid=job-detail]').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await page.click('[data-testid=state-completed]');
    await page.fill('#f-plugin', 'ma');
    await page.press('#f-plugin', 'Enter');
    await expect.poll(hash).toContain('state=completed&plugin=ma');
    await expect.poll(() => page.locator('[data-testid=job-row]').count()).toBe(6);
    expect(await page.locator('[data-testid=job-row]', { hasText: 'crm' }).count()).toBe(0);
    await page.fill('[data-testid=search]', shop.ids.delayed!);
    await page.press('[data-testid=search]', 'Enter');
    await expect.poll(() => text('[data-testid=job-state]')).toBe('delayed');
  });

  it('a delayed job: when it runs, every option, and Run now', async () => {
    await expect.poll(() => text('[data-testid=job-when]')).toMatch(/^runs in 4[34] min \(at /);
    const facts = (await text('[data-testid=job-facts]'))!;
    for (const fact of [
      'mail:globex:reminder-7',
      '0 of 3 used',
      'exponential from 2.0 s',
      '1 (high)',
      '44 min at enqueue',
      '44 min after enqueue',
    ]) {
      expect(facts).toContain(fact);
    }
    expect(facts).toContain('kept for the retention period');
    await detailShot('dashboard-delayed-job.png');
    await page.click('[data-testid=promote]');
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 15_000 }).toBe('completed');
    expect(await text('[data-testid=job-when]')).toMatch(/^completed in .*ago$/);
  });

  it('a failed job: every attempt with its node, error and stack, the log; a retry completes it and keeps them', async () => {
    await page.goto(`${shop.dash.url}#/jobs?state=failed&job=${encodeURIComponent(shop.ids.failed!)}`);
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 10_000 }).toBe('failed');
    expect(await text('#d-reason')).toBe('550 mailbox unavailable: bounce@acme.example');
    expect(await text('[data-testid=job-stack]')).toContain('Error: 550 mailbox unavailable');
    expect(await text('#d-payload')).toContain('"smtpPassword": "[redacted]"');
    expect(await text('[data-testid=job-facts]')).toContain('2 of 2 used');
    const attempts = page.locator('[data-testid=attempt-row]');
    expect(await attempts.count()).toBe(2);
    for (const [i, row] of (await attempts.all()).entries()) {
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 3)).toEqual([String(i + 1), 'failed', `${shop.app.nodeId.slice(0, 13)} (this dashboard)`]);
      expect(await row.locator('td').nth(2).getAttribute('title')).toBe(shop.app.nodeId);
      expect(cells[5]).toContain('550 mailbox unavailable: bounce@acme.example');
    }
    await attempts.first().locator('[data-testid=attempt-error] summary').click();
    expect(await attempts.first().locator('[data-testid=attempt-error] pre').textContent()).toMatch(
      /^Error: 550 mailbox unavailable: bounce@acme.example\n\s+at /,
    );
    expect(await text('[data-testid=job-logs]')).toBe(
      [1, 2].map(() => 'connecting to smtp.example for bounce@acme.example\nsmtp.example answered 550').join('\n'),
    );
    expect(await text('#d-logs-title')).toBe('Log (4 lines)');
    await detailShot('dashboard-failed-job.png');
    shop.fixed = true;
    await page.click('[data-testid=retry]');
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 15_000 }).toBe('completed');
    expect(await text('#d-return')).toContain(`<${shop.ids.failed}@mail.example>`);
    // The failed attempts stay in the history after the retry succeeded; the failure box is gone.
    await expect.poll(() => attempts.count()).toBe(3);
    const outcomes = await attempts.evaluateAll((rows) => rows.map((r) => r.children[1]!.textContent));
    expect(outcomes).toEqual(['failed', 'failed', 'completed']);
    expect(await attempts.nth(1).locator('[data-testid=attempt-error]').textContent()).toContain('550 mailbox');
    expect(await attempts.nth(2).locator('td').nth(5).textContent()).toBe('');
    expect(await page.locator('#d-fail').isVisible()).toBe(false);
    expect(await text('[data-testid=job-logs]')).toMatch(
      /smtp.example answered 550\nconnecting to smtp.example for bounce@acme.example\n250 queued$/,
    );
    expect(await text('[data-testid=job-when]')).toMatch(/^completed in .*ago$/);
    expect(await text('[data-testid=job-facts] [data-fact=attempts]')).toBe(
      '1 of 2 used since the last retry, 3 in all',
    );
    await detailShot('dashboard-job-completed.png');
  });

  it('aborts a running job, removes it; runs every delayed job now; retries every failed job', async () => {
    const held = await shop.enqueue('crm', 'acme', { contactId: 1, hold: true });
    await shop.waitForState(held, 'active');
    await page.goto(`${shop.dash.url}#/jobs?state=active&job=${encodeURIComponent(held)}`);
    await expect.poll(() => text('[data-testid=job-when]'), { timeout: 10_000 }).toMatch(/^running for .* on shop#/);
    expect(await page.locator('[data-testid=remove]').isDisabled()).toBe(true);
    await page.click('[data-testid=abort]');
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 15_000 }).toBe('cancelled');
    await page.click('[data-testid=remove]');
    await expect.poll(() => page.locator('[data-testid=job-detail]').isVisible()).toBe(false);
    expect(await shop.app.managedQueue.getJob(held)).toBeNull();
    expect(page.dialogs.some((d) => d.startsWith('Abort the running job?'))).toBe(true);

    const later = [
      await shop.enqueue('crm', 'initech', { contactId: 2 }, { delayMs: 3_600_000 }),
      await shop.enqueue('crm', 'initech', { contactId: 3 }, { delayMs: 3_600_000 }),
    ];
    await page.goto(`${shop.dash.url}#/jobs?state=delayed&plugin=crm`);
    await expect.poll(() => page.locator('[data-testid=job-row]').count(), { timeout: 10_000 }).toBe(2);
    await page.click('[data-testid=promote-all]');
    for (const id of later) await shop.waitForState(id, 'completed');

    const failing = [
      await shop.enqueue('crm', 'acme', { contactId: 4, fail: true }),
      await shop.enqueue('crm', 'globex', { contactId: 5, fail: true }),
    ];
    for (const id of failing) await shop.waitForState(id, 'failed');
    await page.click('[data-testid=state-failed]');
    await expect.poll(() => page.locator('[data-testid=job-row]').count(), { timeout: 10_000 }).toBe(2);
    shop.crmFixed = true;
    await page.click('[data-testid=retry-all]');
    for (const id of failing) await shop.waitForState(id, 'completed');
    await expect.poll(() => text('#job-rows'), { timeout: 10_000 }).toContain('no failed jobs');
  });

  it('dead letters: the error stack on click, delete one, redrive', async () => {
    await page.click('#tabs a[data-tab=overview]');
    await page.locator('[data-testid=dead-channel]', { hasText: 'webhooks' }).click();
    await expect.poll(hash).toBe('#/dead?channel=webhooks');
    const rows = page.locator('[data-testid=dead-row]');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    await rows.first().locator('[data-testid=dead-error] summary').click();
    expect(await rows.first().locator('[data-testid=dead-error] pre').textContent()).toContain(
      'Error: POST https://hooks.example/order: 503 Service Unavailable',
    );
    await page.screenshot({ path: `${IMAGES}dashboard-dead-letters.png`, fullPage: true });
    await rows.first().getByText('Delete').click();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    expect((await shop.app.eventQueue.counts('webhooks')).dead).toBe(1);
    await rows.first().getByText('Redrive').click();
    await expect.poll(() => text('#toast')).toBe('redrove 1');
    await page.click('#tabs a[data-tab=schedules]');
    await expect.poll(() => text('#sched-rows'), { timeout: 10_000 }).toContain('0 3 * * *');
  });
});
