/**
 * Limits how many due delayed jobs one BullMQ fetch promotes. BullMQ's `moveToActive` first moves
 * every due delayed job (up to 1,000) from the delayed set to the wait list — about 8–14 µs of
 * server time each (ZREM, HGET, LPUSH, XADD, HSET) — and only then pops one. After a burst of
 * delayed publishes the worker's first fetch therefore ran for 8–14 ms before the first job could
 * start. With a small batch per fetch the first job starts after one batch, and the rest are
 * promoted by the following fetches (each fetch promotes the next batch, oldest due first, so
 * order and throughput are unchanged and no due job is left behind: a fetch that finds due
 * delayed jobs always promotes some and returns one).
 *
 * The installed BullMQ's own script is patched (its source, read from the scripts BullMQ defined on
 * the connection) and redefined under the same name; when the source does not contain the expected
 * text (another BullMQ version) nothing is changed.
 */
import { bullScript } from './bull-scripts.js';
import type { RedisClient } from './connection.js';

/** Due delayed jobs one fetch promotes. */
export const PROMOTE_BATCH = 50;

/** BullMQ's promotion query, as it appears in `promoteDelayedJobs`. */
const BULL_LIMIT = '"LIMIT", 0, 1000)';

const patched = new WeakSet<object>();

/**
 * Redefines BullMQ's `moveToActive` command on `client` (once BullMQ has defined it there) with a
 * promotion batch of {@link PROMOTE_BATCH}. Returns whether the command is now limited.
 */
export function limitDelayedPromotion(client: RedisClient): boolean {
  if (patched.has(client)) return true;
  const script = bullScript(client, 'moveToActive');
  if (!script) return false;
  const at = script.lua.indexOf(BULL_LIMIT);
  if (at < 0 || script.lua.indexOf(BULL_LIMIT, at + 1) >= 0) return false;
  const lua = script.lua.replace(BULL_LIMIT, `"LIMIT", 0, ${PROMOTE_BATCH})`);
  client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua });
  patched.add(client);
  return true;
}
