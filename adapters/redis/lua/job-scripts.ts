/**
 * Lua scripts of the Redis job store's hot path — create, claim, finish — and the prelude every job
 * script shares: each job transition is one script, one round trip, run atomically by Redis. Every
 * key of one app's job store shares the hash tag `{<app>}`, so the scripts work on a Redis Cluster
 * (keys are built from the prefix in ARGV[1]; KEYS[1] routes the call). The rarer transitions are in
 * `job-admin-scripts.ts`.
 *
 * Record hash `J:<id>` (written by `job-hash.ts`): `r` the record JSON as last written whole, plus
 * the fields transitions change without rewriting it — st state, o owner, sa startedAt, as
 * attemptsStarted, h history JSON (ended attempts, and the open one once folded in), ha the open
 * attempt (JSON, written by the claim), an the last attempt's number, ab abort requested, tp ticket
 * pending since, np no-processor since, pr progress JSON, fa finishedAt, xa retention end, pk parked
 * by, v version, and an outcome's fields (am attemptsMade, rv returnValue, fr failedReason, fc
 * failedCode, sk stacktrace: written by a finish instead of `r`) — and what the scripts read: g gen,
 * n nonce, ea enqueuedAt, ra runAt, cb plugin/queue/tenant combo, hk handler key, lq logical queue key.
 * Indexes: `S:<state>:<combo>` (score enqueuedAt), `D:<combo>` delayed (score runAt), `C` combos,
 * `P` pending tickets (score since), `X` retention ends, `HQ`/`HA` queued/active per handler,
 * `paused` logical queues, `R:<handler>:<window>` rate counters, `L:<id>` logs.
 *
 * Each transition writes what it changes: one HSET of the changed fields, index moves only when the
 * state changes, `P`/`X` touched only when the record is in them; no whole-hash rewrite and no
 * decoding of the history on the hot path.
 */
import { HASH_HEAD_LUA } from '../job-hash.js';
import { luaScript } from './run-script.js';

/** Shared helpers: index moves and deletion, for a job store whose key prefix is the Lua expression `prefix`. */
export function jobPrelude(prefix: string): string {
  return `
local P = ${prefix}
local function idx(state, combo)
  if state == 'delayed' then return P .. 'D:' .. combo end
  return P .. 'S:' .. state .. ':' .. combo
end
local function unindex(id, h)
  local st, cb, hk = h.st, h.cb, h.hk
  if st then
    redis.call('ZREM', idx(st, cb), id)
    if st == 'active' then redis.call('HINCRBY', P .. 'HA', hk, -1) end
    if st == 'waiting' or st == 'delayed' then redis.call('HINCRBY', P .. 'HQ', hk, -1) end
  end
  if h.tp then redis.call('ZREM', P .. 'P', id) end
  if h.xa then redis.call('ZREM', P .. 'X', id) end
end
local function index(id, st, cb, hk, ea, ra, tp, xa)
  if st == 'delayed' then redis.call('ZADD', idx(st, cb), ra, id) else redis.call('ZADD', idx(st, cb), ea, id) end
  if st == 'active' then redis.call('HINCRBY', P .. 'HA', hk, 1) end
  if st == 'waiting' or st == 'delayed' then redis.call('HINCRBY', P .. 'HQ', hk, 1) end
  if tp and tp ~= '' then redis.call('ZADD', P .. 'P', tp, id) end
  if xa and xa ~= '' then redis.call('ZADD', P .. 'X', xa, id) end
end
local function load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil, flat end
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h, flat
end
local function delete(id, h)
  unindex(id, h)
  redis.call('DEL', P .. 'J:' .. id, P .. 'L:' .. id)
end
-- The live record (a finished one past its retention is deleted now and reads as missing).
local function live(id, now)
  local h, flat = load(P .. 'J:' .. id)
  if h and h.xa and tonumber(h.xa) <= now then delete(id, h) return nil, {} end
  return h, flat
end
local function sameRef(h, nonce, gen)
  return h and (nonce == '' or h.n == '' or h.n == nonce) and tonumber(h.g) == tonumber(gen)
end
local function terminal(st) return st == 'completed' or st == 'failed' or st == 'cancelled' end
-- 2 when the job's end is watched by nobody (no W:<id>, see JOB_WATCH), else 1.
local function ended(id) return redis.call('EXISTS', P .. 'W:' .. id) == 1 and 1 or 2 end
`;
}
const PRELUDE = jobPrelude('ARGV[1]');

/**
 * Creates a record unless its id exists.
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] now, [4.. ] field/value pairs of the record hash (`toHash` order)
 * Returns {1, backlog} when created, {0, flat hash} when the id exists.
 */
export const JOB_CREATE = luaScript(
  'jobCreate',
  `${PRELUDE}
local id = ARGV[2]
local h, flat = live(id, tonumber(ARGV[3]))
if h then return {0, flat} end
${HASH_HEAD_LUA('4')}
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', P .. 'C', hcb, hcbj)
index(id, hst, hcb, hhk, hea, hra, htp, hxa)
return {1, tonumber(redis.call('HGET', P .. 'HQ', hhk) or '0')}
`,
);

/**
 * Claims a generation (see job-transitions.ts decideClaim for the rules, in the same order).
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] nonce, [4] gen, [5] node, [6] now, [7] takeOverFrom or '',
 *   [8] globalConcurrency or '', [9] rate max or '', [10] rate window, [11] rate window end (ms from now),
 *   [12] rate window ttl, [13] handler, [14] the node as a JSON string
 * The new attempt is written as its own field (`ha`), numbered from `an`: the history (`h`) is
 * decoded only to fold in an open attempt (a takeover marks it lost) or for a record without `an`.
 * Returns {type, ...}: {'claimed', flat as read, tookOverFrom, changed fields (tp/np/pk removed)}, {'missing'}, {'finished'}, {'stale', flat},
 *   {'owned', owner}, {'early', runAt}, {'paused'}, {'busy'}, {'rate', waitMs}
 */
export const JOB_CLAIM = luaScript(
  'jobClaim',
  `${PRELUDE}
local id, nonce, gen, node, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local h, flat = live(id, now)
if not h or not (nonce == '' or h.n == '' or h.n == nonce) then return {'missing'} end
if terminal(h.st) then return {'finished'} end
if tonumber(h.g) ~= tonumber(gen) then return {'stale', flat} end
local took = ''
if h.st == 'active' then
  local owner = h.o or ''
  if ARGV[7] == '' or ARGV[7] ~= owner then return {'owned', owner} end
  took = owner
else
  if tonumber(h.ra) > now then return {'early', h.ra} end
  if redis.call('SISMEMBER', P .. 'paused', h.lq) == 1 then return {'paused'} end
  if ARGV[8] ~= '' and tonumber(redis.call('HGET', P .. 'HA', h.hk) or '0') >= tonumber(ARGV[8]) then
    return {'busy'}
  end
  if ARGV[9] ~= '' then
    local rk = P .. 'R:' .. ARGV[13] .. ':' .. ARGV[10]
    if tonumber(redis.call('GET', rk) or '0') >= tonumber(ARGV[9]) then return {'rate', ARGV[11]} end
    redis.call('INCR', rk)
    redis.call('PEXPIRE', rk, ARGV[12])
  end
end
local attempt = tonumber(h.an or '')
-- No \`an\` and no \`h\`: a record with no attempt yet (the create leaves both out).
if not attempt and not h.h then attempt = 0 end
local changed = {'st', 'active', 'o', node, 'sa', ARGV[6], 'as', tonumber(h.as or '0') + 1, 'v', tonumber(h.v or '0') + 1}
if h.ha or not attempt then
  local history = cjson.decode(h.h or '[]')
  if h.ha then history[#history + 1] = cjson.decode(h.ha) end
  local last = history[#history]
  if took ~= '' and last and last.finishedAt == nil then
    last.finishedAt = now
    last.outcome = 'lost'
    last.error = { message = 'node ' .. took .. ' stopped while running this attempt' }
  end
  attempt = attempt or (last and last.attempt) or 0
  while #history > 19 do table.remove(history, 1) end
  changed[#changed + 1] = 'h'
  changed[#changed + 1] = cjson.encode(history)
end
attempt = attempt + 1
changed[#changed + 1] = 'an'
changed[#changed + 1] = attempt
changed[#changed + 1] = 'ha'
changed[#changed + 1] = '{"attempt":' .. attempt .. ',"node":' .. ARGV[14] .. ',"startedAt":' .. ARGV[6] .. '}'
if took == '' then
  redis.call('ZREM', idx(h.st, h.cb), id)
  redis.call('HINCRBY', P .. 'HQ', h.hk, -1)
  redis.call('ZADD', idx('active', h.cb), h.ea, id)
  redis.call('HINCRBY', P .. 'HA', h.hk, 1)
end
if h.tp then redis.call('ZREM', P .. 'P', id) end
if h.xa then redis.call('ZREM', P .. 'X', id) end
redis.call('HSET', KEYS[1], unpack(changed))
if h.tp or h.np or h.pk then redis.call('HDEL', KEYS[1], 'tp', 'np', 'pk') end
-- The hash as read, then what changed (the caller overlays it): no second HGETALL.
return {'claimed', flat, took, changed}
`,
);

/**
 * Ends an attempt of a generation `owner` owns: writes the fields that changed (one HSET), deletes
 * the optional ones the next record lacks, and moves the indexes (the state always changes: from
 * active); `remove` deletes the record instead.
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] nonce, [4] gen, [5] owner, [6] remove '1' | '0', [7] now,
 *   [8] next state, [9] next runAt, [10] expiresAt or '', [11] ticketPendingSince or '',
 *   [12] n, [13 .. 12 + 2n] field/value pairs to set, then the fields to delete
 * Returns 1 when written, 0 when `owner` does not own the generation, 2 when written, the job ended
 * (terminal state or removed) and nobody watches it: its end need not be announced.
 */
export const JOB_FINISH = luaScript(
  'jobFinish',
  `${PRELUDE}
local id = ARGV[2]
local c = redis.call('HMGET', KEYS[1], 'n', 'g', 'st', 'o', 'cb', 'hk', 'ea', 'tp', 'xa', 'v')
if not c[3] or not (ARGV[3] == '' or c[1] == '' or c[1] == ARGV[3]) or tonumber(c[2]) ~= tonumber(ARGV[4])
  or c[3] ~= 'active' or c[4] ~= ARGV[5] then
  return 0
end
local cb, hk = c[5], c[6]
redis.call('ZREM', idx('active', cb), id)
redis.call('HINCRBY', P .. 'HA', hk, -1)
if c[8] then redis.call('ZREM', P .. 'P', id) end
if c[9] then redis.call('ZREM', P .. 'X', id) end
if ARGV[6] == '1' then
  redis.call('DEL', KEYS[1], P .. 'L:' .. id)
  return ended(id)
end
local st, xa = ARGV[8], ARGV[10]
index(id, st, cb, hk, c[7], ARGV[9], ARGV[11], xa)
local last = 12 + 2 * tonumber(ARGV[12])
redis.call('HSET', KEYS[1], 'v', tonumber(c[10] or '0') + 1, unpack(ARGV, 13, last))
if #ARGV > last then redis.call('HDEL', KEYS[1], unpack(ARGV, last + 1)) end
if xa ~= '' then redis.call('PEXPIRE', P .. 'L:' .. id, math.max(1, tonumber(xa) - tonumber(ARGV[7]))) end
if terminal(st) then return ended(id) end
return 1
`,
);
