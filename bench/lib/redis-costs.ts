/**
 * Server-side cost of a piece of work on a PRIVATE redis-server (`REDIS_URL`): `INFO commandstats`
 * and `INFO cpu` before and after, as per-unit deltas. Only meaningful while nothing else uses the
 * server. Used by the cost tools in `bench/tools/`.
 */
import { redisClient, redisServerCpuSeconds } from './services.js';

/** `INFO commandstats`: calls and µs per command name. */
export type CommandStats = Map<string, { calls: number; usec: number }>;

/** Reads `INFO commandstats`. */
export async function commandStats(): Promise<CommandStats> {
  const client = redisClient();
  try {
    const out: CommandStats = new Map();
    for (const m of (await client.info('commandstats')).matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)) {
      out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
    }
    return out;
  } finally {
    client.disconnect();
  }
}

/** What {@link serverCost} measured: per-unit command deltas, server CPU seconds and wall ms. */
export interface ServerCost {
  /** Calls and µs of one command per unit. */
  delta(name: string): { calls: number; usec: number };
  /** Every command name seen after the work. */
  readonly names: readonly string[];
  readonly serverCpuSeconds: number;
  readonly ms: number;
}

/** Runs `work` and returns its server cost per unit (`count` units). */
export async function serverCost(count: number, work: () => Promise<void>): Promise<ServerCost> {
  const client = redisClient();
  try {
    const before = await commandStats();
    const cpu0 = await redisServerCpuSeconds(client);
    const t0 = performance.now();
    await work();
    const ms = performance.now() - t0;
    const cpu1 = await redisServerCpuSeconds(client);
    const after = await commandStats();
    return {
      delta(name) {
        const a = after.get(name) ?? { calls: 0, usec: 0 };
        const b = before.get(name) ?? { calls: 0, usec: 0 };
        return { calls: (a.calls - b.calls) / count, usec: (a.usec - b.usec) / count };
      },
      names: [...after.keys()],
      serverCpuSeconds: cpu1 - cpu0,
      ms,
    };
  } finally {
    client.disconnect();
  }
}

/** The `top` commands of a {@link ServerCost} by `by` (calls or µs per unit), for a tool's breakdown line. */
export function topCommands(
  cost: ServerCost,
  top: number,
  by: 'calls' | 'usec',
): Array<{ name: string; calls: number; usec: number }> {
  return cost.names
    .map((name) => ({ name, ...cost.delta(name) }))
    .filter((r) => r.calls > 0)
    .sort((a, b) => b[by] - a[by])
    .slice(0, top);
}
