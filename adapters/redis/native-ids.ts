/**
 * Caller job ids of the native managed-job engine (native-job-engine.ts): one plugin-wide id index
 * and the key layout that lets one script call decide a caller id's dedupe across all of a plugin's
 * handler queues.
 *
 * - **Layout.** A native handler queue's BullMQ name is `{nj.<plugin digest>}<handler digest>`
 *   ({@link nativeBullName}, native-job-shape.ts): the hash tag is the plugin's, so on a Redis
 *   Cluster all of a plugin's handler queues and its id index ({@link idIndexKey}, same tag) are in
 *   one slot — the price of a plugin-wide atomic dedupe — while different plugins spread over the
 *   masters; the name is short because BullMQ repeats it in every key of every call.
 * - **Index.** A hash, field = the BullMQ job id of a scoped id (`<plugin>:<tenant>:<id>`), value =
 *   `<key prefix of its handler queue>\n<handler key>`. Written only by the wrapped add of a caller
 *   id ({@link NATIVE_ID_ADDS}): if the entry names another handler queue whose job still exists,
 *   nothing is added (the caller gets the existing job's id, which is the same scoped id); otherwise
 *   BullMQ's own add runs (deduping within its queue) and the entry is set. The entry is a hint:
 *   one whose job is gone (removed by `remove`, by retention, by BullMQ's clean) is overwritten by
 *   the next add of the id and pruned by {@link pruneIdIndex}. Generated ids never touch it.
 * - **Locate.** A scoped id's queue is one `HGET` (see {@link readIdIndex}).
 */
import { Job, type JobsOptions, type Queue } from 'bullmq';
import { escapeKeyPart, unescapeKeyPart } from 'clusterkit/adapter-kit';
import { afterPlainAdd } from './bull-add-scripts.js';
import { bullQueueName } from './bull-names.js';
import { bullScript, hasScript } from './bull-scripts.js';
import type { RedisClient } from './connection.js';
import { BULL_DEFAULT_PRIORITY } from './lua/queue-scripts.js';
import { nativeHandlerDigest, nativePluginTag, type HandlerName } from './native-job-shape.js';

/** The BullMQ queue name of handler `h`'s native queue: its plugin's tag in `{}`, then its handler digest. */
export function nativeBullName(appName: string, h: HandlerName): string {
  return `${bullQueueName(nativePluginTag(appName, h.pluginName))}${nativeHandlerDigest(appName, h)}`;
}

/** The id index of a plugin (`<prefix>:nj:{<plugin tag>}:ids`, in the slot of the plugin's queues). */
export function idIndexKey(prefix: string, appName: string, pluginName: string): string {
  return `${prefix}:nj:${bullQueueName(nativePluginTag(appName, pluginName))}:ids`;
}

/**
 * An app-level key of the native engine: `<prefix>:nj:{<app>}:<part>:...` (each part escaped). The
 * app's hash tag puts them all — every plugin's handler set, the plugins set, the paused flags, the
 * NO_PROCESSOR marks — in one slot of a Redis Cluster, so one transaction can read and write several
 * of them (registering a handler queue reads its logical queue's paused flag in the same step).
 */
export function nativeAppKey(prefix: string, appName: string, ...parts: string[]): string {
  return `${prefix}:nj:{${escapeKeyPart(appName)}}:${parts.map(escapeKeyPart).join(':')}`;
}

/** An index entry: where a handler's jobs live (`<queue key prefix>\n<handler key>`). */
export function idIndexEntry(keyPrefix: string, handlerKey: string): string {
  return `${keyPrefix}\n${handlerKey}`;
}

/** Where an index entry points. */
export interface IndexedAt {
  readonly handler: HandlerName;
  readonly keyPrefix: string;
}

/** Reads an index entry back (undefined for a malformed one). */
export function parseIdIndexEntry(entry: string): IndexedAt | undefined {
  const cut = entry.indexOf('\n');
  if (cut < 0) return undefined;
  const parts = entry.slice(cut + 1).split(':');
  if (parts.length !== 3) return undefined;
  const [pluginName, queueName, jobName] = parts.map(unescapeKeyPart) as [string, string, string];
  return { handler: { pluginName, queueName, jobName }, keyPrefix: entry.slice(0, cut) };
}

/** Where the index says a scoped id's job is (one `HGET`); undefined when it has no entry. */
export async function readIdIndex(
  client: RedisClient,
  indexKey: string,
  bullId: string,
): Promise<IndexedAt | undefined> {
  const entry = await client.hget(indexKey, bullId);
  return entry === null ? undefined : parseIdIndexEntry(entry);
}

/** BullMQ's add scripts the engine calls, and whether each adds a plain (priority-less) job. */
export const NATIVE_ADDS = { addStandardJob: true, addDelayedJob: true, addPrioritizedJob: false } as const;

/**
 * BullMQ's add `source` (a plain add's, see queue-prioritizer.ts) followed by the lift of the new
 * job to the default level when its queue has been prioritized meanwhile (bull-add-scripts.ts
 * `afterPlainAdd`), so a node that has not heard of the switch cannot put a default job ahead of
 * urgent ones. Wrapped again by the id index's and the tenant index's steps.
 */
export function plainLiftedLua(source: string): string {
  return `local ckPlainPrefix = string.match(KEYS[1], '^(.*:)[^:]+$') or cmsgpack.unpack(ARGV[1])[1]
local ckPlainResult = (function()
${source}
end)()
${afterPlainAdd('ckPlainPrefix', 'ckPlainResult', String(BULL_DEFAULT_PRIORITY))}
return ckPlainResult
`;
}

/** BullMQ's add `source` of script `base`, with the plain-add lift when `base` adds plain jobs. */
export function nativeAddSource(base: keyof typeof NATIVE_ADDS, source: string): string {
  return NATIVE_ADDS[base] ? plainLiftedLua(source) : source;
}

/**
 * BullMQ's add `source`, between the id index's check and its write (the last 3 ARGV are ours); a
 * job it creates starts without a watch mark (an earlier job of the id may have left one).
 * Exported for the add of a caller id with a tenant, which wraps this again (native-job-queries.ts).
 */
export function idAddLua(source: string): string {
  return `-- clusterkit: a caller id's plugin-wide dedupe, then BullMQ's add (unchanged), then the index.
local ckN = #ARGV
local ckIndex, ckId, ckMine = ARGV[ckN - 2], ARGV[ckN - 1], ARGV[ckN]
local ckAt = redis.call('HGET', ckIndex, ckId)
if ckAt and ckAt ~= ckMine then
  local ckPrefix = string.match(ckAt, '^([^\\n]*)')
  if redis.call('EXISTS', ckPrefix .. ckId) == 1 then return ckId end
end
local ckJob = string.match(ckMine, '^([^\\n]*)') .. ckId
local ckNew = redis.call('EXISTS', ckJob) == 0
local ckResult = (function()
${source}
end)()
if type(ckResult) == 'string' then
  if ckAt ~= ckMine then redis.call('HSET', ckIndex, ckId, ckMine) end
  -- A new job under this id: a watch mark left by an earlier job of the id (which may hold that
  -- job's announced outcome, native-wait.ts) is not this job's; no waiter of this job exists yet.
  if ckNew then redis.call('DEL', ckJob .. ':w') end
end
return ckResult
`;
}

const wrapped = new WeakMap<object, ReadonlyMap<string, string>>();

/** Defines the wrapped adds on `client` once (after BullMQ defined its own there): BullMQ name → ours. */
function idAddsOf(client: RedisClient): ReadonlyMap<string, string> {
  let names = wrapped.get(client);
  if (names) return names;
  const map = new Map<string, string>();
  for (const base of Object.keys(NATIVE_ADDS) as (keyof typeof NATIVE_ADDS)[]) {
    const script = bullScript(client, base);
    if (!script) throw new Error(`BullMQ's ${base} script is not defined on this connection`);
    const ours = `cki:${script.name}`;
    if (!hasScript(client, ours))
      client.defineCommand(ours, {
        numberOfKeys: script.numberOfKeys,
        lua: idAddLua(nativeAddSource(base, script.lua)),
      });
    map.set(script.name, ours);
  }
  names = map;
  wrapped.set(client, names);
  return names;
}

type AddClient = Parameters<Job['addJob']>[0];

/**
 * Adds a job under a caller id (`bullId`, the encoded scoped id) to `queue` unless a job of another
 * handler of the plugin holds it — one script call (BullMQ's add wrapped, see the module comment).
 */
export async function addWithIdIndex(
  queue: Queue,
  name: string,
  data: unknown,
  opts: JobsOptions,
  bullId: string,
  indexKey: string,
  entry: string,
): Promise<void> {
  const client = (await queue.getBackend().client) as unknown as RedisClient;
  const adds = idAddsOf(client);
  const commands = client as unknown as Record<string, (args: unknown[]) => Promise<unknown>>;
  const through = {
    runCommand(command: string, args: unknown[]): Promise<unknown> {
      const ours = adds.get(command);
      return ours === undefined ? commands[command]!(args) : commands[ours]!([...args, indexKey, bullId, entry]);
    },
  };
  const job = new Job(queue, name, data, { ...opts, jobId: bullId }, bullId);
  await job.addJob(through as unknown as AddClient);
}

/**
 * Deletes index entries whose job no longer exists, `count` fields from `cursor` (HSCAN) per call,
 * each checked and deleted in one script call (an add of the same id meanwhile rewrites the entry
 * in its own script, so nothing live is deleted). Resolves with the next cursor ('0': done).
 */
export async function pruneIdIndex(
  client: RedisClient,
  indexKey: string,
  cursor: string,
  count = 500,
): Promise<string> {
  const [next, flat] = await client.hscan(indexKey, cursor, 'COUNT', count);
  if (flat.length > 0) await client.eval(PRUNE_LUA, 1, indexKey, ...flat);
  return next;
}

/** KEYS[1] the index; ARGV: field, value pairs as HSCAN read them. */
const PRUNE_LUA = `
local pruned = 0
for i = 1, #ARGV, 2 do
  local id, entry = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[1], id) == entry then
    local prefix = string.match(entry, '^([^\\n]*)')
    if redis.call('EXISTS', prefix .. id) == 0 then
      redis.call('HDEL', KEYS[1], id)
      pruned = pruned + 1
    end
  end
end
return pruned
`;
