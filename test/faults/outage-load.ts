/**
 * The load side of the broker-outage cases: a producer publishing `total` messages with a fixed
 * number of publishes in flight, each retried by the producer until the broker acknowledges it
 * (a stable `jobId` per message makes the retry idempotent), and in-process workers recording what
 * they handled and when. The outage itself is the caller's (`outage` runs once `outageAt`
 * messages are acknowledged and resolves with the moment the broker is usable again).
 */
import { ClusterError, type App } from 'clusterkit';
import { within } from '../helpers.js';
import { waitUntil } from './fault-helpers.js';

/** What the producer saw. */
export interface PublishStats {
  acked: Set<number>;
  /** When each message's publish resolved (epoch ms). */
  ackedAt: Map<number, number>;
  /** Rejections by error code (`hung` = did not settle within 30 s, `not a ClusterError: …`). */
  failures: Map<string, number>;
  /** Longest time a rejected publish took to settle, in ms. */
  slowestFailureMs: number;
  /** Longest time an acknowledged publish took (buffered across the outage), in ms. */
  slowestAckMs: number;
}

/** Handled messages, per worker app, with times. */
export class HandledLog {
  readonly times = new Map<number, number>();
  readonly counts = new Map<number, number>();
  record(n: number): void {
    this.counts.set(n, (this.counts.get(n) ?? 0) + 1);
    if (!this.times.has(n)) this.times.set(n, Date.now());
  }
  /**
   * How long after `t` the workers first handled a message the broker acknowledged after `t`
   * (so nothing fetched before the outage counts as "resumed").
   */
  resumedAfter(t: number, ackedAt: Map<number, number>): number {
    let best = Infinity;
    for (const [n, acked] of ackedAt) {
      const handled = this.times.get(n);
      if (acked >= t && handled !== undefined) best = Math.min(best, handled - t);
    }
    return best;
  }
  get duplicates(): number {
    let d = 0;
    for (const c of this.counts.values()) d += c - 1;
    return d;
  }
}

/** Subscribes `apps` to `channel`, recording into `log`. */
export async function recordOn(apps: App[], channel: string, log: HandledLog, concurrency = 16): Promise<void> {
  for (const app of apps) {
    await app.eventQueue.subscribe(channel, { concurrency, process: (m: { n: number }) => log.record(m.n) });
  }
}

/**
 * Publishes 0..total-1 on `channel` with `inFlight` concurrent publishes; after `outageAt` acks it
 * starts `outage` (once) and keeps publishing through it. The last `tail` messages wait for the
 * outage to have happened, so some are always published after it — on a fast machine the run could
 * otherwise finish before the outage takes effect, leaving nothing to measure resumption by.
 * Resolves when every message is acknowledged.
 */
export async function publishThrough(
  producer: App,
  channel: string,
  options: {
    total: number;
    inFlight: number;
    outageAt: number;
    outage: (stats: PublishStats) => Promise<number>;
    /** @default 1000 */
    tail?: number;
  },
): Promise<{ stats: PublishStats; backAt: number }> {
  const stats: PublishStats = {
    acked: new Set(),
    ackedAt: new Map(),
    failures: new Map(),
    slowestFailureMs: 0,
    slowestAckMs: 0,
  };
  let next = 0;
  let outage: Promise<number> | undefined;
  const loop = async () => {
    const tailFrom = options.total - (options.tail ?? 1_000);
    while (next < options.total) {
      const n = next++;
      // By tailFrom at least tailFrom - inFlight publishes were acknowledged (> outageAt), so the
      // outage has started: wait for it to be over before publishing the tail.
      if (n >= tailFrom && outage) await outage;
      for (;;) {
        const t0 = Date.now();
        try {
          await within(producer.eventQueue.publish(channel, { n }, { jobId: `m-${n}` }), 30_000, `publish ${n}`);
          stats.slowestAckMs = Math.max(stats.slowestAckMs, Date.now() - t0);
          stats.acked.add(n);
          stats.ackedAt.set(n, Date.now());
          if (stats.acked.size === options.outageAt) outage ??= options.outage(stats);
          break;
        } catch (error) {
          const code =
            error instanceof ClusterError
              ? error.code
              : /did not happen/.test(String(error))
                ? 'hung'
                : `not a ClusterError: ${String(error)}`;
          stats.failures.set(code, (stats.failures.get(code) ?? 0) + 1);
          stats.slowestFailureMs = Math.max(stats.slowestFailureMs, Date.now() - t0);
          // The producer's own retry pause (what an application would do), not synchronization.
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, loop));
  if (!outage) throw new Error('the outage never started');
  return { stats, backAt: await outage };
}

/** Waits until every message 0..total-1 was handled at least once. */
export async function allHandled(log: HandledLog, total: number, ms: number): Promise<void> {
  await waitUntil(() => log.counts.size >= total, ms, `all ${total} messages handled`, 100).catch((error: unknown) => {
    throw new Error(`${(error as Error).message} (have ${log.counts.size})`);
  });
}

/** Total of a failure map, for figures. */
export function failureText(failures: Map<string, number>): string {
  return failures.size === 0 ? 'none' : [...failures].map(([code, count]) => `${code}×${count}`).join(', ');
}
