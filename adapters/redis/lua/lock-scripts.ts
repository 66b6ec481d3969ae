/**
 * The fair lock's atomic steps. Every key of one lock (lease, fencing counter, line, places) shares
 * a hash tag, so each script touches one slot and runs on a Redis Cluster too.
 *
 * Keys of a lock (see docs/redis.md):
 *   lease   string "<owner> <token>", PX = the lease; "<owner> <token>+" once someone may be in line
 *           (the mark is set whenever the line may be non-empty while the lease is held, so a release
 *           of an unmarked lease needs not look at the line)
 *   fence   the fencing counter; never expires; seeded from the server clock (µs) when missing
 *   line    list of waiting owners, first come first
 *   places  hash owner -> "<deadline ms> <ttl ms>": a place lapses at its deadline unless renewed
 *
 * Times are the Redis server's clock (TIME), in ms; a contended attempt returns it so the client
 * can relate a hand-off announced later to its own clock.
 */
import { luaScript } from './run-script.js';

/**
 * Shared Lua: the owner part of a lease value "<owner> <token>" or "<owner> <token>+" (owners may
 * contain spaces; tokens are digits; `+` marks that someone may wait in line).
 */
const HOLDER = `
local function holder(value)
  if not value then return nil end
  local owner, token = string.match(value, '^(.*) (%d+)%+?$')
  if not owner then return value, 0 end
  return owner, tonumber(token)
end
`;

/** Shared Lua: the clock, the owner check, the fencing counter, and handing the lease on. */
const COMMON = `
-- The server clock, read only when a step needs it (the uncontended path never does).
local t, now
local function clock()
  if not t then
    t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
${HOLDER}
-- The next fencing token. A missing counter (restart without persistence, FLUSHDB, eviction,
-- failover to a replica that had not seen it) is seeded from the server clock in microseconds, so
-- tokens stay above every earlier one as long as that clock does not go back.
local function nextToken()
  local token = redis.call('INCR', KEYS[2])
  if token == 1 then
    clock()
    token = tonumber(t[1]) * 1000000 + tonumber(t[2]) + 1
    redis.call('SET', KEYS[2], string.format('%.0f', token))
  end
  return token
end

-- The lease value's suffix: '+' while anyone stands in line (a release must then look at the line).
local function waitMark()
  if redis.call('LINDEX', KEYS[3], 0) then return '+' end
  return ''
end

-- Gives the lease to the first waiter whose place has not lapsed and announces it; frees the lease
-- and announces that when nobody (alive) waits.
local function passOn(channel)
  while true do
    local owner = redis.call('LPOP', KEYS[3])
    if not owner then break end
    clock()
    local place = redis.call('HGET', KEYS[4], owner)
    redis.call('HDEL', KEYS[4], owner)
    if place then
      local space = string.find(place, ' ', 1, true)
      local deadline = tonumber(string.sub(place, 1, space - 1))
      local ttl = string.sub(place, space + 1)
      if deadline >= now then
        local token = string.format('%.0f', nextToken())
        redis.call('SET', KEYS[1], owner .. ' ' .. token .. waitMark(), 'PX', ttl)
        redis.call('PUBLISH', channel, 'g ' .. owner .. ' ' .. token .. ' ' .. ttl .. ' ' .. now)
        return
      end
    end
  end
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', channel, 'r')
end
`;

const KEYS_DOC = `  KEYS[1]  lease    KEYS[2]  fencing counter    KEYS[3]  line (list)    KEYS[4]  places (hash)`;

/** One attempt: take a free lease when first in line (or nobody waits), else optionally join the line. */
export const ACQUIRE = luaScript(
  'lockAcquire',
  `--[[
  Takes the lease if it is free and the caller is first in line (or nobody waits).
${KEYS_DOC}
  ARGV[1]  owner token
  ARGV[2]  lease ttl in ms
  ARGV[3]  place length in ms when the attempt fails: join the line or renew the place; 0 = never join
  Returns  fencingToken                         taken uncontended (a bare integer: the cheapest reply;
                                                 the server clock is not read)
           {1, fencingToken, lease ms}           taken from the line (the caller was its head)
           {1, fencingToken, remaining ms, now}  the lease had been handed to the caller earlier
           {0, retry after ms, now}              held, or someone else is first in line
]]
-- Uncontended (free lease, empty line) first, before COMMON's helpers exist: each \`local function\`
-- is a new closure on every call, and this path needs none. One EXISTS answers both questions (Redis
-- deletes a list when its last element goes, so an empty line is a missing key); the general path
-- below reads the lease itself. Same writes as the general path.
if redis.call('EXISTS', KEYS[1], KEYS[3]) == 0 then
  local fresh = redis.call('INCR', KEYS[2])
  if fresh == 1 then
    -- A lost counter, seeded as nextToken() does.
    local t = redis.call('TIME')
    fresh = tonumber(t[1]) * 1000000 + tonumber(t[2]) + 1
    redis.call('SET', KEYS[2], string.format('%.0f', fresh))
  end
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%.0f', fresh), 'PX', ARGV[2])
  return fresh
end
${COMMON}
local value = redis.call('GET', KEYS[1])
local owner = ARGV[1]
local queueMs = tonumber(ARGV[3])

local function join()
  if queueMs <= 0 then return end
  local place = string.format('%.0f', clock() + queueMs) .. ' ' .. ARGV[2]
  if redis.call('HSET', KEYS[4], owner, place) == 1 then redis.call('RPUSH', KEYS[3], owner) end
  -- Someone waits now: the holder's release must look at the line (APPEND keeps the lease's PX).
  if value and string.sub(value, -1) ~= '+' then
    redis.call('APPEND', KEYS[1], '+')
    value = value .. '+'
  end
  -- The line outlives its longest place, and no longer: an abandoned line cleans itself up.
  if redis.call('PTTL', KEYS[4]) < queueMs then
    redis.call('PEXPIRE', KEYS[3], queueMs)
    redis.call('PEXPIRE', KEYS[4], queueMs)
  end
end

local current, token = holder(value)
if current == owner then
  return {1, token, redis.call('PTTL', KEYS[1]), clock()}
end
if current then
  clock()
  join()
  return {0, redis.call('PTTL', KEYS[1]), now}
end
-- Free with people in line (the fast path took a free lease on an empty line): drop lapsed places
-- at the head, then only the head (or anyone, once the line is empty) may take it.
while true do
  local head = redis.call('LINDEX', KEYS[3], 0)
  if not head then break end
  clock()
  local place = redis.call('HGET', KEYS[4], head)
  local deadline = place and tonumber(string.sub(place, 1, string.find(place, ' ', 1, true) - 1))
  if deadline and deadline >= now then
    if head ~= owner then
      join()
      return {0, math.max(1, deadline - now), now}
    end
    redis.call('LPOP', KEYS[3])
    redis.call('HDEL', KEYS[4], owner)
    break
  end
  redis.call('LPOP', KEYS[3])
  redis.call('HDEL', KEYS[4], head)
end
token = nextToken()
redis.call('SET', KEYS[1], owner .. ' ' .. string.format('%.0f', token) .. waitMark(), 'PX', ARGV[2])
return {1, token, tonumber(ARGV[2])}
`,
);

/** Ends the lease for its owner and hands it to the first live waiter (or frees it), announcing which. */
export const RELEASE = luaScript(
  'lockRelease',
  `--[[
  Compare-and-hand-on; announces the hand-off or the release unless nobody was in line.
${KEYS_DOC}
  ARGV[1]  owner token
  ARGV[2]  notification channel
  ARGV[3]  the lease value the caller was given, "<owner> <token>" ('' when unknown)
  Returns  1 when released, 0 when the caller was not the owner (or the lease had expired)
]]
-- Uncontended (the caller holds it, nobody waits) first, before COMMON's helpers exist; the owner
-- check is holder()'s ("<owner> <digits>") without a pattern capture. An unmarked lease (no '+')
-- means nobody joined the line since it was set, so the line needs no look, and nobody needs the
-- notification either: every waiter stands in the line before it listens (lock-waiter.ts), and a
-- listener that is not in line re-checks on its own timer. The full path below always announces.
-- The caller usually knows the exact value (its owner and token): one string comparison.
local value = redis.call('GET', KEYS[1])
if value and value == ARGV[3] then
  redis.call('DEL', KEYS[1])
  return 1
end
if not value then return 0 end
local n = #ARGV[1]
if string.sub(value, n + 1, n + 1) == ' ' and string.sub(value, 1, n) == ARGV[1]
    and string.find(value, '^%d+$', n + 2) then
  redis.call('DEL', KEYS[1])
  return 1
end
${COMMON}
if holder(value) ~= ARGV[1] then return 0 end
passOn(ARGV[2])
return 1
`,
);

/** A waiter gives up: it leaves the line, and a lease handed to it meanwhile passes on. */
export const LEAVE = luaScript(
  'lockLeave',
  `--[[
  Leaves the line; passes on a lease that was handed to the caller while it was leaving.
${KEYS_DOC}
  ARGV[1]  owner token
  ARGV[2]  notification channel
  Returns  1 when the caller held the lease (now passed on), 0 otherwise
]]
${COMMON}
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if holder(redis.call('GET', KEYS[1])) ~= ARGV[1] then return 0 end
passOn(ARGV[2])
return 1
`,
);

/** Resets the lease's ttl only for its owner. */
export const EXTEND = luaScript(
  'lockExtend',
  `--[[
  Compare-and-extend.
  KEYS[1]  lease key (value "<owner> <token>")
  ARGV[1]  owner token
  ARGV[2]  new ttl in ms from now
  Returns  1 when extended, 0 when the caller was not the owner (or the lease had expired)
]]
${HOLDER}
if holder(redis.call('GET', KEYS[1])) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`,
);
