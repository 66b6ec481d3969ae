/**
 * The job store's record create, spliced around BullMQ's add (see `bull-add-scripts.ts`), so that a
 * managed job's record and its ticket are written by ONE script call (`RedisJobStore.createWithTicket`).
 * Only on a single Redis server: the store's keys (`{<app>}`) and the queue's (`{<queue>}`) are in
 * different Cluster slots.
 *
 * Arguments after the wrapper's own ([4], [5]): [6] the job store's key prefix ('' = no record to
 * create: a plain add), [7] record id, [8] now, [9] backlog threshold ('' = never demote), [10] the
 * ticket's priority level, [11] the highest level, [12] BullMQ's highest priority, [13] the BullMQ
 * priority the add was sent with (0 = plain), [14..] field/value pairs of the record hash
 * (`toHash` order: what the create indexes is read by position).
 *
 * Before the add: an existing live record answers `{0, flat hash}` and nothing is written (the id
 * dedupe); the handler's backlog (this job included) demotes the ticket one level per doubling
 * beyond the threshold, like `physicalPriority`; a demoted ticket for a queue still plain flips the
 * queue here (`FLIP_BODY`, what `PRIORITIZE_QUEUE` does), so the plain add is lifted to the default
 * level right after it — a burst sent before the publisher heard of the flip needs no second call.
 * After the add: the ticket gets its demoted priority, then the record is created — without
 * "ticket pending", since the ticket exists — and the answer is `{1, backlog}` (`{1, backlog,
 * 'flipped'}` when this call flipped the queue). A failed add (a negative code) creates nothing.
 */
import { FLIP_BODY, PRIORITIZED_FIELD } from './queue-scripts.js';
import { HASH_HEAD_LUA } from '../job-hash.js';
import { jobPrelude } from './job-scripts.js';

/** Statements before BullMQ's add. `queuePrefix`: Lua expression of the queue's key prefix. */
export function FUSED_CREATE_BEFORE(queuePrefix: string): string {
  return `${jobPrelude("ARGV[6] or ''")}
${HASH_HEAD_LUA('14')}
local ckCreate = P ~= ''
local ckBacklog, ckTarget
local ckFlipped = false
if ckCreate then
  local h, flat = live(ARGV[7], tonumber(ARGV[8]))
  if h then return {0, flat} end
  ckBacklog = tonumber(redis.call('HGET', P .. 'HQ', hhk) or '0') + 1
  local base = tonumber(ARGV[10])
  local level = base
  local threshold = tonumber(ARGV[9])
  if threshold and ckBacklog > threshold then
    local reach = threshold
    while reach < ckBacklog do
      reach = reach * 2
      level = level + 1
    end
    level = math.min(level, tonumber(ARGV[11]))
  end
  ckTarget = math.min(level + 1, tonumber(ARGV[12]))
  if level ~= base and tonumber(ARGV[13]) == 0 and not redis.call('HGET', ${queuePrefix} .. 'meta', '${PRIORITIZED_FIELD}') then
    -- A demoted ticket for a queue still plain: the queue turns prioritized here, and the plain add
    -- below is lifted to the default level after it (AFTER_PLAIN_ADD_BODY), then demoted (below).
${FLIP_BODY(
  {
    meta: `${queuePrefix} .. 'meta'`,
    wait: `${queuePrefix} .. 'wait'`,
    paused: `${queuePrefix} .. 'paused'`,
    prioritized: `${queuePrefix} .. 'prioritized'`,
    counter: `${queuePrefix} .. 'pc'`,
    delayed: `${queuePrefix} .. 'delayed'`,
    active: `${queuePrefix} .. 'active'`,
    failed: `${queuePrefix} .. 'failed'`,
    marker: `${queuePrefix} .. 'marker'`,
  },
  queuePrefix,
  'ARGV[5]',
)}
    ckFlipped = true
  end
end`;
}

/** Statements after BullMQ's add (its reply in `result`, the job id on success). */
export function FUSED_CREATE_AFTER(queuePrefix: string, result: string): string {
  return `if ckCreate then
  if type(${result}) ~= 'string' then return ${result} end
  local jk = ${queuePrefix} .. ${result}
  local current = tonumber(redis.call('HGET', jk, 'priority')) or 0
  if current ~= 0 and current ~= ckTarget then
    redis.call('HSET', jk, 'priority', ckTarget)
    local score = redis.call('ZSCORE', ${queuePrefix} .. 'prioritized', ${result})
    if score then
      redis.call('ZADD', ${queuePrefix} .. 'prioritized', ckTarget * 0x100000000 + tonumber(score) % 0x100000000, ${result})
    end
  end
  redis.call('HSET', P .. 'J:' .. ARGV[7], unpack(ARGV, 14))
  redis.call('HSET', P .. 'C', hcb, hcbj)
  index(ARGV[7], hst, hcb, hhk, hea, hra, nil, hxa)
  if ckFlipped then return {1, ckBacklog, 'flipped'} end
  return {1, ckBacklog}
end`;
}
