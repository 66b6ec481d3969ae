/**
 * A Prometheus endpoint on its own port, for worker nodes (`clusterkit worker --metrics-port`): the
 * per-node job histograms and counters exist only on the node that ran the jobs, so each worker must
 * be scraped, not only the dashboard process. Serves `GET /metrics` and nothing else.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetrics, type MetricsOptions, type OpsMetrics } from './metrics.js';
import type { OpsApp } from './types.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions extends MetricsOptions {
  /** TCP port; 0 picks a free one. @default 9464 */
  port?: number;
  /**
   * Interface to bind. The exposition carries no payloads, only counts and names; bind beyond
   * loopback (e.g. `0.0.0.0` in a pod) when Prometheus scrapes from elsewhere. @default '127.0.0.1'
   */
  host?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly server: Server;
  readonly metrics: OpsMetrics;
  /** `http://host:port/metrics`. */
  readonly url: string;
  readonly port: number;
  /** Stops the listener and the metrics' event listeners. */
  close(): Promise<void>;
}

/** Starts `GET /metrics` for `app` on its own HTTP server. */
export async function startMetricsServer(app: OpsApp, options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const { port = 9464, host = '127.0.0.1', ...metricsOptions } = options;
  const metrics = createMetrics(app, metricsOptions);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    metrics.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? '' : text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    metrics.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    metrics,
    port: address.port,
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
