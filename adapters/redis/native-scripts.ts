/**
 * The native managed-job engine's Lua (native-job-engine.ts): BullMQ's own worker scripts, wrapped
 * so that the call BullMQ makes anyway also keeps the attempt history (docs/performance.md, "The
 * proposal's cost, measured on a model": the lean model), plus the engine's cancel script.
 *
 * - fetch (`moveToActive`, and the next job fetched by a finish): the attempt start, one `HSET` of
 *   field `ha` = `{"n": attempt, "o": node, "s": start}`. An attempt still open there (its node lost
 *   the lock and the job was moved back by BullMQ's stalled check) is closed as `lost` first, with its
 *   end and why (as the record engine closes an attempt it takes over) — read from the fetch's own
 *   `HGETALL` reply, no extra read.
 * - finish (`moveToFinished`, `moveToDelayed` and `retryJob`, i.e. completed, final failure, retry
 *   with and without backoff): after BullMQ's step succeeded (its lock check passed), one `HMGET`
 *   and one `HSET` close `ha` into the bounded history `h` (the last 20 attempts) with end, outcome
 *   and BullMQ's `failedReason` — except a completion: its attempt stays in `ha` and reads as
 *   completed at the job's `finishedOn` (native-job-shape.ts `recordOf`), no write; a failure also
 *   moves its code into `fc` (native-failed-code.ts) and into its history entry (`c`, as the record
 *   engine's `error.code`; a failed attempt's stack as `k`, kept for the latest 5 attempts, as the
 *   record engine's `error.stack`), from the same read; a
 *   final finish whose job has a waiter (`<job key>:w`, set by `waitForJob`, read before BullMQ's
 *   step) also `PUBLISH`es the job key on the engine's finished channel — and, when the finish
 *   removed the job (`removeOnComplete` / `removeOnFail`), its end (native-wait.ts), also written
 *   into the mark in the same call.
 *
 * The wrapped sources are the installed BullMQ's (bull-scripts.ts), redefined under BullMQ's own
 * names on a connection only the engine's workers use; the node id is part of the source.
 */
import { bullScript } from './bull-scripts.js';
import { CODE_LUA } from './native-failed-code.js';
import type { RedisClient } from './connection.js';

/** Attempts kept in a job's history (as the record + ticket layer's `MAX_HISTORY`). */
export const NATIVE_HISTORY = 20;
/** How many of the latest attempts keep their failure's stack (as the record + ticket layer's runner). */
export const NATIVE_STACKS_KEPT = 5;
/** Longest stack an attempt keeps: 2,000 characters as on the record + ticket layer (the Lua clip counts bytes). */
export const NATIVE_STACK_MAX = 2_000;

/** A Lua string literal of `text`, exactly (bytes outside letters, digits and `.:_-#` as `\ddd` escapes). */
function luaString(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[\w.:#-]/.test(c) ? c : `\\${byte}`;
  }
  return `'${out}'`;
}

/**
 * Shared Lua: close the open attempt of `jobKey` (`outcome`), and start one from a fetch reply.
 * Attempts are built as JSON text, not through cjson: the open attempt `ha` is a JSON object this
 * writes, closed by appending fields before its `}`; the history `h` is decoded only when it already
 * holds attempts (a retry), never on a first attempt's finish. `now` and `ats` are integer strings.
 */
function helpers(owner: string): string {
  return `local ckCall = redis.call
local function ckWith(a, fields)
  return string.sub(a, 1, -2) .. fields .. '}'
end
-- Appends attempt a (JSON text) to history h. An attempt that keeps its stack (k: a failure) drops
-- the stacks of attempts before the latest ${NATIVE_STACKS_KEPT} (as the record engine's runner does).
local function ckPush(h, a, stacked)
  if not h or h == '' or h == '[]' then return '[' .. a .. ']' end
  local list = cjson.decode(h)
  local older = stacked and list[#list - ${NATIVE_STACKS_KEPT - 1}]
  if #list < ${NATIVE_HISTORY} and not (type(older) == 'table' and older.k) then
    return string.sub(h, 1, -2) .. ',' .. a .. ']'
  end
  list[#list + 1] = cjson.decode(a)
  while #list > ${NATIVE_HISTORY} do table.remove(list, 1) end
  if stacked then
    for i = 1, #list - ${NATIVE_STACKS_KEPT} do list[i].k = nil end
  end
  return cjson.encode(list)
end
-- A stack as a history entry keeps it: at most ${NATIVE_STACK_MAX} bytes (not cut inside a UTF-8 character), then '…'.
local function ckClip(st)
  if #st <= ${NATIVE_STACK_MAX} then return st end
  local cut = ${NATIVE_STACK_MAX}
  while cut > 0 and string.byte(st, cut + 1) >= 128 and string.byte(st, cut + 1) < 192 do cut = cut - 1 end
  return string.sub(st, 1, cut) .. '\\226\\128\\166'
end
local function ckClose(jobKey, outcome, now, code, stack)
  local f = ckCall('HMGET', jobKey, 'ha', 'h', 'failedReason', 'ab')
  if not f[1] or f[1] == '' then return f[4] end
  if outcome == 'failed' and f[4] then outcome = 'cancelled' end
  local fields = ',"e":' .. now .. ',"r":"' .. outcome .. '"'
  if outcome ~= 'completed' and f[3] then
    fields = fields .. ',"m":' .. cjson.encode(f[3])
    if code then fields = fields .. ',"c":' .. cjson.encode(code) end
    if outcome == 'failed' and stack then fields = fields .. ',"k":' .. cjson.encode(ckClip(stack)) end
  end
  ckCall('HSET', jobKey, 'h', ckPush(f[2], ckWith(f[1], fields), outcome == 'failed' and stack), 'ha', '')
  return f[4]
end
-- An open attempt whose node lost the job (BullMQ's stalled check moved it back): closed now, with
-- why, as the record engine closes an attempt it takes over (end, outcome, error message).
local function ckLost(ha, now)
  local ok, a = pcall(cjson.decode, ha)
  local node = ok and type(a) == 'table' and type(a.o) == 'string' and a.o or '?'
  local why = 'node ' .. node .. ' lost this attempt (its lock expired before it finished)'
  return ckWith(ha, ',"e":' .. now .. ',"r":"lost","m":' .. cjson.encode(why))
end
local function ckStart(res, prefix, now)
  if type(res) ~= 'table' or type(res[2]) ~= 'string' or type(res[1]) ~= 'table' then return end
  local job, n, ha, h = res[1], '1', nil, nil
  for i = 1, #job, 2 do
    local k = job[i]
    if k == 'ats' then n = job[i + 1] elseif k == 'ha' then ha = job[i + 1] elseif k == 'h' then h = job[i + 1] end
  end
  local key = prefix .. res[2]
  local start = '{"n":' .. n .. ',"o":' .. ${luaString(JSON.stringify(owner))} .. ',"s":' .. now .. '}'
  if ha and ha ~= '' then
    ckCall('HSET', key, 'h', ckPush(h, ckLost(ha, now)), 'ha', start)
  else
    ckCall('HSET', key, 'ha', start)
  end
end
${CODE_LUA}-- A watched job's final finish: its key on the finished channel; when the finish removed the job,
-- its end too (kept in the mark as well): ["completed", returnvalue] | ["failed", reason, code?] | ["cancelled"].
local function ckEnded(jobKey, target, value, ab, fields)
  if ckCall('EXISTS', jobKey) == 1 then
    ckCall('PUBLISH', ARGV_CHANNEL, jobKey)
    return
  end
  local out
  if target == 'failed' and ab then
    out = cjson.encode({ 'cancelled' })
  elseif target == 'failed' then
    local ok, f = pcall(cmsgpack.unpack, fields)
    local st
    if ok and type(f) == 'table' then
      for i = 1, #f - 1, 2 do
        if f[i] == 'stacktrace' then st = f[i + 1] end
      end
    end
    local _, code = ckMarked(st)
    out = cjson.encode({ 'failed', value, code })
  else
    out = cjson.encode({ 'completed', value })
  end
  ckCall('SET', jobKey .. ':w', out, 'KEEPTTL')
  ckCall('PUBLISH', ARGV_CHANNEL, jobKey .. '\\n' .. out)
end
`;
}

function wrap(source: string, after: string, owner: string, channel: string, before = ''): string {
  return `local ARGV_CHANNEL = ${luaString(channel)}
${helpers(owner)}
${before}
local ckResult = (function()
${source}
end)()
local ckOk = ckResult == 0 or type(ckResult) == 'table'
${after}
return ckResult
`;
}

/** What runs after each wrapped script (`ckOk`: BullMQ's step succeeded). */
const AFTER = {
  moveToActive: `ckStart(ckResult, ARGV[1], ARGV[2])`,
  // KEYS[12] job key; ARGV[2] now; ARGV[5] 'completed' | 'failed'; ARGV[7] key prefix.
  // An aborted attempt's final failure (its mark ab) enters the queue's cancelled index (native-query-scripts.ts).
  // A completed attempt stays open in `ha`: a completed job's open attempt reads as closed at its
  // `finishedOn` with outcome completed (native-job-shape.ts `recordOf`), which saves every
  // completion an HMGET and an HSET.
  moveToFinished: `if ckOk then
  if ARGV[5] == 'failed' then
    local code, stack = ckCode(KEYS[12])
    if ckClose(KEYS[12], 'failed', ARGV[2], code, stack) then
      ckCall('ZADD', ARGV[7] .. 'ck:cancelled', ARGV[2], string.sub(KEYS[12], #ARGV[7] + 1))
    end
  end
  if ckW then ckEnded(KEYS[12], ARGV[5], ARGV[4], ckAb, ARGV[9]) end
end
ckStart(ckResult, ARGV[7], ARGV[2])`,
  // KEYS[5] job key; ARGV[1] key prefix; ARGV[2] now.
  moveToDelayed: `if ckOk then
  ckClose(KEYS[5], 'failed', ARGV[2], ckCode(KEYS[5]))
end
ckStart(ckResult, ARGV[1], ARGV[2])`,
  // KEYS[4] job key; ARGV[2] now.
  retryJob: `if ckOk then
  ckClose(KEYS[4], 'failed', ARGV[2], ckCode(KEYS[4]))
end`,
} as const;

/**
 * What runs before a wrapped script: a final finish reads whether the job is watched, and then its
 * abort mark, while the job still exists (BullMQ's step may remove it: `removeOnComplete` /
 * `removeOnFail`). An unwatched job costs the one `EXISTS` its announcement check always made.
 */
const BEFORE: Partial<Record<keyof typeof AFTER, string>> = {
  moveToFinished: `local ckW = ckCall('EXISTS', KEYS[12] .. ':w') == 1
local ckAb = ckW and ckCall('HGET', KEYS[12], 'ab') or nil`,
};

const wrapped = new WeakSet<object>();

/**
 * Redefines BullMQ's fetch and finish scripts on `client` (a connection only native workers use,
 * after BullMQ defined its scripts there) with the attempt steps; `owner` is this node's id and
 * `channel` the finished channel. Once per connection. Throws when a script is not where expected.
 */
export function wrapNativeWorkerScripts(client: RedisClient, owner: string, channel: string): void {
  if (wrapped.has(client)) return;
  for (const [base, after] of Object.entries(AFTER)) {
    const script = bullScript(client, base);
    if (!script) throw new Error(`BullMQ's ${base} script is not defined on this connection`);
    client.defineCommand(script.name, {
      numberOfKeys: script.numberOfKeys,
      lua: wrap(script.lua, after, owner, channel, BEFORE[base as keyof typeof AFTER]),
    });
  }
  wrapped.add(client);
}

/**
 * Cancels a job that has not started: removes it from BullMQ's wait, paused, prioritized and
 * delayed structures and puts it in `failed` with the abort mark `ab` (read back as `cancelled`)
 * and in the queue's cancelled index (`<prefix>ck:cancelled`, native-query-scripts.ts), telling its
 * waiters. An active job is only marked (`ab`) when ARGV[3] is '1'.
 * KEYS: job, wait, paused, prioritized, delayed, active, completed, failed. ARGV: job id, now,
 * abortActive, finished channel, reason. Returns 'cancelled' | 'abort' | 'active' | 'completed' |
 * 'failed' | 'not_found'.
 */
export const NATIVE_CANCEL_LUA = `
local job, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', job) == 0 then return 'not_found' end
if redis.call('ZSCORE', KEYS[7], id) then return 'completed' end
if redis.call('ZSCORE', KEYS[8], id) then return 'failed' end
if redis.call('LPOS', KEYS[6], id) then
  if ARGV[3] ~= '1' then return 'active' end
  redis.call('HSET', job, 'ab', '1')
  return 'abort'
end
redis.call('LREM', KEYS[2], 0, id)
redis.call('LREM', KEYS[3], 0, id)
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
redis.call('HSET', job, 'ab', '1', 'failedReason', ARGV[5], 'finishedOn', ARGV[2])
redis.call('ZADD', KEYS[8], ARGV[2], id)
redis.call('ZADD', string.sub(job, 1, #job - #id) .. 'ck:cancelled', ARGV[2], id)
if redis.call('EXISTS', job .. ':w') == 1 then redis.call('PUBLISH', ARGV[4], job) end
return 'cancelled'
`;
