/**
 * The dead-letter index: for a message stored under a BullMQ-generated id (see `job-shape.ts`), its
 * record id → that BullMQ id, in a hash next to the queue's keys (`<queue prefix>ck%dead`), so that
 * redrive and delete by record id stay O(1).
 *
 * An entry is written in the same script call that moves the job to the failed set: BullMQ's own
 * `moveToFinished` (its installed source, read from the scripts BullMQ defined on the worker's
 * connection) is redefined under its own name, wrapped with a step after it — when the job just
 * went to the failed set under a generated id, the record id is read from the envelope's head and
 * indexed. Every route to the failed set in BullMQ goes through that script (a job that stalled too
 * often is failed by the next worker that fetches it). The same step checks two random entries
 * and drops those whose job is no longer dead (redriven, deleted, or trimmed by retention), so the
 * index stays within about twice the failed set. Lookups check what an entry names (see
 * `redis-event-queue-adapter.ts`), so an entry left behind is never taken for a dead letter.
 *
 * When BullMQ's script does not have the expected layout (another BullMQ version), nothing is
 * wrapped, and publishers of that version keep giving BullMQ the record id ({@link canIndexDeadLetters}).
 */
import { bullScript, type BullScript } from './bull-scripts.js';
import type { RedisClient } from './connection.js';
import { DEAD_INDEX } from './job-shape.js';

/** What the wrapped step relies on, as BullMQ's header comment documents it. */
const LAYOUT = [
  /KEYS\[11\]\s+completed\/failed key/,
  /KEYS\[12\]\s+jobId key/,
  /ARGV\[1\]\s+jobId/,
  /ARGV\[5\]\s+target \(completed\/failed\)/,
  /ARGV\[7\]\s+keys prefix/,
];

const MARK = '-- clusterkit: dead-letter index';

const wrapped = new WeakSet<object>();

function finishScript(client: RedisClient): BullScript | undefined {
  const script = bullScript(client, 'moveToFinished');
  if (!script || (!script.lua.startsWith(MARK) && !LAYOUT.every((re) => re.test(script.lua)))) return undefined;
  return script;
}

/** True when BullMQ's `moveToFinished` on `client` has the layout the index step needs. */
export function canIndexDeadLetters(client: RedisClient): boolean {
  return finishScript(client) !== undefined;
}

/** BullMQ's `moveToFinished` source, followed by the index step. */
function wrapLua(source: string): string {
  return `${MARK}: BullMQ's moveToFinished (below, unchanged), then the index step.
local ckResult = (function()
${source}
end)()
if ARGV[5] == 'failed' and string.find(ARGV[1], '^%d+$') and redis.call('ZSCORE', KEYS[11], ARGV[1]) then
  local ckData = redis.call('HGET', KEYS[12], 'data')
  local ckId = ckData and string.match(ckData, '^{"v":1,"id":"([^"\\\\]+)"')
  if ckId then
    local ckIndex = ARGV[7] .. '${DEAD_INDEX}'
    redis.call('HSET', ckIndex, ckId, ARGV[1])
    local ckSample = redis.call('HRANDFIELD', ckIndex, 2, 'WITHVALUES')
    for i = 1, #ckSample, 2 do
      if not redis.call('ZSCORE', KEYS[11], ckSample[i + 1]) then redis.call('HDEL', ckIndex, ckSample[i]) end
    end
  end
end
return ckResult
`;
}

/**
 * Redefines BullMQ's `moveToFinished` command on `client` (once BullMQ has defined it there) with
 * the index step. Returns whether the command now indexes dead letters.
 */
export function indexDeadLetters(client: RedisClient): boolean {
  if (wrapped.has(client)) return true;
  const script = finishScript(client);
  if (!script) return false;
  if (!script.lua.startsWith(MARK)) {
    client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: wrapLua(script.lua) });
  }
  wrapped.add(client);
  return true;
}

/**
 * Drops the index entry of `recordId` when it names `jobId` and that job is no longer dead (after a
 * redrive or delete). KEYS: the index, the failed set. ARGV: record id, BullMQ id.
 */
export const UNINDEX_DEAD = {
  name: 'ckUnindexDead',
  numberOfKeys: 2,
  lua: `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`,
} as const;
