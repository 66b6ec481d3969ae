/**
 * A loopback TCP proxy in front of the broker, so a test can break the network between one client
 * and RabbitMQ without touching the broker that other test files share:
 *
 * - `cut()`: drop every link and refuse new ones (the broker looks down); `restore()` accepts again;
 * - `drop()`: drop every link but keep accepting (a forced reconnect);
 * - `freeze()`: stop forwarding bytes in both directions without closing anything (a silent
 *   partition: no FIN, no RST; what a dead NAT entry or a blocked broker looks like); `thaw()`;
 * - `onMethod(fn)`: see every AMQP method frame crossing a link, before it is forwarded, so a test
 *   can freeze or cut at an exact protocol moment (the first `channel.close` of a stop, say);
 * - `methods`: every method frame seen, for counting (`basic.consume` per queue, ...).
 *
 * Frames are forwarded whole (the proxy re-frames the byte stream), so freezing inside a hook holds
 * the frame that triggered it and everything after it, never half a frame.
 */
import net from 'node:net';
import { FrameSplitter, type AmqpMethod } from './amqp-frames.js';

export type { AmqpMethod } from './amqp-frames.js';

/** Which way a frame travels. */
export type Direction = 'to-broker' | 'to-client';

/** A method frame seen by the proxy, with where and when. */
export interface SeenMethod extends AmqpMethod {
  readonly direction: Direction;
  /** Which accepted link (0, 1, ...) it crossed. */
  readonly link: number;
  /** `performance.now()` when it was seen. */
  readonly at: number;
}

/** A running proxy. */
export interface TcpProxy {
  /** The local port clients connect to. */
  readonly port: number;
  /** Every method frame seen so far, in order. */
  readonly methods: readonly SeenMethod[];
  /** Rewrites an `amqp://` URL to go through the proxy. */
  url(target: string): string;
  /** Drops every open link and stops accepting (the broker looks down). */
  cut(): Promise<void>;
  /** Drops every open link (TCP reset) and keeps accepting: clients reconnect at once. */
  drop(): void;
  /** Stops forwarding bytes (both ways, or one) without closing anything (a silent partition). */
  freeze(direction?: Direction): void;
  /** Forwards again (held bytes first) after {@link TcpProxy.freeze}. */
  thaw(): void;
  /** Calls `hook` for every method frame before it is forwarded; returns the unregister function. */
  onMethod(hook: (method: SeenMethod) => void): () => void;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

interface Link {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes not forwarded yet, per direction, in order. */
  readonly held: Record<Direction, Buffer[]>;
}

/** Starts a proxy to `host:port` on a random local port. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  const hooks = new Set<(method: SeenMethod) => void>();
  const methods: SeenMethod[] = [];
  const frozen: Record<Direction, boolean> = { 'to-broker': false, 'to-client': false };
  let linkCount = 0;

  const forward = (link: Link, direction: Direction, bytes: Buffer) => {
    const to = direction === 'to-broker' ? link.upstream : link.client;
    if (frozen[direction] || link.held[direction].length > 0) link.held[direction].push(bytes);
    else if (!to.destroyed) to.write(bytes);
  };
  const pump = (link: Link, id: number, from: net.Socket, direction: Direction) => {
    const frames = new FrameSplitter(direction === 'to-broker');
    from.on('data', (chunk: Buffer) => {
      for (const { bytes, method } of frames.feed(chunk)) {
        if (method) {
          const seen = { ...method, direction, link: id, at: performance.now() };
          methods.push(seen);
          for (const hook of [...hooks]) hook(seen);
        }
        if (!links.has(link)) return; // a hook dropped the link
        forward(link, direction, bytes);
      }
    });
  };
  const destroy = (link: Link) => {
    links.delete(link);
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  };
  const make = () =>
    net.createServer((client) => {
      const upstream = net.connect(port, host);
      const link: Link = { client, upstream, held: { 'to-broker': [], 'to-client': [] } };
      const id = linkCount++;
      links.add(link);
      const drop = () => {
        if (!links.has(link)) return;
        links.delete(link);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      pump(link, id, client, 'to-broker');
      pump(link, id, upstream, 'to-client');
    });
  let server = make();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = (server.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const link of [...links]) destroy(link);
  };
  const stop = async () => {
    dropAll();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port: local,
    methods,
    url(target) {
      const u = new URL(target);
      u.hostname = '127.0.0.1';
      u.port = String(local);
      return u.toString();
    },
    cut: stop,
    drop: dropAll,
    freeze(direction) {
      if (direction !== 'to-client') frozen['to-broker'] = true;
      if (direction !== 'to-broker') frozen['to-client'] = true;
    },
    thaw() {
      frozen['to-broker'] = false;
      frozen['to-client'] = false;
      for (const link of links) {
        for (const direction of ['to-broker', 'to-client'] as const) {
          const to = direction === 'to-broker' ? link.upstream : link.client;
          for (const bytes of link.held[direction].splice(0)) if (!to.destroyed) to.write(bytes);
        }
      }
    },
    onMethod(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    async restore() {
      server = make();
      await new Promise<void>((resolve) => server.listen(local, '127.0.0.1', resolve));
    },
    close: stop,
  };
}
