/**
 * Names as BullMQ needs them. BullMQ refuses `:` in queue names and in custom job ids, and refuses
 * job ids that look like integers; ours may contain both. The encoding is reversible and readable:
 * `%` → `%25`, `:` → `%3A`, `{` → `%7B`, `}` → `%7D`; an id that would still look like an integer
 * gets a `%N` mark (which no escaped id can contain).
 *
 * Each queue's BullMQ name is wrapped in a hash tag (`{<encoded>}`), so every key of one queue
 * lands in one hash slot of a Redis Cluster (BullMQ's scripts need that), while different queues
 * spread over the cluster.
 */

const ESCAPES: Record<string, string> = { '%': '%25', ':': '%3A', '{': '%7B', '}': '%7D' };
const UNESCAPES: Record<string, string> = { '%25': '%', '%3A': ':', '%7B': '{', '%7D': '}' };

function escape(value: string): string {
  return value.replace(/[%:{}]/g, (c) => ESCAPES[c]!);
}

function unescape(value: string): string {
  return value.replace(/%25|%3A|%7B|%7D/g, (s) => UNESCAPES[s]!);
}

/** The BullMQ queue name of one of our queues. */
export function bullQueueName(queue: string): string {
  return `{${escape(queue)}}`;
}

/** Our queue name back from the part between `{` and `}` of a BullMQ key. */
export function unescapeQueue(escaped: string): string {
  return unescape(escaped);
}

/** The BullMQ key prefix of a node's queues: `<prefix>:q`. */
export function bullPrefix(prefix: string): string {
  return `${prefix}:q`;
}

/** A record id as a BullMQ job id. */
export function encodeJobId(id: string): string {
  const escaped = escape(id);
  return `${parseInt(escaped, 10)}` === escaped ? `%N${escaped}` : escaped;
}

/** The record id of a BullMQ job id. */
export function decodeJobId(jobId: string): string {
  return unescape(jobId.startsWith('%N') ? jobId.slice(2) : jobId);
}

/** The Redis key of one of a queue's BullMQ structures (`wait`, `delayed`, `marker`, ...). */
export function bullKey(prefix: string, queue: string, type: string): string {
  return `${bullPrefix(prefix)}:${bullQueueName(queue)}:${type}`;
}
