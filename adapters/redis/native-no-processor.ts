/**
 * NO_PROCESSOR on the native managed-job engine (native-job-engine.ts): one pass of
 * {@link noProcessorPass}, run by one node at a time (core's NativeNoProcessor, under the lock
 * manager). For every handler queue that has had jobs, a handler no live node runs is marked missing
 * (a hash `<prefix>:nj:{<app>}:missing`: handler key → since, epoch ms; the mark is dropped when a live
 * node has it again). Once it has been missing for the grace period, each of its jobs that has been
 * ready to run (waiting, or delayed and due) for the grace period too is failed, one script call per
 * job ({@link NO_PROCESSOR_LUA}): the job is taken out of `wait` / `prioritized` / `delayed` in the
 * same step, so a job a starting worker fetched meanwhile (BullMQ's fetch moves it atomically) is
 * left alone. A failed job spends its remaining attempts (the default engine fails each of them in
 * quick succession) and keeps the code in field `fc` (as native-failed-code.ts writes and reads it).
 * Jobs of a paused queue are left waiting.
 */
import type { NativeNoProcessorPass as NoProcessorPass } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { pruneIdIndex } from './native-ids.js';
import type { HandlerName } from './native-job-shape.js';

/** Most jobs of one handler one pass looks at (the rest wait for the next pass). */
const BATCH = 200;

/** What the engine gives a pass. */
export interface NoProcessorDeps {
  readonly client: RedisClient;
  /** The hash of missing handlers. */
  readonly missingKey: string;
  /** Plugins whose handler queues have had jobs, and each one's handlers. */
  plugins(): Promise<string[]>;
  handlersOf(pluginName: string): Promise<HandlerName[]>;
  /** Key prefix (`<prefix>:q:<bull name>:`) of a handler queue, and its handler key. */
  keyPrefixOf(h: HandlerName): string;
  handlerKeyOf(h: HandlerName): string;
  /** A plugin's id index, pruned a chunk per pass (cursor kept in `indexCursors`). */
  indexKeyOf(pluginName: string): string;
  readonly indexCursors: Map<string, string>;
  readonly finishedChannel: string;
}

/** One pass; resolves with how many jobs it failed. */
export async function noProcessorPass(deps: NoProcessorDeps, pass: NoProcessorPass): Promise<number> {
  const { client, missingKey } = deps;
  let failed = 0;
  for (const pluginName of await deps.plugins()) {
    if (pass.signal?.aborted) break;
    const indexKey = deps.indexKeyOf(pluginName);
    deps.indexCursors.set(indexKey, await pruneIdIndex(client, indexKey, deps.indexCursors.get(indexKey) ?? '0'));
    for (const h of await deps.handlersOf(pluginName)) {
      if (pass.signal?.aborted) break;
      const hk = deps.handlerKeyOf(h);
      if (await pass.alive(h)) {
        await client.hdel(missingKey, hk);
        continue;
      }
      await client.hsetnx(missingKey, hk, String(pass.now));
      const since = Number(await client.hget(missingKey, hk));
      const deadline = pass.now - pass.graceMs;
      if (!(since <= deadline)) continue;
      failed += await failReady(deps, h, deadline, pass);
    }
  }
  return failed;
}

/** Fails the jobs of handler `h` ready since `deadline` or earlier (unless its queue is paused). */
async function failReady(
  deps: NoProcessorDeps,
  h: HandlerName,
  deadline: number,
  pass: NoProcessorPass,
): Promise<number> {
  const prefix = deps.keyPrefixOf(h);
  const [[, paused], [, waiting], [, prioritized], [, delayed]] = (await deps.client
    .pipeline()
    .hexists(`${prefix}meta`, 'paused')
    .lrange(`${prefix}wait`, 0, BATCH - 1)
    .zrange(`${prefix}prioritized`, '0', String(BATCH - 1))
    // A delayed job's score is its due time × 0x1000 plus a counter.
    .zrangebyscore(`${prefix}delayed`, '-inf', String((deadline + 1) * 0x1000 - 1), 'LIMIT', 0, BATCH)
    .exec()) as [[unknown, number], [unknown, string[]], [unknown, string[]], [unknown, string[]]];
  if (paused === 1) return 0;
  const reason = pass.reason(h);
  let failed = 0;
  for (const id of [...waiting, ...prioritized, ...delayed]) {
    if (pass.signal?.aborted) break;
    const keys = [prefix + id, ...['wait', 'prioritized', 'delayed', 'failed'].map((type) => prefix + type)];
    const done = await deps.client.eval(
      NO_PROCESSOR_LUA,
      keys.length,
      ...keys,
      id,
      pass.now,
      deadline,
      reason,
      'NO_PROCESSOR',
      deps.finishedChannel,
    );
    failed += Number(done);
  }
  return failed;
}

/**
 * Fails one job with a code, if it is still waiting, prioritized or delayed and was ready by the
 * deadline. KEYS: job, wait, prioritized, delayed, failed. ARGV: id, now, deadline, reason, code,
 * finished channel. Returns 1 when it failed the job, else 0.
 */
const NO_PROCESSOR_LUA = `
local job, id = KEYS[1], ARGV[1]
local f = redis.call('HMGET', job, 'timestamp', 'delay', 'opts', 'ats')
if not f[1] then return 0 end
if tonumber(f[1]) + (tonumber(f[2]) or 0) > tonumber(ARGV[3]) then return 0 end
local taken = redis.call('LREM', KEYS[2], 0, id) + redis.call('ZREM', KEYS[3], id) + redis.call('ZREM', KEYS[4], id)
if taken == 0 then return 0 end
local attempts = 1
local ok, opts = pcall(cjson.decode, f[3] or '{}')
if ok and type(opts) == 'table' and tonumber(opts.attempts) then attempts = tonumber(opts.attempts) end
local started = math.max(tonumber(f[4]) or 0, attempts)
-- fc as native-failed-code.ts reads it: [code, the failedReason it belongs to].
local fc = cjson.encode({ ARGV[5], ARGV[4] })
redis.call('HSET', job, 'failedReason', ARGV[4], 'fc', fc, 'finishedOn', ARGV[2], 'atm', attempts, 'ats', started)
redis.call('ZADD', KEYS[5], ARGV[2], id)
if redis.call('EXISTS', job .. ':w') == 1 then redis.call('PUBLISH', ARGV[6], job) end
return 1
`;
