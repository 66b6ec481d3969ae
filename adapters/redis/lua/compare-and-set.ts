import { luaScript } from './run-script.js';

/** Atomic compare-and-set of a string value (the cache's `setValueInObject` / `delValueInObject`). */
export const COMPARE_AND_SET = luaScript(
  'compareAndSet',
  `--[[
  Writes a value only when the current one is exactly the expected one.
  KEYS[1]  the key
  ARGV[1]  "1" when a current value is expected, "0" when the key must be missing
  ARGV[2]  the expected current value (ignored when ARGV[1] is "0")
  ARGV[3]  the new value
  ARGV[4]  ttl in ms of the new value, "0" = none
  Returns  1 when written, 0 when the current value differed
]]
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
`,
);
