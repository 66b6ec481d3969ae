/**
 * Lua that runs next to BullMQ's own on one queue's keys (all under the queue's hash tag, so it runs
 * on a Redis Cluster too). The two `*_BODY` snippets are spliced around BullMQ's add script (see
 * `bull-add-scripts.ts`), so the add and our steps are one atomic script call.
 *
 * Priority layout. BullMQ takes priority-less ("plain") jobs from its `wait` list before every
 * prioritized job, and plain jobs cost the server less. So a queue starts plain: messages of the
 * default priority are plain jobs. The first message of another priority flips the queue for good
 * (a `ck:prioritized` field in BullMQ's meta hash): every unfinished plain job becomes a prioritized
 * job of the default level, in its order, and from then on every message is prioritized (clusterkit
 * priority p → BullMQ p + 1, since BullMQ's 0 means "none").
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

/**
 * Statements that make a caller-given id usable again when its job has completed (BullMQ ignores an
 * add whose id still exists). The completed job stays in the history, renamed to `<id>%R<n>`: no
 * encoded record id can take that name, since encoded ids escape every `%`. Waiting, delayed,
 * active and failed jobs keep the id. Arguments are Lua expressions.
 */
export function REUSE_ID_BODY(completed: string, jobKey: string, idCounter: string, id: string): string {
  return `do
  local ckScore = redis.call('ZSCORE', ${completed}, ${id})
  if ckScore then
    local ckSuffix = '%R' .. redis.call('INCR', ${idCounter})
    redis.call('ZREM', ${completed}, ${id})
    if redis.call('EXISTS', ${jobKey}) == 1 then
      redis.call('RENAME', ${jobKey}, ${jobKey} .. ckSuffix)
      redis.call('ZADD', ${completed}, ckScore, ${id} .. ckSuffix)
    end
    redis.call('DEL', ${jobKey} .. ':logs')
  end
end`;
}

/** Lua helpers: give a plain job the default level; put a job in the prioritized set at a level. */
const LIFT = `
local function ckLift(jobKey, priority)
  if (tonumber(redis.call('HGET', jobKey, 'priority')) or 0) == 0 and redis.call('EXISTS', jobKey) == 1 then
    redis.call('HSET', jobKey, 'priority', priority)
    return true
  end
  return false
end
local function ckPrioritize(prioritized, counter, priority, id)
  local n = redis.call('INCR', counter)
  redis.call('ZADD', prioritized, priority * 0x100000000 + n % 0x100000000, id)
end
`;

/**
 * Statements run right after BullMQ added a plain job: while the queue is plain they do nothing;
 * once it is prioritized, the new job gets the default level, so a publisher that has not heard of
 * the flip yet cannot put a default job ahead of urgent ones. Arguments are Lua expressions.
 */
export function AFTER_PLAIN_ADD_BODY(
  meta: string,
  wait: string,
  prioritized: string,
  counter: string,
  jobKey: string,
  marker: string,
  id: string,
  priority: string,
): string {
  // The helpers are defined inside the branch: a plain queue's add creates no closures for them.
  return `do
  if redis.call('HGET', ${meta}, '${PRIORITIZED_FIELD}') then
${LIFT}
    local ckLevel = tonumber(${priority})
    -- BullMQ LPUSHes a new plain job at the head of wait; a delayed one only needed its level.
    if ckLift(${jobKey}, ckLevel) and redis.call('LINDEX', ${wait}, 0) == ${id} then
      redis.call('LPOP', ${wait})
      ckPrioritize(${prioritized}, ${counter}, ckLevel, ${id})
      redis.call('ZADD', ${marker}, 0, '0')
    end
  end
end`;
}

/** Frees a completed job's id (the MULTI fallback, when BullMQ's add script cannot be wrapped). */
export const REUSE_ID: QueueScript = {
  name: 'ckReuseCompletedId',
  numberOfKeys: 3,
  lua: `--[[
  KEYS[1]  completed (zset)   KEYS[2]  job hash of <id>   KEYS[3]  the queue's id counter
  ARGV[1]  <id> (encoded)
  Returns  nothing; see REUSE_ID_BODY
]]
${REUSE_ID_BODY('KEYS[1]', 'KEYS[2]', 'KEYS[3]', 'ARGV[1]')}
`,
};

/**
 * Statements that flip a queue to prioritized, once (see {@link PRIORITIZE_QUEUE}); they leave the
 * number of waiting jobs moved in the Lua local `ckMoved`, or -1 when the queue was prioritized
 * already. Arguments are Lua expressions (keys, the job key prefix, BullMQ's default level).
 */
export function FLIP_BODY(
  keys: {
    meta: string;
    wait: string;
    paused: string;
    prioritized: string;
    counter: string;
    delayed: string;
    active: string;
    failed: string;
    marker: string;
  },
  jobPrefix: string,
  priority: string,
): string {
  const k = keys;
  return `local ckMoved = -1
do
${LIFT}
if redis.call('HSETNX', ${k.meta}, '${PRIORITIZED_FIELD}', '1') == 1 then
  local priority = tonumber(${priority})
  ckMoved = 0
  for _, list in ipairs({${k.paused}, ${k.wait}}) do
    local ids = redis.call('LRANGE', list, 0, -1)
    -- The tail of the list is the oldest job (BullMQ LPUSHes and takes from the right).
    for i = #ids, 1, -1 do
      local id = ids[i]
      if string.sub(id, 1, 2) ~= '0:' then
        ckLift(${jobPrefix} .. id, priority)
        ckPrioritize(${k.prioritized}, ${k.counter}, priority, id)
        ckMoved = ckMoved + 1
      end
    end
    redis.call('DEL', list)
  end
  for _, id in ipairs(redis.call('ZRANGE', ${k.delayed}, 0, -1)) do ckLift(${jobPrefix} .. id, priority) end
  for _, id in ipairs(redis.call('LRANGE', ${k.active}, 0, -1)) do ckLift(${jobPrefix} .. id, priority) end
  for _, id in ipairs(redis.call('ZRANGE', ${k.failed}, 0, -1)) do ckLift(${jobPrefix} .. id, priority) end
  if ckMoved > 0 and not redis.call('HGET', ${k.meta}, 'paused') then redis.call('ZADD', ${k.marker}, 0, '0') end
end
end`;
}

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
${FLIP_BODY(
  {
    meta: 'KEYS[1]',
    wait: 'KEYS[2]',
    paused: 'KEYS[3]',
    prioritized: 'KEYS[4]',
    counter: 'KEYS[5]',
    delayed: 'KEYS[6]',
    active: 'KEYS[7]',
    failed: 'KEYS[8]',
    marker: 'KEYS[9]',
  },
  'ARGV[1]',
  'ARGV[2]',
)}
return ckMoved
`,
};
