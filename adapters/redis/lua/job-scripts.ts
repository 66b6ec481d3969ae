/**
 * Lua scripts of the Redis job store: each job transition is one script, one round trip, run
 * atomically by Redis. Every key of one app's job store shares the hash tag `{<app>}`, so the scripts
 * work on a Redis Cluster (keys are built from the prefix in ARGV[1]; KEYS[1] routes the call).
 *
 * Record hash `J:<id>`: `r` the record JSON as last written whole, plus the fields transitions change
 * without rewriting it — st state, o owner, sa startedAt, as attemptsStarted, h history JSON,
 * ab abort requested, tp ticket pending since, np no-processor since, pr progress JSON, fa finishedAt,
 * xa retention end, pk parked by, v version — and what the scripts read: g gen, n nonce, ea enqueuedAt,
 * ra runAt, cb plugin/queue/tenant combo, hk handler key, lq logical queue key.
 * Indexes: `S:<state>:<combo>` (score enqueuedAt), `D:<combo>` delayed (score runAt), `C` combos,
 * `P` pending tickets (score since), `X` retention ends, `HQ`/`HA` queued/active per handler,
 * `paused` logical queues, `R:<handler>:<window>` rate counters, `L:<id>` logs.
 */
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
  redis.call('ZREM', P .. 'P', id)
  redis.call('ZREM', P .. 'X', id)
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
`;
}
const PRELUDE = jobPrelude('ARGV[1]');

/**
 * Creates a record unless its id exists.
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] now, [4.. ] field/value pairs of the record hash
 * Returns {1, backlog} when created, {0, flat hash} when the id exists.
 */
export const JOB_CREATE = luaScript(
  'jobCreate',
  `${PRELUDE}
local id = ARGV[2]
local h, flat = live(id, tonumber(ARGV[3]))
if h then return {0, flat} end
local f = {}
for i = 4, #ARGV, 2 do f[ARGV[i]] = ARGV[i + 1] end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', P .. 'C', f.cb, f.cbj)
index(id, f.st, f.cb, f.hk, f.ea, f.ra, f.tp, f.xa)
return {1, tonumber(redis.call('HGET', P .. 'HQ', f.hk) or '0')}
`,
);

/**
 * Claims a generation (see job-transitions.ts decideClaim for the rules, in the same order).
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] nonce, [4] gen, [5] node, [6] now, [7] takeOverFrom or '',
 *   [8] globalConcurrency or '', [9] rate max or '', [10] rate window, [11] rate window end (ms from now),
 *   [12] rate window ttl, [13] handler
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
local history = cjson.decode(h.h or '[]')
local took = ''
if h.st == 'active' then
  local owner = h.o or ''
  if ARGV[7] == '' or ARGV[7] ~= owner then return {'owned', owner} end
  local last = history[#history]
  if last and last.finishedAt == nil then
    last.finishedAt = now
    last.outcome = 'lost'
    last.error = { message = 'node ' .. owner .. ' stopped while running this attempt' }
  end
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
local attempt = 1
if #history > 0 then attempt = history[#history].attempt + 1 end
history[#history + 1] = { attempt = attempt, node = node, startedAt = now }
while #history > 20 do table.remove(history, 1) end
if took == '' then
  unindex(id, h)
  index(id, 'active', h.cb, h.hk, h.ea, h.ra, nil, nil)
else
  redis.call('ZREM', P .. 'P', id)
end
local changed = {'st', 'active', 'o', node, 'sa', now, 'as', tonumber(h.as or '0') + 1,
  'h', cjson.encode(history), 'v', tonumber(h.v or '0') + 1}
redis.call('HSET', KEYS[1], unpack(changed))
redis.call('HDEL', KEYS[1], 'tp', 'np', 'pk')
-- The hash as read, then what changed (the caller overlays it): no second HGETALL.
return {'claimed', flat, took, changed}
`,
);

/**
 * Writes a whole record if a check holds: `owner` (the generation is active under that owner) or
 * `version` (the hash is unchanged since it was read). Keeps every index in step; `remove` deletes.
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] check 'owner' | 'version', [4] nonce, [5] gen, [6] owner or version,
 *   [7] remove '1' | '0', [8] now, [9..] field/value pairs of the new hash
 * Returns 1 when written, 0 when the check failed, 2 when written, the job ended (terminal state or
 * removed) and nobody watches it (no `W:<id>`, see JOB_WATCH): its end need not be announced.
 */
export const JOB_WRITE = luaScript(
  'jobWrite',
  `${PRELUDE}
local id = ARGV[2]
local h = load(KEYS[1])
if ARGV[3] == 'owner' then
  if not sameRef(h, ARGV[4], ARGV[5]) or h.st ~= 'active' or h.o ~= ARGV[6] then return 0 end
else
  if (h and h.v or '') ~= ARGV[6] then return 0 end
end
if h then unindex(id, h) end
local function ended() return redis.call('EXISTS', P .. 'W:' .. id) == 1 and 1 or 2 end
if ARGV[7] == '1' then
  redis.call('DEL', KEYS[1], P .. 'L:' .. id)
  return ended()
end
local f = {}
for i = 9, #ARGV, 2 do f[ARGV[i]] = ARGV[i + 1] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', tonumber(h and h.v or '0') + 1, unpack(ARGV, 9))
index(id, f.st, f.cb, f.hk, f.ea, f.ra, f.tp, f.xa)
if f.xa then redis.call('PEXPIRE', P .. 'L:' .. id, math.max(1, tonumber(f.xa) - tonumber(ARGV[8]))) end
if terminal(f.st) then return ended() end
return 1
`,
);

/**
 * Registers interest in a job's end (`waitForJob`): `W:<id>` lives at least `ttl` ms more.
 * KEYS[1] W:<id>; ARGV[1] ttl ms
 */
export const JOB_WATCH = luaScript(
  'jobWatch',
  `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
`,
);

/**
 * Parks a waiting generation: "ticket pending" since now, parked by a node.
 * KEYS[1] J:<id>; ARGV[1] prefix, [2] id, [3] nonce, [4] gen, [5] node, [6] now
 * Returns 1 when parked, 0 when the generation is not a waiting current one.
 */
export const JOB_PARK = luaScript(
  'jobPark',
  `${PRELUDE}
local h = load(KEYS[1])
if not sameRef(h, ARGV[3], ARGV[4]) or (h.st ~= 'waiting' and h.st ~= 'delayed') then return 0 end
redis.call('HSET', KEYS[1], 'tp', ARGV[6], 'pk', ARGV[5])
redis.call('ZADD', P .. 'P', ARGV[6], ARGV[2])
return 1
`,
);

/**
 * Clears "ticket pending" of the current generation.
 * KEYS[1] J:<id>; ARGV[1] prefix, [2] id, [3] nonce, [4] gen
 */
export const JOB_TICKET_SENT = luaScript(
  'jobTicketSent',
  `${PRELUDE}
local h = load(KEYS[1])
if not sameRef(h, ARGV[3], ARGV[4]) or not h.tp then return 0 end
redis.call('HDEL', KEYS[1], 'tp', 'pk')
redis.call('ZREM', P .. 'P', ARGV[2])
return 1
`,
);

/**
 * Owner-checked field updates: progress (`pr`) or a log line.
 * KEYS[1] J:<id>; ARGV[1] prefix, [2] id, [3] nonce, [4] gen, [5] owner, [6] 'progress' | 'log',
 *   [7] value, [8] most log lines
 */
export const JOB_OWNED_UPDATE = luaScript(
  'jobOwnedUpdate',
  `${PRELUDE}
local h = load(KEYS[1])
if not sameRef(h, ARGV[3], ARGV[4]) or h.st ~= 'active' or h.o ~= ARGV[5] then return 0 end
if ARGV[6] == 'progress' then
  redis.call('HSET', KEYS[1], 'pr', ARGV[7])
else
  local lk = P .. 'L:' .. ARGV[2]
  redis.call('RPUSH', lk, ARGV[7])
  redis.call('LTRIM', lk, -tonumber(ARGV[8]), -1)
end
return 1
`,
);

/**
 * Deletes records: one id (ARGV[3]) or the finished ones whose retention ended (ARGV[3] = '', ARGV[4]
 * = now, ARGV[5] = most to delete).
 * KEYS[1] X (or J:<id>); ARGV[1] prefix, [2] mode 'one' | 'expired', ...
 * Returns how many were deleted.
 */
export const JOB_DELETE = luaScript(
  'jobDelete',
  `${PRELUDE}
if ARGV[2] == 'one' then
  local h = load(P .. 'J:' .. ARGV[3])
  if not h then return 0 end
  delete(ARGV[3], h)
  return 1
end
local ids = redis.call('ZRANGEBYSCORE', P .. 'X', '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(ids) do
  local h = load(P .. 'J:' .. id)
  if h then delete(id, h) else redis.call('ZREM', P .. 'X', id) end
end
return #ids
`,
);

/**
 * Schedules: save (refusing another owner's), mark a tick, remove.
 * KEYS[1] sch:<id>; ARGV[1] prefix, [2] op 'save' | 'tick' | 'remove', [3] schedule id,
 *   save: [4] json, [5] plugin, [6] tenant ('' none) — returns 1, or 'mismatch'
 *   tick: [4] tick — returns 1 when recorded; remove: [4] tenant or '' — returns 1 when removed
 */
export const JOB_SCHEDULE = luaScript(
  'jobSchedule',
  `
local P = ARGV[1]
local op = ARGV[2]
if op == 'save' then
  local owner = redis.call('HMGET', KEYS[1], 'p', 't')
  if owner[1] and (owner[1] ~= ARGV[5] or (owner[2] or '') ~= ARGV[6]) then return 'mismatch' end
  redis.call('HSET', KEYS[1], 'j', ARGV[4], 'p', ARGV[5], 't', ARGV[6])
  redis.call('SADD', P .. 'schs', ARGV[3])
  return 1
elseif op == 'tick' then
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local last = redis.call('HGET', KEYS[1], 'lt')
  if last and tonumber(last) >= tonumber(ARGV[4]) then return 0 end
  redis.call('HSET', KEYS[1], 'lt', ARGV[4])
  return 1
else
  local t = redis.call('HGET', KEYS[1], 't')
  if not t then return 0 end
  if ARGV[4] ~= '' and t ~= ARGV[4] then return 0 end
  redis.call('DEL', KEYS[1])
  redis.call('SREM', P .. 'schs', ARGV[3])
  return 1
end
`,
);
