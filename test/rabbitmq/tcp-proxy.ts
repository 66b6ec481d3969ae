/**
 * A loopback TCP proxy in front of the broker, so a test can make RabbitMQ unreachable for as long
 * as it likes (`cut()`: drop every connection and refuse new ones; `restore()`: accept again)
 * without stopping the broker that other test files share.
 */
import net from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** The local port clients connect to. */
  readonly port: number;
  /** Rewrites an `amqp://` URL to go through the proxy. */
  url(target: string): string;
  /** Drops every open connection and stops accepting (the broker looks down). */
  cut(): Promise<void>;
  /** Stops forwarding bytes without closing anything (a stalled network or a blocked broker). */
  freeze(): void;
  /** Forwards again after {@link TcpProxy.freeze}. */
  thaw(): void;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy to `host:port` on a random local port. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const make = () =>
    net.createServer((client) => {
      const upstream = net.connect(port, host);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      pairs.add(client);
      client.pipe(upstream).pipe(client);
      if (frozen) client.pause();
    });
  const pairs = new Set<net.Socket>();
  let frozen = false;
  let server = make();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = (server.address() as net.AddressInfo).port;
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port: local,
    url(target) {
      const u = new URL(target);
      u.hostname = '127.0.0.1';
      u.port = String(local);
      return u.toString();
    },
    cut: stop,
    freeze() {
      frozen = true;
      for (const client of pairs) client.pause();
    },
    thaw() {
      frozen = false;
      for (const client of pairs) client.resume();
    },
    async restore() {
      server = make();
      await new Promise<void>((resolve) => server.listen(local, '127.0.0.1', resolve));
    },
    async close() {
      if (server.listening) await stop();
    },
  };
}
