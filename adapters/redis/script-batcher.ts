/**
 * Coalesces concurrent calls of one job-store script into one round trip. A call made while no call
 * of the script is in flight is sent at once, alone (no added latency); calls made while one is in
 * flight queue and leave together, as ONE call of the script's batch form, when it returns. Each item
 * of a batch is still its own atomic transition (the batch form runs the same body once per item
 * inside one script, so Redis runs all of them without anything in between) and each caller gets its
 * own reply. Under load (a burst of claims, finishes or parks) this turns N EVALSHA calls into one:
 * less per-call work on the server (command parsing, script lookup, reply framing) and on the client.
 */
import { luaScript, type LuaScript } from './lua/run-script.js';

/** Most items in one batch call (bounds the argument list and the time one script holds Redis). */
export const MAX_BATCH = 64;

/**
 * The batch form of a job-store script body: `prelude` once, then `body` (which reads `KEYS[1]` as the
 * record key `<prefix>J:<ARGV[2]>` and `ARGV[1..]`) once per item.
 * ARGV[1] prefix, then per item: its argument count n, then its n arguments (without the prefix).
 * Returns the list of the items' replies, in order.
 */
export function batchScript(name: string, prelude: string, body: string): LuaScript {
  return luaScript(
    `${name}Batch`,
    `${prelude}
local function one(KEYS, ARGV)
${body}
end
local out = {}
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local a = {P}
  for k = 1, n do a[k + 1] = ARGV[i + k] end
  out[#out + 1] = one({P .. 'J:' .. a[2]}, a)
  i = i + n + 1
end
return out
`,
  );
}

interface Pending {
  readonly args: readonly (string | number)[];
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One script's coalescing queue (see the module comment). */
export class ScriptBatcher {
  private queue: Pending[] = [];
  private inFlight = false;

  /**
   * @param single runs one item (the script's own form)
   * @param many runs several items (the batch form); resolves with their replies in order
   */
  constructor(
    private readonly single: (args: readonly (string | number)[]) => Promise<unknown>,
    private readonly many: (items: readonly (readonly (string | number)[])[]) => Promise<unknown[]>,
  ) {}

  /** Runs one item; resolves with its reply. */
  call(args: readonly (string | number)[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ args, resolve, reject });
      if (!this.inFlight) this.send();
    });
  }

  private send(): void {
    const items = this.queue.splice(0, MAX_BATCH);
    if (items.length === 0) {
      this.inFlight = false;
      return;
    }
    this.inFlight = true;
    const sent =
      items.length === 1
        ? this.single((items[0] as Pending).args).then((reply) => [reply])
        : this.many(items.map((item) => item.args));
    sent.then(
      (replies) => {
        items.forEach((item, i) => item.resolve(replies[i]));
        this.send();
      },
      (error: unknown) => {
        for (const item of items) item.reject(error);
        this.send();
      },
    );
  }
}
