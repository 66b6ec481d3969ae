/**
 * The "native managed job" model of `managed-native-bound.ts`: BullMQ's own scripts, wrapped so that
 * the same script call also does what a managed job record needs if the record lived in BullMQ's job
 * hash (the lead's proposal under "managedQueue throughput" in docs/performance.md). A measurement
 * model, not library code: no abort, pause, global concurrency, rate budget, schedules or reads.
 *
 * - add (`addStandardJob`, defined under `nm:<BullMQ's name>`): after BullMQ's add, one `HSET` of the
 *   record's extra fields on the job hash (tenant, plugin, queue, job name, nonce, attemptsStarted)
 *   and one `ZADD` of the job into the per-tenant index (score: enqueue time).
 * - fetch (`moveToActive`, redefined under its own name on the worker's connection): after BullMQ's
 *   fetch, the attempt start as one `HSET` of a short field `ha` (attempt number, owner node, start).
 * - ack (`moveToFinished`, redefined under its own name): after BullMQ's ack, the open attempt is
 *   closed into a bounded history field `h` (`HMGET` + `HSET` + `HDEL ha`), the per-tenant index is
 *   updated (`ZADD`, score: finish time), and the next job BullMQ fetched in the same call gets its
 *   attempt start as in the fetch.
 * - `lean`: the trimmed variant (see `addLua`, `finishLua`): 5 commands per job instead of 7.
 *
 * The wrapped sources are the installed BullMQ's, read from the commands BullMQ defined on the
 * client through `adapters/redis/bull-scripts.ts`, as the adapters do.
 */
import type { Redis } from 'ioredis';
import { bullScript, type BullScript } from '../../adapters/redis/bull-scripts.js';

/** The history field is kept under this many bytes (oldest attempts dropped first). */
const HISTORY_BYTES = 2048;

function bullScriptOf(client: Redis, base: string): BullScript {
  const script = bullScript(client, base);
  if (!script) throw new Error(`BullMQ's ${base} script is not defined on this client`);
  return script;
}

/** Lua: record the attempt start of the job BullMQ just moved to active (`res` = BullMQ's fetch reply). */
function attemptStart(res: string, prefix: string, now: string, owner: string): string {
  return `if type(${res}) == 'table' and type(${res}[2]) == 'string' then
  local nmJob, nmN = ${res}[1], '1'
  for i = 1, #nmJob, 2 do if nmJob[i] == 'ats' then nmN = nmJob[i + 1] break end end
  redis.call('HSET', ${prefix} .. ${res}[2], 'ha', '{"n":' .. nmN .. ',"o":"${owner}","s":' .. ${now} .. '}')
end`;
}

/**
 * BullMQ's `addStandardJob` + the record fields and the per-tenant index. ARGV[4..9]: tenant, plugin,
 * queue, job name, nonce, now. `lean`: only tenant and nonce (plugin, queue and job name are BullMQ's
 * queue and job name; attemptsStarted is BullMQ's `ats`).
 */
function addLua(source: string, lean: boolean): string {
  const fields = lean
    ? `'tn', ARGV[4], 'nc', ARGV[8]`
    : `'tn', ARGV[4], 'pl', ARGV[5], 'qn', ARGV[6], 'jn', ARGV[7], 'nc', ARGV[8], 'as', '0'`;
  return `local nmResult = (function()
${source}
end)()
if type(nmResult) == 'string' then
  local nmPrefix = string.match(KEYS[1], '^(.*:)[^:]+$')
  redis.call('HSET', nmPrefix .. nmResult, ${fields})
  redis.call('ZADD', nmPrefix .. 'nm:t:' .. ARGV[4], ARGV[9], nmResult)
end
return nmResult
`;
}

/** BullMQ's `moveToActive` + the attempt start. */
function activeLua(source: string, owner: string): string {
  return `local nmResult = (function()
${source}
end)()
${attemptStart('nmResult', 'ARGV[1]', 'ARGV[2]', owner)}
return nmResult
`;
}

/**
 * BullMQ's `moveToFinished` + the attempt closed into the history, the tenant index, the next job's
 * attempt start. `lean`: the history and the cleared `ha` in one `HSET`, the tenant index not
 * re-scored (the state comes from BullMQ's sets).
 */
function finishLua(source: string, owner: string, lean: boolean): string {
  return `local nmResult = (function()
${source}
end)()
if nmResult == 0 or type(nmResult) == 'table' then
  local nmF = redis.call('HMGET', KEYS[12], 'ha', 'h'${lean ? '' : ", 'tn'"})
  if nmF[1] and nmF[1] ~= '' then
    local nmA = string.sub(nmF[1], 1, -2) .. ',"e":' .. ARGV[2] .. ',"r":"' .. ARGV[5] .. '"}'
    local nmH = nmF[2]
    if nmH then
      nmH = string.sub(nmH, 1, -2) .. ',' .. nmA .. ']'
      while #nmH > ${HISTORY_BYTES} do
        local p = string.find(nmH, ',{"n":', 3, true)
        if not p then break end
        nmH = '[' .. string.sub(nmH, p + 1)
      end
    else
      nmH = '[' .. nmA .. ']'
    end
${
  lean
    ? `    redis.call('HSET', KEYS[12], 'h', nmH, 'ha', '')`
    : `    redis.call('HSET', KEYS[12], 'h', nmH)
    redis.call('HDEL', KEYS[12], 'ha')`
}
  end
${lean ? '' : `  if nmF[3] then redis.call('ZADD', ARGV[7] .. 'nm:t:' .. nmF[3], ARGV[2], ARGV[1]) end`}
end
${attemptStart('nmResult', 'ARGV[7]', 'ARGV[2]', owner)}
return nmResult
`;
}

/**
 * Defines the wrapped add on `client` (a queue's connection, after BullMQ defined its scripts there)
 * and returns a stand-in client for `job.addJob(...)` that sends BullMQ's add with the record's extra
 * arguments through it.
 */
export function nativeAdder(
  client: Redis,
  lean = false,
): (extra: readonly (string | number)[]) => { runCommand(name: string, args: unknown[]): Promise<unknown> } {
  const add = bullScriptOf(client, 'addStandardJob');
  const ours = `nm:${add.name}`;
  client.defineCommand(ours, { numberOfKeys: add.numberOfKeys, lua: addLua(add.lua, lean) });
  const commands = client as unknown as Record<string, (args: unknown[]) => Promise<unknown>>;
  return (extra) => ({
    runCommand(name, args) {
      if (name !== add.name) return commands[name]!(args);
      return commands[ours]!([...args, ...extra]);
    },
  });
}

/**
 * Redefines BullMQ's `moveToActive` and `moveToFinished` on a worker's connection (after BullMQ defined
 * them there, before the worker runs) with the attempt steps; `owner` is the node id written in them.
 */
export function wrapWorkerScripts(client: Redis, owner: string, lean = false): void {
  if (!/^[\w-]+$/.test(owner)) throw new Error('owner: letters, digits, - and _ only');
  const active = bullScriptOf(client, 'moveToActive');
  const finish = bullScriptOf(client, 'moveToFinished');
  client.defineCommand(active.name, { numberOfKeys: active.numberOfKeys, lua: activeLua(active.lua, owner) });
  client.defineCommand(finish.name, { numberOfKeys: finish.numberOfKeys, lua: finishLua(finish.lua, owner, lean) });
}
