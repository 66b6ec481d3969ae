/**
 * Scripts that run next to BullMQ's own on one queue's keys (all under the queue's hash tag, so
 * they run on a Redis Cluster too). They are sent in the same MULTI as BullMQ's add, so the add and
 * its check are one store operation: no worker, no other publisher, sees the state in between.
 *
 * Priority layout. BullMQ takes priority-less ("plain") jobs from its `wait` list before every
 * prioritized job, and a plain add costs the server less than a prioritized one. So a queue starts
 * plain: messages of the default priority are plain jobs. The first message of another priority
 * flips the queue for good (a `ck:prioritized` field in BullMQ's meta hash): every unfinished plain
 * job becomes a prioritized job of the default level, in its order, and from then on every message
 * is prioritized (clusterkit priority p → BullMQ p + 1, since BullMQ's 0 means "none").
 */

/** BullMQ priority of clusterkit's default priority (2) once a queue is prioritized. */
export const BULL_DEFAULT_PRIORITY = 3;

/** Field of BullMQ's meta hash that marks a queue as prioritized. */
export const PRIORITIZED_FIELD = 'ck:prioritized';

/** A script as ioredis `defineCommand` takes it. */
export interface QueueScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

/** Frees a caller-given id whose job completed, keeping that job in the history under another id. */
export const REUSE_ID: QueueScript = {
  name: 'ckReuseCompletedId',
  numberOfKeys: 3,
  lua: `--[[
  Makes a caller-given job id usable again when its job has completed (BullMQ ignores an add whose
  id still exists). The completed job stays in the history, renamed to <id>%R<n>: no encoded record
  id can take that name, since encoded ids escape every '%'.
  KEYS[1]  completed (zset)
  KEYS[2]  job hash of <id>
  KEYS[3]  the queue's id counter (a unique n)
  ARGV[1]  <id> (encoded)
  Returns  1 when a completed job was moved aside, 0 when the id is free or held by an unfinished job
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
local suffix = '%R' .. redis.call('INCR', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[2] .. suffix)
  redis.call('ZADD', KEYS[1], score, ARGV[1] .. suffix)
end
redis.call('DEL', KEYS[2] .. ':logs')
return 1
`,
};

const LIFT = `
local function lift(jobKey, priority)
  if (tonumber(redis.call('HGET', jobKey, 'priority')) or 0) == 0 and redis.call('EXISTS', jobKey) == 1 then
    redis.call('HSET', jobKey, 'priority', priority)
    return true
  end
  return false
end
local function prioritize(prioritized, counter, priority, id)
  local n = redis.call('INCR', counter)
  redis.call('ZADD', prioritized, priority * 0x100000000 + n % 0x100000000, id)
end
`;

/** After a plain add (in the same MULTI): if the queue has been prioritized meanwhile, prioritize the job. */
export const AFTER_PLAIN_ADD: QueueScript = {
  name: 'ckAfterPlainAdd',
  numberOfKeys: 6,
  lua: `--[[
  Runs right after BullMQ added a plain (priority-less) job, in the same MULTI. While the queue is
  plain it does nothing; once the queue is prioritized the new job gets the default level, so it
  cannot run ahead of more urgent jobs.
  KEYS[1]  meta (hash)      KEYS[2]  wait (list)   KEYS[3]  prioritized (zset)
  KEYS[4]  priority counter KEYS[5]  job hash      KEYS[6]  marker (zset)
  ARGV[1]  job id           ARGV[2]  BullMQ priority of the default level
  Returns  0 while the queue is plain, 1 once it is prioritized
]]
${LIFT}
if not redis.call('HGET', KEYS[1], '${PRIORITIZED_FIELD}') then return 0 end
local priority = tonumber(ARGV[2])
if lift(KEYS[5], priority) and redis.call('LINDEX', KEYS[2], 0) == ARGV[1] then
  -- BullMQ LPUSHes a new plain job at the head of wait; a delayed one only needed its priority.
  redis.call('LPOP', KEYS[2])
  prioritize(KEYS[3], KEYS[4], priority, ARGV[1])
  redis.call('ZADD', KEYS[6], 0, '0')
end
return 1
`,
};

/** Flips a queue to prioritized: every unfinished plain job becomes a job of the default level. */
export const PRIORITIZE_QUEUE: QueueScript = {
  name: 'ckPrioritizeQueue',
  numberOfKeys: 9,
  lua: `--[[
  Marks the queue prioritized, once. Waiting plain jobs move to the prioritized set at the default
  level, oldest first, so they keep their order and stay ahead of later default-level jobs; delayed,
  active and failed plain jobs get the default level in their hash, so a promotion, a retry, a
  hand-back or a redrive puts them in the prioritized set too. Runs once per queue, in O(jobs).
  KEYS[1]  meta (hash)     KEYS[2]  wait (list)    KEYS[3]  paused (list)   KEYS[4]  prioritized (zset)
  KEYS[5]  priority counter KEYS[6] delayed (zset) KEYS[7]  active (list)   KEYS[8]  failed (zset)
  KEYS[9]  marker (zset)
  ARGV[1]  job key prefix ('<prefix>:<queue>:')    ARGV[2]  BullMQ priority of the default level
  Returns  the number of waiting jobs moved, or -1 when the queue was already prioritized
]]
${LIFT}
if redis.call('HSETNX', KEYS[1], '${PRIORITIZED_FIELD}', '1') == 0 then return -1 end
local priority = tonumber(ARGV[2])
local moved = 0
for _, list in ipairs({KEYS[3], KEYS[2]}) do
  local ids = redis.call('LRANGE', list, 0, -1)
  -- The tail of the list is the oldest job (BullMQ LPUSHes and takes from the right).
  for i = #ids, 1, -1 do
    local id = ids[i]
    if string.sub(id, 1, 2) ~= '0:' then
      lift(ARGV[1] .. id, priority)
      prioritize(KEYS[4], KEYS[5], priority, id)
      moved = moved + 1
    end
  end
  redis.call('DEL', list)
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do lift(ARGV[1] .. id, priority) end
for _, id in ipairs(redis.call('LRANGE', KEYS[7], 0, -1)) do lift(ARGV[1] .. id, priority) end
for _, id in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do lift(ARGV[1] .. id, priority) end
if moved > 0 and not redis.call('HGET', KEYS[1], 'paused') then redis.call('ZADD', KEYS[9], 0, '0') end
return moved
`,
};
