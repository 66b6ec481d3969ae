/**
 * Live refresh that does not fight the operator, paging, phone width and themes, in Chromium: an
 * idle page is not rewritten, a text selection is never lost, rows stay clickable while they
 * change, the list pauses while a job is open (the open job keeps refreshing until it finishes, its
 * attempts table growing in place),
 * page sizes and jump-to-page live in the URL, the page fits a phone, and the theme can be chosen.
 */
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, screenshotDir } from './browser.js';
import { useShop } from './browser-fixture.js';

const IMAGES = screenshotDir();

// Browser globals, used only inside page.evaluate callbacks (which run in the page, not in Node).
declare const window: any, document: any, MutationObserver: any;
declare function getSelection(): any;
declare function getComputedStyle(element: unknown): any;

describe.skipIf(!haveChromium)('dashboard live refresh, paging, phone and themes in Chromium', () => {
  const shop = useShop();
  let page: Page & { dialogs: string[] };
  beforeAll(async () => {
    const more: string[] = [];
    for (let i = 0; i < 30; i++) more.push(await shop.enqueue('mail', 'initech', { to: `bulk${i}@initech.example` }));
    for (const id of more) await shop.waitForState(id, 'completed');
    page = await shop.page();
  });
  afterAll(async () => {
    await page?.context().close();
  });
  const hash = () => decodeURIComponent(new URL(page.url()).hash);
  const isApi = (path: string) => (r: Response) => new URL(r.url()).pathname === `/api/${path}`;
  /** Resolves after `n` more responses of `path` (each refresh fetches it once). */
  async function refreshes(path: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await page.waitForResponse(isApi(path), { timeout: 10_000 });
  }

  it('rewrites nothing while nothing changes', async () => {
    await page.goto(`${shop.dash.url}#/jobs?state=completed`);
    await page.locator('[data-testid=job-row]').first().waitFor();
    await refreshes('jobs', 1);
    await page.evaluate(() => {
      const w = window as unknown as { mutations: number };
      w.mutations = 0;
      new MutationObserver((list: unknown[]) => (w.mutations += list.length)).observe(document.querySelector('main')!, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
    await refreshes('jobs', 3);
    expect(await page.evaluate(() => (window as unknown as { mutations: number }).mutations)).toBe(0);
  });

  it('keeps a text selection: the list waits while the operator selects in it, then catches up', async () => {
    const firstId = (await page.locator('[data-testid=job-row] td').first().textContent())!;
    const select = () =>
      page.evaluate(() => {
        const range = document.createRange();
        range.selectNodeContents(document.querySelector('[data-testid=job-row] td')!);
        getSelection()!.removeAllRanges();
        getSelection()!.addRange(range);
      });
    await select();
    const fresh = await shop.enqueue('mail', 'acme', { to: 'fresh@acme.example' });
    await shop.waitForState(fresh, 'completed');
    await refreshes('jobs', 2);
    expect(await page.evaluate(() => getSelection()!.toString())).toBe(firstId);
    expect(await page.locator(`[data-job-id="${fresh}"]`).count()).toBe(0);
    await page.evaluate(() => getSelection()!.removeAllRanges());
    await page.locator(`[data-job-id="${fresh}"]`).waitFor({ timeout: 10_000 });
  });

  it('drops no click while rows keep changing', async () => {
    let busy = true;
    const churn = (async () => {
      for (let i = 0; busy && i < 200; i++) await shop.enqueue('crm', 'globex', { contactId: 1000 + i });
    })();
    try {
      for (let i = 0; i < 4; i++) {
        const row = page.locator('[data-testid=job-row]').nth(2);
        const id = (await row.getAttribute('data-job-id'))!;
        await row.click();
        await expect.poll(() => page.locator('[data-testid=job-facts] [data-fact=id]').textContent()).toBe(id);
        await page.click('[data-testid=close-detail]');
        await page.locator('[data-testid=job-detail]').waitFor({ state: 'hidden' });
      }
    } finally {
      busy = false;
      await churn;
    }
  });

  it('pauses the list while a job is open, and follows the open job until it finishes', async () => {
    const held = await shop.enqueue('crm', 'acme', { contactId: 7, hold: true });
    await shop.waitForState(held, 'active');
    const seen: string[] = [];
    await page.goto(`${shop.dash.url}#/jobs?state=active&job=${encodeURIComponent(held)}`);
    await page.waitForResponse(isApi(`jobs/${encodeURIComponent(held)}`));
    page.on('response', (r) => seen.push(new URL(r.url()).pathname));
    await refreshes(`jobs/${encodeURIComponent(held)}`, 3);
    expect(seen.filter((p) => p === '/api/overview' || p === '/api/jobs')).toEqual([]);
    expect(await page.locator('[data-testid=live]').textContent()).toContain('paused while a job is open');
    await shop.app.managedQueue.cancel({ jobId: held, abortActive: true });
    await expect
      .poll(() => page.locator('[data-testid=job-state]').textContent(), { timeout: 10_000 })
      .toBe('cancelled');
    await page.click('[data-testid=close-detail]');
    await refreshes('overview', 2);
    expect(await page.locator('[data-testid=live]').textContent()).toBe('● live');
  });

  it('page sizes and jump-to-page, kept in the URL; Back goes to the previous page', async () => {
    await page.goto(`${shop.dash.url}#/jobs?state=completed&plugin=mail`);
    await page.locator('[data-testid=job-row]').first().waitFor();
    await page.selectOption('[data-testid=page-size]', '10');
    await expect.poll(hash).toContain('size=10');
    await expect.poll(() => page.locator('[data-testid=job-row]').count()).toBe(10);
    await page.fill('[data-testid=jump]', '3');
    await page.press('[data-testid=jump]', 'Enter');
    await expect.poll(hash).toContain('page=3');
    await expect.poll(() => page.locator('#page').textContent()).toMatch(/^21–30 of \d+ · page 3 of \d+$/);
    await page.goBack();
    await expect.poll(() => page.locator('#page').textContent()).toMatch(/^1–10 of /);
  });

  it('fits a phone: no sideways scrolling, the job detail takes the screen', async () => {
    const phone = await shop.page({ width: 390, height: 844 });
    try {
      const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await phone.locator('[data-testid=queue-row]').first().waitFor();
      expect(await overflow()).toBeLessThanOrEqual(0);
      await phone.screenshot({ path: `${IMAGES}dashboard-phone.png`, fullPage: true });
      await phone.goto(`${shop.dash.url}#/jobs?state=completed&plugin=mail&exact=1`);
      await phone.locator('[data-testid=job-row]').first().click();
      await phone.locator('[data-testid=attempt-row]').first().waitFor();
      expect(await overflow()).toBeLessThanOrEqual(0);
      const detail = phone.locator('[data-testid=job-detail]');
      expect((await detail.boundingBox())!.width).toBe(390);
      // The attempts table fits too (its start-time column folds away).
      const table = phone.locator('[data-testid=job-attempts] .wrap');
      expect(await table.evaluate((node: any) => node.scrollWidth - node.clientWidth)).toBeLessThanOrEqual(0);
      // As tall as the detail, so the picture shows all of it.
      await phone.setViewportSize({ width: 390, height: await detail.evaluate((node: any) => node.scrollHeight) });
      await phone.screenshot({ path: `${IMAGES}dashboard-phone-job.png` });
    } finally {
      await phone.context().close();
    }
  });

  it('an open job that retries: its attempts and log grow in place, the earlier rows untouched', async () => {
    const id = await shop.enqueue(
      'mail',
      'initech',
      { to: 'flaky@initech.example', failTimes: 2 },
      { attempts: 3, backoffMs: { type: 'fixed', delay: 3_000 } },
    );
    const text = (selector: string) => page.locator(selector).first().textContent();
    await page.goto(`${shop.dash.url}#/jobs?state=all&job=${encodeURIComponent(id)}`);
    const rows = page.locator('[data-testid=attempt-row]');
    // Between attempts: delayed, its last failure shown as one that will be retried.
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 10_000 }).toBe('delayed');
    expect(await text('#d-fail-title')).toBe('Last failure (it will be retried)');
    expect(await text('#d-reason')).toBe('ETIMEDOUT: smtp.example timed out after 30 s');
    await rows.first().evaluate((row: any) => (row.dataset.marked = 'first'));
    await expect.poll(() => text('[data-testid=job-state]'), { timeout: 15_000 }).toBe('completed');
    await expect.poll(() => rows.count()).toBe(3);
    // The first attempt's row is the same element: the table was patched, not rewritten.
    expect(await rows.first().getAttribute('data-marked')).toBe('first');
    const cells = await rows.evaluateAll((trs: any[]) =>
      trs.map((tr) => [
        tr.children[1].textContent,
        (tr.children[5].querySelector('summary') ?? tr.children[5]).textContent,
      ]),
    );
    expect(cells).toEqual([
      ['failed', 'ETIMEDOUT: smtp.example timed out after 30 s'],
      ['failed', 'ETIMEDOUT: smtp.example timed out after 30 s'],
      ['completed', ''],
    ]);
    expect(await text('[data-testid=job-when]')).toMatch(/^completed in .* ago \(attempt 3 of 3\)$/);
    expect(await text('[data-testid=job-logs]')).toBe(
      [
        'connecting to smtp.example for flaky@initech.example',
        'connecting to smtp.example for flaky@initech.example',
        'connecting to smtp.example for flaky@initech.example',
        '250 queued',
      ].join('\n'),
    );
    expect(await page.locator('#d-fail').isVisible()).toBe(false);
  });

  it('has light and dark themes: follows the system, or the choice it remembers', async () => {
    const light = await shop.page({ width: 1280, height: 800 }, 'light');
    try {
      const background = () => light.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(await background()).toBe('rgb(248, 250, 252)');
      await light.locator('[data-testid=perf-row]').first().waitFor();
      await light.screenshot({ path: `${IMAGES}dashboard-light.png`, fullPage: true });
      await light.click('[data-testid=theme]'); // system → light
      await light.click('[data-testid=theme]'); // light → dark
      expect(await light.locator('#theme-name').textContent()).toBe('dark');
      expect(await background()).toBe('rgb(15, 23, 42)');
      await light.reload();
      await light.locator('[data-testid=total-failed]').waitFor();
      expect(await background()).toBe('rgb(15, 23, 42)');
      expect(await light.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    } finally {
      await light.context().close();
    }
  });
});
