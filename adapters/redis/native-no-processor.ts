/**
 * NO_PROCESSOR on the native managed-job engine (native-job-engine.ts): one pass of
 * {@link noProcessorPass}, run by one node at a time (core's NativeNoProcessor, under the lock
 * manager). For every handler queue that has had jobs, a handler no live node runs is marked missing
 * (a hash `<prefix>:nj:{<app>}:missing`: handler key → since, epoch ms; the mark is dropped when a live
 * node has it again). Once it has been missing for the grace period, each of its jobs that has been
 * ready to run (waiting, or delayed and due) for the grace period too is failed, one script call per
 * job ({@link NO_PROCESSOR_LUA}): the job is taken out of `wait` / `prioritized` / `delayed` in the
 * same step, so a job a starting worker fetched meanwhile (BullMQ's fetch moves it atomically) is
 * left alone. A failed job spends its remaining attempts (the record engine fails each of them in
 * quick succession) and keeps the code in field `fc` (as native-failed-code.ts writes and reads it).
 * Jobs of a paused queue are left waiting.
 */
import type { NativeNoProcessorPass as NoProcessorPass } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { pruneIdIndex } from './native-ids.js';
import { fieldsOfHash, generatedIdPrefix, publicIdWith, recordOf, type HandlerName } from './native-job-shape.js';
import { NATIVE_HISTORY, NATIVE_STACK_MAX, NATIVE_STACKS_KEPT } from './native-scripts.js';

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
  /** This node's id (the failed attempts' node, as the record engine records the node that failed them). */
  readonly nodeId: string;
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
  const error = pass.error(h);
  const stack = error.stack ?? `${error.name}: ${error.message}`;
  // What each failed attempt's history entry keeps of it (as the record engine clips it).
  const kept = stack.length > NATIVE_STACK_MAX ? `${stack.slice(0, NATIVE_STACK_MAX)}…` : stack;
  const idPrefix = generatedIdPrefix(h);
  let failed = 0;
  for (const id of [...waiting, ...prioritized, ...delayed]) {
    if (pass.signal?.aborted) break;
    const keys = [prefix + id, ...['wait', 'prioritized', 'delayed', 'failed'].map((type) => prefix + type)];
    const done = (await deps.client.eval(
      NO_PROCESSOR_LUA,
      keys.length,
      ...keys,
      id,
      pass.now,
      deadline,
      error.message,
      error.code,
      deps.finishedChannel,
      deps.nodeId,
      stack,
      prefix,
      kept,
    )) as 0 | [number, string[]];
    if (done === 0) continue;
    failed += 1;
    const fields = fieldsOfHash(pairs(done[1]));
    if (fields) pass.failed?.(recordOf(publicIdWith(idPrefix, id), h, 'failed', fields), done[0], error);
  }
  return failed;
}

/** A flat `HGETALL` reply as an object. */
function pairs(flat: string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}

/**
 * Fails one job with a code, if it is still waiting, prioritized or delayed and was ready by the
 * deadline, as the record engine records it: every remaining attempt spent, each one a failed
 * attempt in the history `h` (bounded as the wrapped scripts bound it) with the message, code and
 * stack (the latest 5 attempts keep theirs), its stack in `stacktrace`, the code in `fc`; then the
 * job's `removeOnFail` as BullMQ's own final failure applies it (`true`: the job is deleted;
 * `{ age }`: failed jobs older than that are), and its waiters are told (of its end too, in the
 * watch mark and the announcement, when it was removed: native-wait.ts). KEYS: job, wait,
 * prioritized, delayed, failed. ARGV: id, now, deadline, reason, code, finished channel, node id,
 * stack, key prefix, the stack the history keeps. Returns 0, or the attempts spent and the job's
 * hash as it was failed.
 */
const NO_PROCESSOR_LUA = `
local job, id, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local f = redis.call('HMGET', job, 'timestamp', 'delay', 'opts', 'ats', 'atm', 'h', 'stacktrace')
if not f[1] then return 0 end
if tonumber(f[1]) + (tonumber(f[2]) or 0) > tonumber(ARGV[3]) then return 0 end
local taken = redis.call('LREM', KEYS[2], 0, id) + redis.call('ZREM', KEYS[3], id) + redis.call('ZREM', KEYS[4], id)
if taken == 0 then return 0 end
local attempts, keep = 1, nil
local ok, opts = pcall(cjson.decode, f[3] or '{}')
if ok and type(opts) == 'table' then
  if tonumber(opts.attempts) then attempts = tonumber(opts.attempts) end
  keep = opts.removeOnFail
end
local made = tonumber(f[5]) or 0
local spent = math.max(1, attempts - made)
local started = tonumber(f[4]) or 0
local okh, history = pcall(cjson.decode, f[6] or '[]')
if not okh or type(history) ~= 'table' then history = {} end
local okst, stacks = pcall(cjson.decode, f[7] or '[]')
if not okst or type(stacks) ~= 'table' then stacks = {} end
for k = 1, spent do
  history[#history + 1] = { n = started + k, o = ARGV[7], s = now, e = now, r = 'failed', m = ARGV[4], c = ARGV[5],
    k = ARGV[10] }
  stacks[#stacks + 1] = ARGV[8]
end
while #history > ${NATIVE_HISTORY} do table.remove(history, 1) end
for i = 1, #history - ${NATIVE_STACKS_KEPT} do history[i].k = nil end
while #stacks > 10 do table.remove(stacks, 1) end
-- fc as native-failed-code.ts reads it: [code, the failedReason it belongs to].
redis.call('HSET', job, 'failedReason', ARGV[4], 'fc', cjson.encode({ ARGV[5], ARGV[4] }), 'processedOn', now,
  'finishedOn', now, 'atm', made + spent, 'ats', started + spent, 'h', cjson.encode(history), 'ha', '',
  'stacktrace', cjson.encode(stacks))
local fields = redis.call('HGETALL', job)
if keep == true then
  redis.call('DEL', job, job .. ':logs')
else
  redis.call('ZADD', KEYS[5], now, id)
  if type(keep) == 'table' and tonumber(keep.age) then
    local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(keep.age) * 1000, 'LIMIT', 0, 1000)
    for _, gone in ipairs(old) do
      redis.call('DEL', ARGV[9] .. gone, ARGV[9] .. gone .. ':logs')
      redis.call('ZREM', KEYS[5], gone)
    end
  end
end
if redis.call('EXISTS', job .. ':w') == 1 then
  if keep == true then
    -- Removed at its end: its waiters answer from the end, kept in the mark (native-wait.ts).
    local out = cjson.encode({ 'failed', ARGV[4], ARGV[5] })
    redis.call('SET', job .. ':w', out, 'KEEPTTL')
    redis.call('PUBLISH', ARGV[6], job .. '\\n' .. out)
  else
    redis.call('PUBLISH', ARGV[6], job)
  end
end
return { spent, fields }
`;
