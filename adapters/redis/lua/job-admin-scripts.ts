/**
 * Lua scripts of the Redis job store for its rarer transitions — the version-checked whole write
 * behind cancel, retry, release, promote and the no-processor mark; interest in a job's end; park;
 * ticket confirmation; progress and logs; deletes; schedules. The hot path (create, claim, finish)
 * is in `job-scripts.ts`, with the record hash's field names.
 */
import { HASH_HEAD_LUA } from '../job-hash.js';
import { jobPrelude } from './job-scripts.js';
import { luaScript } from './run-script.js';

const PRELUDE = jobPrelude('ARGV[1]');

/**
 * Writes a whole record if its version is unchanged since it was read (the hash is replaced, so an
 * open attempt `ha` read back into the history is folded into `h`). Keeps every index in step;
 * `remove` deletes.
 * KEYS[1] J:<id>
 * ARGV[1] prefix, [2] id, [3] version read ('' = none), [4] remove '1' | '0', [5] now,
 *   [6..] field/value pairs of the new hash (`toHash` order)
 * Returns 1 when written, 0 when the version changed, 2 when written, the job ended (terminal state
 * or removed) and nobody watches it (no `W:<id>`, see JOB_WATCH): its end need not be announced.
 */
export const JOB_WRITE = luaScript(
  'jobWrite',
  `${PRELUDE}
local id = ARGV[2]
local h = load(KEYS[1])
if (h and h.v or '') ~= ARGV[3] then return 0 end
if h then unindex(id, h) end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1], P .. 'L:' .. id)
  return ended(id)
end
${HASH_HEAD_LUA('6')}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', tonumber(h and h.v or '0') + 1, unpack(ARGV, 6))
index(id, hst, hcb, hhk, hea, hra, htp, hxa)
if hxa then redis.call('PEXPIRE', P .. 'L:' .. id, math.max(1, tonumber(hxa) - tonumber(ARGV[5]))) end
if terminal(hst) then return ended(id) end
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
 * Clears "ticket pending" of the current generation, unless a node parked it since the publish
 * (the record is parked by another node than the one the publish replaces).
 * KEYS[1] J:<id>; ARGV[1] prefix, [2] id, [3] nonce, [4] gen, [5] parked by ('' = not parked)
 */
export const JOB_TICKET_SENT = luaScript(
  'jobTicketSent',
  `${PRELUDE}
local h = load(KEYS[1])
if not sameRef(h, ARGV[3], ARGV[4]) or not h.tp or (h.pk or '') ~= (ARGV[5] or '') then return 0 end
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
