import { luaScript } from './run-script.js';

/** Atomic INCRBY that sets a TTL only when it creates the key. */
export const INCR_WITH_TTL = luaScript(
  'incrWithTtl',
  `--[[
  Adds to an integer value; sets the expiry only when this call created the key.
  KEYS[1]  the counter key
  ARGV[1]  increment (integer)
  ARGV[2]  ttl in ms for a new key, "0" = none
  Returns  the new value
]]
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if existed == 0 and ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return value
`,
);
