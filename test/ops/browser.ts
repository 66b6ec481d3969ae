/**
 * Debian's Chromium driven by playwright-core, for the dashboard browser tests. Under CI=true a
 * missing Chromium fails the run (`.ci/install-chromium.sh` installs it); locally the tests skip.
 * Screenshots go to a temp folder, or to docs/images/ with UPDATE_SCREENSHOTS=1.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** Where Chromium lives. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** True when Chromium is installed (else the browser tests skip, or fail under CI=true). */
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`Chromium not found at ${CHROMIUM} (CI=true: refusing to skip; run .ci/install-chromium.sh)`);
}

/** The folder screenshots go to (ends with `/`). */
export function screenshotDir(): string {
  const dir =
    process.env.UPDATE_SCREENSHOTS === '1'
      ? fileURLToPath(new URL('../../docs/images/', import.meta.url))
      : join(mkdtempSync(join(tmpdir(), 'ck-screens-')), '/');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Launches headless Chromium with the flags a shared, offline CI machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A plain HTTP server on 127.0.0.1 and a free port. */
export interface TestServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 (port 0 picks a free one). */
export async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
