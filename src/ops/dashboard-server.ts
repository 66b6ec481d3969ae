/**
 * A standalone dashboard server (what `clusterkit dashboard` runs): `node:http` around
 * {@link createDashboardHandler}, refusing to bind beyond loopback without auth.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import { createDashboardHandler, type DashboardHandler, type DashboardOptions } from './dashboard-handler.js';
import { isLoopback } from './http-utils.js';
import type { OpsApp } from './types.js';

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions extends DashboardOptions {
  /** TCP port; 0 picks a free one. @default 3900 */
  port?: number;
  /** Interface to bind. Anything but loopback requires `auth`. @default '127.0.0.1' */
  host?: string;
}

/** A running dashboard server. */
export interface DashboardServer {
  readonly server: Server;
  readonly handler: DashboardHandler;
  /** `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  /** An absolute one-time login link (`<url>login?link=…`), see `handler.createLoginLink()`. Needs `auth.token`. */
  loginUrl(options?: { ttlMs?: number }): string;
  /** Stops accepting connections, closes idle ones and the handler's metrics and statistics recorder. */
  close(): Promise<void>;
}

/** Starts the dashboard on its own HTTP server. */
export async function startDashboardServer(
  app: OpsApp,
  options: DashboardServerOptions = {},
): Promise<DashboardServer> {
  const { port = 3900, host = '127.0.0.1', ...handlerOptions } = options;
  if (!handlerOptions.auth?.token && !handlerOptions.auth?.basic && !isLoopback(host)) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `refusing to serve the dashboard on ${host} without auth: set a token or basic credentials, or bind to 127.0.0.1`,
      { details: { option: 'auth' } },
    );
  }
  const handler = createDashboardHandler(app, handlerOptions);
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    handler,
    port: address.port,
    url: `http://${shownHost}:${address.port}/`,
    loginUrl: (linkOptions) => `http://${shownHost}:${address.port}/${handler.createLoginLink(linkOptions)}`,
    close: () =>
      Promise.all([
        handler.close(),
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeIdleConnections();
        }),
      ]).then(() => {}),
  };
}
