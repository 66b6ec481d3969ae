/**
 * A native job's failure code (`failedCode`: `QUEUE_TIMEOUT`, `INVALID_PAYLOAD`, a plugin's own
 * `code`), kept as the record + ticket layer keeps it, in the same atomic step as the failure.
 *
 * BullMQ's failure scripts write only the message and the stack (`failedReason`, `stacktrace`), so
 * the worker (native-worker.ts) hands BullMQ an error whose stack starts with a mark carrying the
 * code, `\x1fck-code:<byte length>:<code>\n`; the wrapped failure scripts (native-scripts.ts), after
 * BullMQ's step succeeded, move the code from the newest stack entry into the job's field `fc` and
 * write the stack back without the mark, or delete `fc` when the failure had no code. Nothing is
 * written beyond the script BullMQ runs anyway. Reads: `fc` from the hash; a `Job` object's
 * in-memory stack (the worker's `failed` event) is unmarked by {@link unmarkStacktrace}.
 */

const MARK = '\x1fck-code:';

/**
 * The error BullMQ records for a failure `original` with `code`: same name and message, its stack
 * marked with the code. `base` makes the error (BullMQ's `UnrecoverableError` for a final failure).
 */
export function markedWithCode(original: Error, code: string, base: (message: string) => Error): Error {
  const marked = base(original.message);
  if (marked.name !== 'UnrecoverableError') marked.name = original.name;
  marked.stack = `${MARK}${Buffer.byteLength(code)}:${code}\n${original.stack ?? `${original.name}: ${original.message}`}`;
  return marked;
}

/** The code of an error (a string `code` property), if any. */
export function codeOf(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/** A stack list whose newest entry may carry a mark → the list without it, and the code. */
export function unmarkStacktrace(stacktrace: readonly string[]): { stacktrace: string[]; code?: string } {
  const last = stacktrace.at(-1);
  if (last === undefined || !last.startsWith(MARK)) return { stacktrace: [...stacktrace] };
  // The length is in bytes, as the Lua side reads it.
  const colon = last.indexOf(':', MARK.length);
  const bytes = Buffer.from(last.slice(colon + 1), 'utf8');
  const length = Number(last.slice(MARK.length, colon));
  const code = bytes.subarray(0, length).toString('utf8');
  return { stacktrace: [...stacktrace.slice(0, -1), bytes.subarray(length + 1).toString('utf8')], code };
}

/**
 * The code of a job hash's `fc`, when it belongs to the job's current `failedReason` (a failure
 * recorded by a script the engine does not wrap would leave an older `fc` behind, which must not
 * read as that failure's code). BullMQ's stalled check does not fail a job itself: it marks a job
 * stalled too often (`defa`) and moves it back to wait, and the worker that fetches it next fails it
 * through the wrapped finish (test/jobs/redis-native-stalled.test.ts).
 */
export function codeOfField(fc: string | undefined, failedReason: string | undefined): string | undefined {
  if (fc === undefined || fc === '' || failedReason === undefined) return undefined;
  try {
    const [code, reason] = JSON.parse(fc) as [unknown, unknown];
    return typeof code === 'string' && reason === failedReason ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lua (inside the wrapped failure scripts, `ckCall` = `redis.call`): `ckMarked(st)` reads a stack
 * list (JSON text) → the list (its newest entry unmarked when it carried the mark; nil when `st` is
 * not a list) and the code (nil when there is no mark); `ckCode(jobKey)` moves the mark of the newest
 * stack entry into `fc` = `[code, failedReason]`, or deletes `fc` when there is none, and returns the
 * code and the newest stack (for the attempt's history entry). A job removed by its failure
 * (`removeOnFail`) has no hash left: nothing is written.
 */
export const CODE_LUA = `local function ckMarked(st)
  if not st or st == '' then return nil end
  local ok, list = pcall(cjson.decode, st)
  if not ok or type(list) ~= 'table' then return nil end
  if type(list[#list]) == 'string' then
    local n, rest = string.match(list[#list], '^\\031ck%-code:(%d+):(.*)$')
    if n then
      n = tonumber(n)
      list[#list] = string.sub(rest, n + 2)
      return list, string.sub(rest, 1, n)
    end
  end
  return list
end
local function ckCode(jobKey)
  local f = ckCall('HMGET', jobKey, 'stacktrace', 'failedReason')
  local list, code = ckMarked(f[1])
  local newest = list and list[#list]
  if type(newest) ~= 'string' then newest = nil end
  if code then
    ckCall('HSET', jobKey, 'stacktrace', cjson.encode(list), 'fc', cjson.encode({ code, f[2] or '' }))
    return code, newest
  end
  ckCall('HDEL', jobKey, 'fc')
  return nil, newest
end
`;
