/**
 * A store step run inside a ticket's acknowledgement: BullMQ's `moveToFinished` (its installed
 * source, read from the scripts BullMQ defined on the worker's connection) is defined a second time,
 * under `ckack:<name>`, with the Redis job store's finish before it (`FINISH_BODY`), and BullMQ's
 * command on that connection is replaced by a function that sends a completion through the fused
 * command when the consumer registered a step for that job id, else through BullMQ's own. So a
 * managed job's finish and its ticket's ack are ONE script call (`Delivery.ackWith`).
 *
 * Order inside the call: the finish (its owner check; nothing written when another node took the
 * generation over), then BullMQ's script unchanged — the ticket is acknowledged whatever the finish
 * answered, exactly as the separate finish followed by the ack did. The reply is `{finish answer,
 * BullMQ's reply}`; BullMQ gets its own part.
 *
 * Only on a single Redis server (the job store's keys and the queue's are in different Cluster
 * slots), and only when BullMQ's script has the layout this relies on (nine arguments, as its
 * header documents them); otherwise nothing is installed and every finish stays its own script.
 */
import type { AckStepResult } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { FINISH_BODY, jobPrelude } from './lua/job-scripts.js';

/** The kind of {@link AckStep} this runs: the Redis job store's finish, arguments as `JOB_FINISH`'s. */
export const JOB_FINISH_STEP = 'redis-job-finish';

/** A step waiting for its ticket's acknowledgement. */
export interface PendingStep {
  /** The finish's arguments, the store's key prefix first. */
  readonly args: readonly (string | number)[];
  settle(result: AckStepResult): void;
}

type Scripts = Record<string, { lua?: string; numberOfKeys?: number | null } | undefined>;
type Command = (args: unknown[]) => Promise<unknown>;

/** What the fused command relies on, as BullMQ's header comment documents it. */
const LAYOUT = [
  /KEYS\[12\]\s+jobId key/,
  /ARGV\[1\]\s+jobId/,
  /ARGV\[5\]\s+target \(completed\/failed\)/,
  /ARGV\[9\]\s+job fields to update/,
];
/** BullMQ's own arguments: the finish's follow them. */
const BULL_ARGS = 9;

const installed = new WeakMap<object, Map<string, PendingStep>>();

/** The store's finish, then BullMQ's `moveToFinished` (unchanged); answers both. */
function wrapLua(source: string): string {
  return `-- clusterkit: the job store's finish, then BullMQ's moveToFinished (below, unchanged).
-- ARGV[1..${BULL_ARGS}] BullMQ's; ARGV[${BULL_ARGS + 1}..] the finish's (JOB_FINISH's ARGV, from its key prefix).
local ckStep = (function()
${jobPrelude(`ARGV[${BULL_ARGS + 1}]`)}
${FINISH_BODY(BULL_ARGS, `ARGV[${BULL_ARGS + 1}] .. 'J:' .. ARGV[${BULL_ARGS + 2}]`)}
end)()
local ckResult = (function()
${source}
end)()
return {ckStep, ckResult}
`;
}

/** A connection error: the call may be sent again (BullMQ retries it), so the step stays registered. */
function isConnectionError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|max retries per request/i.test(
    message,
  );
}

/**
 * Installs the fused acknowledgement on `client` (once BullMQ has defined its scripts there, after
 * `indexDeadLetters`). Returns the steps waiting for their acknowledgement by BullMQ job id — the
 * consumer adds one before it returns a completion to BullMQ — or undefined when BullMQ's script
 * is not as expected.
 */
export function fuseAckSteps(client: RedisClient): Map<string, PendingStep> | undefined {
  const existing = installed.get(client);
  if (existing) return existing;
  const scripts = (client as unknown as { scriptsSet?: Scripts }).scriptsSet;
  if (!scripts) return undefined;
  const name = Object.keys(scripts).find((key) => key.startsWith('moveToFinished:'));
  const script = name ? scripts[name] : undefined;
  if (!name || typeof script?.lua !== 'string' || typeof script.numberOfKeys !== 'number') return undefined;
  if (!LAYOUT.every((re) => re.test(script.lua!)) || script.lua.includes(`ARGV[${BULL_ARGS + 1}]`)) return undefined;
  const keys = script.numberOfKeys;
  const commands = client as unknown as Record<string, Command>;
  const plain = commands[name];
  if (typeof plain !== 'function') return undefined;
  const fusedName = `ckack:${name}`;
  client.defineCommand(fusedName, { numberOfKeys: keys, lua: wrapLua(script.lua) });
  const fused = commands[fusedName]!;
  const pending = new Map<string, PendingStep>();
  commands[name] = function moveToFinished(args: unknown[]): Promise<unknown> {
    const id = pending.size > 0 && Array.isArray(args) ? String(args[keys]) : undefined;
    const step = id === undefined ? undefined : pending.get(id);
    if (!step || args[keys + 4] !== 'completed') return plain.call(client, args);
    const bull = args.slice(0, keys + BULL_ARGS).map((value) => value ?? '');
    while (bull.length < keys + BULL_ARGS) bull.push('');
    return fused.call(client, [...bull, ...step.args]).then(
      (reply) => {
        const [answer, result] = reply as [unknown, unknown];
        if (pending.get(id!) === step) pending.delete(id!);
        step.settle({ fused: true, answer });
        return result;
      },
      (error: unknown) => {
        // Not sent again (a script error): the step did not run as a whole; the caller writes on its own.
        if (!isConnectionError(error)) {
          if (pending.get(id!) === step) pending.delete(id!);
          step.settle({ fused: false });
        }
        throw error;
      },
    );
  };
  installed.set(client, pending);
  return pending;
}
