/**
 * BullMQ's own add scripts, wrapped so that one script call does the whole publish: BullMQ's add,
 * plus what clusterkit needs in the same atomic step —
 *
 * - before the add, for a caller-given id, the completed job holding that id is moved aside
 *   (`REUSE_ID_LUA`), so an acknowledged message never blocks its id (not for a fused record+ticket
 *   add: its ticket id carries the new record's random nonce, and such tickets are not kept);
 * - after a plain (priority-less) add, if the queue has been prioritized meanwhile, the new job is
 *   given the default level (`AFTER_PLAIN_ADD_LUA`), so it cannot run ahead of urgent jobs;
 * - around the add, when asked, a managed job's record is created with its ticket (`fused-create.ts`).
 *
 * The wrapped source is the installed BullMQ's (read from the scripts BullMQ defined on the
 * connection), so it always matches the version that runs; BullMQ's add is called through
 * `job.addJob(client)` with a client whose `runCommand` swaps in the wrapped command. When the
 * scripts cannot be found (a BullMQ that defines them differently), {@link wrapAddScripts} returns
 * undefined and the publisher falls back to a MULTI around the plain scripts.
 */
import { bullScript, hasScript } from './bull-scripts.js';
import type { RedisClient } from './connection.js';
import { FUSED_CREATE_AFTER, FUSED_CREATE_BEFORE } from './lua/fused-create.js';
import { AFTER_PLAIN_ADD_BODY, REUSE_ID_BODY } from './lua/queue-scripts.js';

/** BullMQ's add scripts this wraps, with what runs after the add. */
const WRAPPED = {
  addStandardJob: { plain: true },
  addDelayedJob: { plain: true },
  addPrioritizedJob: { plain: false },
} as const;

/**
 * ARGV[4]: '1' when the id came from the publisher. ARGV[5]: BullMQ priority of the default level.
 * ARGV[6..]: the record to create with the ticket (see `fused-create.ts`), in the `creating`
 * variant only: the record step's prelude (its helper closures and locals, ~2 µs of Lua per call)
 * is left out of the variant every plain publish runs.
 */
function wrapLua(source: string, plain: boolean, creating: boolean): string {
  return `-- clusterkit: BullMQ's add (below, unchanged) between atomic steps of our own.
-- The queue's key prefix is KEYS[1] ('<prefix>wait' or '<prefix>marker') without its type: unpacking
-- BullMQ's msgpack arguments for it cost ~2-3 us per add, so only a caller-given id (which needs
-- the job id from them) pays for that.
-- A fused record+ticket add (ARGV[6] set) needs no id reuse: its ticket id holds the new record's
-- fresh nonce, so no acknowledged job can hold it.
local ckPrefix = string.match(KEYS[1], '^(.*:)[^:]+$')
local ckReuse = ARGV[4] == '1' and (ARGV[6] or '') == ''
local ckArgs
if ckReuse or not ckPrefix then
  ckArgs = cmsgpack.unpack(ARGV[1])
  ckPrefix = ckArgs[1]
end
${creating ? FUSED_CREATE_BEFORE('ckPrefix') : ''}
if ckReuse and ckArgs[2] ~= '' then
  local ckId = ckArgs[2]
${REUSE_ID_BODY('ckPrefix .. "completed"', 'ckPrefix .. ckId', 'ckPrefix .. "id"', 'ckId')}
end
local ckResult = (function()
${source}
end)()
${plain ? afterPlainAdd('ckPrefix', 'ckResult', 'ARGV[5]') : ''}
${creating ? FUSED_CREATE_AFTER('ckPrefix', 'ckResult') : ''}
return ckResult
`;
}

/**
 * Lua run right after a BullMQ add returned `result` (a Lua expression): when it added a job (the
 * result is its id) to a queue that has meanwhile been prioritized, the job is lifted to `priority`
 * (`AFTER_PLAIN_ADD_BODY`). `prefix` is a Lua expression of the queue's key prefix. Shared by the
 * event queue's adds (below) and the native engine's (native-ids.ts `plainLiftedLua`).
 */
export function afterPlainAdd(prefix: string, result: string, priority: string): string {
  return `if type(${result}) == 'string' then
${AFTER_PLAIN_ADD_BODY(
  `${prefix} .. "meta"`,
  `${prefix} .. "wait"`,
  `${prefix} .. "prioritized"`,
  `${prefix} .. "pc"`,
  `${prefix} .. ${result}`,
  `${prefix} .. "marker"`,
  result,
  priority,
)}
end`;
}

/**
 * Maps BullMQ's add command names (`addStandardJob:<version>`) to the wrapped commands defined on a
 * client: `add` for a publish, `creating` for a publish that creates a job-store record too.
 */
export type WrappedAdds = ReadonlyMap<string, { readonly add: string; readonly creating: string }>;

/**
 * Defines the wrapped add commands on `client` (once BullMQ has defined its own there) and returns
 * the name mapping, or undefined when BullMQ's add scripts are not where this expects them.
 */
export function wrapAddScripts(client: RedisClient): WrappedAdds | undefined {
  const names = new Map<string, { add: string; creating: string }>();
  for (const [base, { plain }] of Object.entries(WRAPPED)) {
    const script = bullScript(client, base);
    if (!script) return undefined;
    const bullName = script.name;
    const ours = { add: `ck:${bullName}`, creating: `ckc:${bullName}` };
    for (const [name, creating] of [
      [ours.add, false],
      [ours.creating, true],
    ] as const) {
      if (!hasScript(client, name))
        client.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: wrapLua(script.lua, plain, creating) });
    }
    names.set(bullName, ours);
  }
  return names;
}

/**
 * A stand-in for BullMQ's client in `job.addJob(client)`: BullMQ's add command becomes the wrapped
 * one, with our extra arguments (`create`: the record step's, see `fused-create.ts`); anything else
 * passes through.
 */
export function wrappingClient(
  client: RedisClient,
  adds: WrappedAdds,
  callerId: boolean,
  defaultPriority: number,
  create: readonly (string | number)[] = [],
): { runCommand(name: string, args: unknown[]): Promise<unknown> } {
  const commands = client as unknown as Record<string, (args: unknown[]) => Promise<unknown>>;
  const creating = create.length > 0;
  return {
    runCommand(name, args) {
      const ours = adds.get(name);
      if (ours === undefined) return commands[name]!(args);
      if (!creating) return commands[ours.add]!([...args, callerId ? '1' : '0', defaultPriority]);
      return commands[ours.creating]!([...args, callerId ? '1' : '0', defaultPriority, ...create]);
    },
  };
}
