/**
 * The native engine's Lua for job reads (native-job-queries.ts). Every script works on ONE handler
 * queue (one hash slot): ARGV[1] is its BullMQ key prefix `<prefix>:q:{<queue>}:`, KEYS[1] its
 * `meta` key (for routing). Keys of our own next to BullMQ's (a BullMQ job id never contains `:`,
 * so none of them can be a job's key):
 *
 * - `<p>ck:tenant:<tenant>` — sorted set: the queue's jobs of one tenant, scored by enqueue time;
 *   written by the tenant add (below) in the same script call as BullMQ's add.
 * - `<p>ck:tenants` — set of the tenants (escaped) that have such an index.
 * - `<p>ck:cancelled` — sorted set: cancelled jobs (BullMQ's `failed` with the abort mark `ab`),
 *   scored by end; written by the cancel script and by the finish of an aborted attempt.
 *
 * States are BullMQ's structures: `completed`; `failed` (with `ab`: cancelled); `delayed` (due —
 * score below `(now + 1) × 4096` — reads as waiting); `active`; otherwise waiting (`prioritized`,
 * `wait`, `paused`).
 */

/** Shared Lua: the state of a job of queue `p` that exists; the cardinality of an intersection. */
const HELPERS = `
local function ckState(p, id, due)
  if redis.call('ZSCORE', p .. 'completed', id) then return 'completed' end
  if redis.call('ZSCORE', p .. 'failed', id) then
    if redis.call('HEXISTS', p .. id, 'ab') == 1 then return 'cancelled' end
    return 'failed'
  end
  local d = redis.call('ZSCORE', p .. 'delayed', id)
  if d then
    if tonumber(d) < due then return 'waiting' end
    return 'delayed'
  end
  if redis.call('LPOS', p .. 'active', id) then return 'active' end
  return 'waiting'
end
local function ckInter(...)
  local keys = { ... }
  local n = redis.pcall('ZINTERCARD', #keys, unpack(keys))
  if type(n) == 'number' then return n end
  -- Redis < 7: walk the first set.
  local c = 0
  for _, id in ipairs(redis.call('ZRANGE', keys[1], 0, -1)) do
    local all = true
    for i = 2, #keys do
      if not redis.call('ZSCORE', keys[i], id) then all = false break end
    end
    if all then c = c + 1 end
  end
  return c
end
local function ckInList(list, idx)
  local c = 0
  for _, id in ipairs(redis.call('LRANGE', list, 0, -1)) do
    if redis.call('ZSCORE', idx, id) then c = c + 1 end
  end
  return c
end
`;

/**
 * Counts of one handler queue: `[waiting, active, completed, failed, delayed, cancelled]` of all its
 * jobs (from BullMQ's own structures: LLEN / ZCARD / ZCOUNT, no job read), then the same six for
 * each tenant asked (ARGV[4..], escaped; ARGV[3] '1' = every tenant of the queue), each preceded by
 * its name. A tenant's counts intersect its index with BullMQ's sets (ZINTERCARD); its index is
 * dropped once empty. ARGV[2]: the due bound `(now + 1) × 4096`.
 */
export const NATIVE_COUNTS_LUA = `${HELPERS}
local p, due = ARGV[1], ARGV[2]
local dueN = tonumber(due)
local cancelledKey, failedKey = p .. 'ck:cancelled', p .. 'failed'
-- Entries older than the oldest failed job are gone with it (BullMQ removed them by age).
local oldest = redis.call('ZRANGE', failedKey, 0, 0, 'WITHSCORES')
if #oldest == 0 then redis.call('DEL', cancelledKey)
else redis.call('ZREMRANGEBYSCORE', cancelledKey, '-inf', '(' .. oldest[2]) end
local dueCount = redis.call('ZCOUNT', p .. 'delayed', '-inf', '(' .. due)
local cancelled = ckInter(cancelledKey, failedKey)
local out = {
  redis.call('LLEN', p .. 'wait') + redis.call('LLEN', p .. 'paused') + redis.call('ZCARD', p .. 'prioritized') + dueCount,
  redis.call('LLEN', p .. 'active'),
  redis.call('ZCARD', p .. 'completed'),
  redis.call('ZCARD', failedKey) - cancelled,
  redis.call('ZCARD', p .. 'delayed') - dueCount,
  cancelled,
}
local tenants = {}
if ARGV[3] == '1' then tenants = redis.call('SMEMBERS', p .. 'ck:tenants') end
for i = 4, #ARGV do tenants[#tenants + 1] = ARGV[i] end
for _, t in ipairs(tenants) do
  local idx = p .. 'ck:tenant:' .. t
  if redis.call('EXISTS', idx) == 0 then
    redis.call('SREM', p .. 'ck:tenants', t)
    out[#out + 1] = t
    for _ = 1, 6 do out[#out + 1] = 0 end
  else
    local dueT = 0
    if dueCount > 0 then
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', '(' .. due)) do
        if redis.call('ZSCORE', idx, id) then dueT = dueT + 1 end
      end
    end
    local cancelledT = ckInter(idx, failedKey, cancelledKey)
    out[#out + 1] = t
    out[#out + 1] = ckInter(idx, p .. 'prioritized') + ckInList(p .. 'wait', idx) + ckInList(p .. 'paused', idx) + dueT
    out[#out + 1] = ckInList(p .. 'active', idx)
    out[#out + 1] = ckInter(idx, p .. 'completed')
    out[#out + 1] = ckInter(idx, failedKey) - cancelledT
    out[#out + 1] = ckInter(idx, p .. 'delayed') - dueT
    out[#out + 1] = cancelledT
  end
end
return out
`;

/**
 * The newest (by enqueue time) `K` = ARGV[3] jobs of one handler queue in state ARGV[4] ('' = any),
 * enqueued at or after ARGV[5] (the K-th newest of the queues read before; 0 = none), as
 * `[id, enqueuedAt, state, …]`. Finished and delayed jobs are walked from the set's highest score
 * down (end time, due time: never before the enqueue time), K first, then in small steps, stopping
 * once the score is below the K-th newest enqueue time found (or the floor), so a page costs about
 * its own size; waiting jobs are taken per priority level, the K last to enter first; active jobs
 * all. ARGV[2]: the due bound.
 */
export const NATIVE_TOP_LUA = `
local p, due, K, want, floor = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local cands = {}
local function kth()
  table.sort(cands, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return a[1] > b[1]
  end)
  for i = #cands, K + 1, -1 do cands[i] = nil end
  if #cands < K then return nil end
  return cands[K][2]
end
local function wants(st) return want == '' or want == st end
local function add(id, ts, st)
  if ts and tonumber(ts) >= floor then cands[#cands + 1] = { id, tonumber(ts), st } end
end
local function walk(key, hi, lo, div, classify)
  local offset, chunk = 0, K
  while true do
    local page = redis.call('ZREVRANGEBYSCORE', key, hi, lo, 'WITHSCORES', 'LIMIT', offset, chunk)
    if #page == 0 then return end
    for i = 1, #page, 2 do
      local f = redis.call('HMGET', p .. page[i], 'timestamp', 'ab')
      local st = classify(f[2])
      if st then add(page[i], f[1], st) end
    end
    offset = offset + chunk
    local k = kth() or floor
    if math.floor(tonumber(page[#page]) / div) < k then return end
    if #page < chunk * 2 then return end
    chunk = math.max(16, math.ceil(K / 8))
  end
end
if wants('completed') then walk(p .. 'completed', '+inf', '-inf', 1, function() return 'completed' end) end
if want == '' or want == 'failed' or want == 'cancelled' then
  walk(p .. 'failed', '+inf', '-inf', 1, function(ab)
    local st = ab and 'cancelled' or 'failed'
    if wants(st) then return st end
  end)
end
if wants('delayed') then walk(p .. 'delayed', '+inf', due, 4096, function() return 'delayed' end) end
if wants('waiting') then
  walk(p .. 'delayed', '(' .. due, '-inf', 4096, function() return 'waiting' end)
  local key = p .. 'prioritized'
  local level = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  while #level > 0 do
    local n = math.floor(tonumber(level[2]) / 4294967296)
    local top = string.format('%.0f', (n + 1) * 4294967296)
    local ids = redis.call('ZREVRANGEBYSCORE', key, '(' .. top, string.format('%.0f', n * 4294967296), 'LIMIT', 0, K)
    for _, id in ipairs(ids) do add(id, redis.call('HGET', p .. id, 'timestamp'), 'waiting') end
    kth()
    level = redis.call('ZRANGEBYSCORE', key, top, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  end
  for _, list in ipairs({ 'wait', 'paused' }) do
    for _, id in ipairs(redis.call('LRANGE', p .. list, 0, K - 1)) do
      add(id, redis.call('HGET', p .. id, 'timestamp'), 'waiting')
    end
  end
end
if wants('active') then
  for _, id in ipairs(redis.call('LRANGE', p .. 'active', 0, -1)) do
    add(id, redis.call('HGET', p .. id, 'timestamp'), 'active')
  end
end
kth()
local out = {}
for _, c in ipairs(cands) do
  out[#out + 1] = c[1]
  out[#out + 1] = tostring(c[2])
  out[#out + 1] = c[3]
end
return out
`;

/**
 * As {@link NATIVE_TOP_LUA} for the jobs of tenant ARGV[5] (escaped): its index walked newest first
 * until `K` jobs of the state are found; entries whose job BullMQ has removed are dropped on the way.
 */
export const NATIVE_TENANT_TOP_LUA = `${HELPERS}
local p, due, K, want = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local idx = p .. 'ck:tenant:' .. ARGV[5]
local out, offset, chunk = {}, 0, math.max(K, 200)
while #out < K * 3 do
  local page = redis.call('ZREVRANGE', idx, offset, offset + chunk - 1, 'WITHSCORES')
  if #page == 0 then break end
  local gone = 0
  for i = 1, #page, 2 do
    local id = page[i]
    if redis.call('EXISTS', p .. id) == 0 then
      redis.call('ZREM', idx, id)
      gone = gone + 1
    elseif #out < K * 3 then
      local st = ckState(p, id, due)
      if want == '' or want == st then
        out[#out + 1] = id
        out[#out + 1] = page[i + 1]
        out[#out + 1] = st
      end
    end
  end
  offset = offset + chunk - gone
  if #page < chunk * 2 then break end
end
return out
`;

/**
 * Deletes up to ARGV[5] finished jobs of one handler queue from set ARGV[2] ('completed' or
 * 'failed') that ended at or before ARGV[4]; ARGV[3]: '1' only cancelled ones, '0' only failed
 * ones, '' any; ARGV[6]: only this tenant's (escaped; '' any). Returns how many.
 */
export const NATIVE_CLEAN_LUA = `
local p, set, ab, before, limit, tenant = ARGV[1], ARGV[1] .. ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local idx = tenant ~= '' and (p .. 'ck:tenant:' .. tenant) or nil
local removed, offset = 0, 0
while removed < limit do
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', before, 'LIMIT', offset, 500)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    if removed >= limit then break end
    local key = p .. id
    local ok = true
    if ab ~= '' then ok = (redis.call('HEXISTS', key, 'ab') == 1) == (ab == '1') end
    if ok and idx then ok = redis.call('ZSCORE', idx, id) ~= false end
    if ok then
      redis.call('ZREM', set, id)
      redis.call('DEL', key, key .. ':logs')
      redis.call('ZREM', p .. 'ck:cancelled', id)
      if idx then redis.call('ZREM', idx, id) end
      removed = removed + 1
    else
      offset = offset + 1
    end
  end
end
return removed
`;

/**
 * BullMQ's add script `source` (or the id index's wrapping of it, native-ids.ts: its three ARGV
 * follow ours), wrapped for a job with a tenant: after the add, in the same call, the job enters
 * its tenant's index (ZADD NX, score = enqueue time ARGV[5]; tenant ARGV[4], escaped)
 * and the two oldest entries of that index are dropped if their job is gone (amortized pruning of
 * jobs BullMQ removed by age or count). Jobs without a tenant use BullMQ's add unchanged.
 */
export function tenantAddLua(source: string): string {
  return `local ckPrefix = string.match(KEYS[1], '^(.*:)[^:]+$')
if not ckPrefix then ckPrefix = cmsgpack.unpack(ARGV[1])[1] end
local ckTenant, ckTime = ARGV[4], ARGV[5]
local ckResult = (function()
${source}
end)()
-- A caller id held by another handler's job (the id index's dedupe) is not this queue's job.
if type(ckResult) == 'string' and redis.call('EXISTS', ckPrefix .. ckResult) == 1 then
  local idx = ckPrefix .. 'ck:tenant:' .. ckTenant
  for _, old in ipairs(redis.call('ZRANGE', idx, 0, 1)) do
    if redis.call('EXISTS', ckPrefix .. old) == 0 then redis.call('ZREM', idx, old) end
  end
  redis.call('ZADD', idx, 'NX', ckTime, ckResult)
  redis.call('SADD', ckPrefix .. 'ck:tenants', ckTenant)
end
return ckResult
`;
}
