/**
 * The lock's atomic steps. The lease key and its fencing counter share a hash tag, so each script
 * touches one slot and runs on a Redis Cluster too.
 */
import { luaScript } from './run-script.js';

/** Takes the lease if free and draws the next fencing token from a counter that never expires. */
export const ACQUIRE = luaScript(
  'lockAcquire',
  `--[[
  Takes the lease if nobody holds it.
  KEYS[1]  lease key (value = owner token, expires with the lease)
  KEYS[2]  fencing counter key (never expires, so tokens keep increasing)
  ARGV[1]  owner token
  ARGV[2]  lease ttl in ms
  Returns  {1, fencingToken} when taken, {0, remaining ttl of the holder in ms} when held
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
`,
);

/** Deletes the lease only for its owner, and tells waiters. */
export const RELEASE = luaScript(
  'lockRelease',
  `--[[
  Compare-and-delete, then notify.
  KEYS[1]  lease key
  ARGV[1]  owner token
  ARGV[2]  release notification channel
  Returns  1 when released, 0 when the caller was not the owner (or the lease had expired)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '1')
  return 1
end
return 0
`,
);

/** Resets the lease's ttl only for its owner. */
export const EXTEND = luaScript(
  'lockExtend',
  `--[[
  Compare-and-extend.
  KEYS[1]  lease key
  ARGV[1]  owner token
  ARGV[2]  new ttl in ms from now
  Returns  1 when extended, 0 when the caller was not the owner (or the lease had expired)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`,
);
