/**
 * Cross-site request forgery, tried in a real browser as an attacker would. The dashboard listens
 * on http://127.0.0.1:<port>; an "attacker" page is served by another server, either from another
 * site (http://localhost:<other port>: a different host, so a different site) or from the same site
 * on another port (http://127.0.0.1:<other port>, which browsers treat as same-site: SameSite=Strict
 * cookies are sent). The operator is logged in (token: session cookie; basic: the browser holds the
 * credentials and sends them with every request to the dashboard, as a browser does once asked).
 *
 * Every forged request — an auto-submitted form (urlencoded or text/plain with a JSON-looking body),
 * a cross-origin fetch (no-cors with a simple content type, or CORS with JSON) — must be refused and
 * change nothing; the same actions sent by the dashboard's own page must work.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { startDashboardServer, type DashboardServer } from 'clusterkit/ops';
import { randomName } from '../helpers.js';
import { haveChromium, launchChromium, serve, type TestServer } from './browser.js';

const TOKEN = 'csrf-browser-token-0123456789';
const BASIC = { username: 'ops', password: 'csrf-s3cret' };
const QUEUE = { pluginName: 'crm', queueName: 'sync' };

type Mode = 'token' | 'basic';

describe.skipIf(!haveChromium)('dashboard CSRF in Chromium', () => {
  let browser: Browser;
  let app: App;
  let attacker: TestServer;

  beforeAll(async () => {
    app = createApp({ name: randomName('csrf'), logger: silentLogger });
    await app.managedQueue.process({ ...QUEUE, jobName: 'push', concurrency: 4 }, async () => ({ ok: true }));
    await app.start();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await app.managedQueue.enqueue({ ...QUEUE, jobName: 'push', tenantId: 'acme', payload: { i } })).jobId);
    }
    await vi.waitFor(
      async () => {
        for (const id of ids) expect((await app.managedQueue.getJob(id))?.state).toBe('completed');
      },
      { timeout: 15_000, interval: 25 },
    );
    attacker = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const spec = new URL(req.url ?? '/', 'http://x').searchParams.get('spec');
      res.end(`<!doctype html><title>cute cats</title><p>nothing to see here</p>${spec ? forgedForm(spec) : ''}`);
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await attacker?.close();
    await app?.stop();
  });

  for (const mode of ['token', 'basic'] as Mode[]) {
    describe(`${mode} auth`, () => {
      let dash: DashboardServer;
      let context: BrowserContext;
      let page: Page;
      let origin: string;

      beforeAll(async () => {
        dash = await startDashboardServer(app, {
          port: 0,
          metrics: false,
          auth: mode === 'token' ? { token: TOKEN } : { basic: BASIC },
        });
        origin = new URL(dash.url).origin;
        // Basic: the browser already has the operator's credentials for the dashboard and sends
        // them with every request there, whoever initiates it — which is what makes CSRF possible.
        context = await browser.newContext(
          mode === 'basic' ? { httpCredentials: { ...BASIC, origin, send: 'always' } } : {},
        );
        page = await context.newPage();
        if (mode === 'token') {
          await page.goto(dash.url);
          await page.fill('#token', TOKEN);
          const [login] = await Promise.all([
            page.waitForResponse((r) => r.url() === `${dash.url}login`),
            page.click('button[type=submit]'),
          ]);
          expect(login.status(), await login.text().catch(() => '')).toBe(303);
          await page.locator('[data-testid=totals]').waitFor();
        } else {
          expect((await page.goto(dash.url))?.status()).toBe(200);
        }
      });

      afterAll(async () => {
        await context?.close();
        await dash?.close();
      });

      const completed = async () => (await app.managedQueue.getMetrics()).completed;

      /** Opens the attacker page at `site`, which auto-submits a form to the dashboard; returns its answer. */
      async function forgeForm(site: string, path: string, enctype: string, fields: Record<string, string>) {
        const page = await context.newPage();
        try {
          const spec = Buffer.from(JSON.stringify({ action: `${dash.url}${path}`, enctype, fields })).toString(
            'base64url',
          );
          const [response] = await Promise.all([
            page.waitForResponse((r) => r.url() === `${dash.url}${path}`),
            page.goto(`${site}/forge?spec=${spec}`, { waitUntil: 'commit' }),
          ]);
          await page.waitForURL(`${dash.url}${path}`, { waitUntil: 'load' });
          return response.status();
        } finally {
          await page.close();
        }
      }

      /** From the attacker page at `site`, fetches the dashboard; returns what the network saw (0 = never sent). */
      async function forgeFetch(
        site: string,
        path: string,
        init: { mode: 'cors' | 'no-cors'; type: string; body: string },
      ) {
        const page = await context.newPage();
        await page.goto(`${site}/cats`);
        const seen: number[] = [];
        const onResponse = (r: { url(): string; status(): number; request(): { method(): string } }) => {
          if (r.url() === `${dash.url}${path}` && r.request().method() === 'POST') seen.push(r.status());
        };
        page.on('response', onResponse);
        try {
          await page.evaluate(
            async ({ url, init }) => {
              try {
                await fetch(url, {
                  method: 'POST',
                  mode: init.mode,
                  credentials: 'include',
                  headers: { 'content-type': init.type },
                  body: init.body,
                });
              } catch {
                // a CORS failure: the attacker cannot read the answer, but the request may have been sent
              }
            },
            { url: `${dash.url}${path}`, init },
          );
          // The fetch promise settles after the response arrived, so the listener has seen it (if sent).
          return seen[0] ?? 0;
        } finally {
          await page.close();
        }
      }

      const crossSite = () => `http://localhost:${attacker.port}`;
      const sameSite = () => `http://127.0.0.1:${attacker.port}`;

      it('a cross-site form (urlencoded) cannot pause a queue', async () => {
        const status = await forgeForm(crossSite(), 'api/queues/pause', 'application/x-www-form-urlencoded', QUEUE);
        expect(status).toBe(403);
        expect(await app.managedQueue.isPaused(QUEUE)).toBe(false);
      });

      it('a cross-site text/plain form with a JSON-looking body cannot clean jobs', async () => {
        const before = await completed();
        expect(before).toBeGreaterThan(0);
        const status = await forgeForm(crossSite(), 'api/clean', 'text/plain', {
          '{"state":"completed","olderThan":"0s","pad":"': '"}',
        });
        expect(status).toBe(403);
        expect(await completed()).toBe(before);
      });

      it('a same-site form from another port of the same host cannot pause a queue', async () => {
        const status = await forgeForm(sameSite(), 'api/queues/pause', 'application/x-www-form-urlencoded', QUEUE);
        expect(status).toBe(403);
        expect(await app.managedQueue.isPaused(QUEUE)).toBe(false);
      });

      it('cross-origin fetches (cross-site and same-site) cannot clean or pause', async () => {
        const before = await completed();
        const clean = JSON.stringify({ state: 'completed', olderThan: '0s' });
        for (const site of [crossSite(), sameSite()]) {
          // A "simple" request: the browser sends it without asking (no preflight); only the server can refuse.
          expect(await forgeFetch(site, 'api/clean', { mode: 'no-cors', type: 'text/plain', body: clean }), site).toBe(
            403,
          );
          expect(
            await forgeFetch(site, 'api/queues/pause', {
              mode: 'no-cors',
              type: 'text/plain',
              body: JSON.stringify(QUEUE),
            }),
            site,
          ).toBe(403);
          // JSON needs a CORS preflight, which the dashboard never grants: the POST is never sent.
          expect(
            await forgeFetch(site, 'api/clean', { mode: 'cors', type: 'application/json', body: clean }),
            site,
          ).toBe(0);
        }
        expect(await completed()).toBe(before);
        expect(await app.managedQueue.isPaused(QUEUE)).toBe(false);
      });

      it('the same actions sent by the dashboard page itself work', async () => {
        await page.goto(dash.url);
        const call = (path: string, body: unknown) =>
          page.evaluate(
            async ({ path, body }) => {
              const res = await fetch(path, {
                method: 'POST',
                credentials: 'same-origin',
                headers: { 'content-type': 'application/json', accept: 'application/json' },
                body: JSON.stringify(body),
              });
              return { status: res.status, body: (await res.json()) as unknown };
            },
            { path, body },
          );
        expect(await call('api/queues/pause', QUEUE)).toEqual({ status: 200, body: { ...QUEUE, paused: true } });
        expect(await app.managedQueue.isPaused(QUEUE)).toBe(true);
        expect(await call('api/queues/resume', QUEUE)).toMatchObject({ status: 200, body: { paused: false } });
        expect(await app.managedQueue.isPaused(QUEUE)).toBe(false);
        const before = await completed();
        expect(await call('api/clean', { state: 'completed', olderThan: '0s' })).toEqual({
          status: 200,
          body: { removed: before },
        });
        expect(await completed()).toBe(0);
        // Put the completed jobs back for the other auth mode's run.
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          ids.push((await app.managedQueue.enqueue({ ...QUEUE, jobName: 'push', payload: { again: i } })).jobId);
        }
        await vi.waitFor(async () => expect(await completed()).toBe(3), { timeout: 10_000, interval: 25 });
      });
    });
  }
});

/** The attacker page's script: builds the form described by `spec` (base64url JSON) and submits it on load. */
function forgedForm(spec: string): string {
  const { action, enctype, fields } = JSON.parse(Buffer.from(spec, 'base64url').toString('utf8')) as {
    action: string;
    enctype: string;
    fields: Record<string, string>;
  };
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${attr(name)}" value="${attr(value)}">`)
    .join('');
  return `<form method="post" action="${attr(action)}" enctype="${attr(enctype)}">${inputs}</form><script>document.forms[0].submit()</script>`;
}

function attr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
