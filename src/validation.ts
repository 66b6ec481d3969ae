/**
 * Input checks shared by every manager. Each refuses bad input with a coded {@link ClusterError}
 * at the call, before anything reaches a broker.
 */
import { ClusterError, ErrorCodes } from './errors.js';

/** Longest channel/queue/key name accepted, in characters. */
export const MAX_NAME_LENGTH = 512;
/**
 * Largest duration accepted for something a Node timer waits on in-process (lock TTLs, timeouts,
 * grace periods), in ms: the largest value `setTimeout` honours, ~24.8 days.
 */
export const MAX_DURATION_MS = 2_147_483_647;
/**
 * Largest delay accepted (`publish({ delay })`, `enqueue({ delayMs })`), in ms: 366 days. A delay is
 * stored as a due time, so it is not bound by `setTimeout`; a node that waits for the due time
 * chains timers (see {@link timerDelay}). The bound keeps BullMQ's delayed score
 * (`timestamp * 4096 + sequence`) exact.
 */
export const MAX_DELAY_MS = 31_622_400_000;

/**
 * A wait of `ms` cut to what one `setTimeout` honours (a longer value fires after 1 ms, with a
 * warning). Code that waits for a due time arms a timer for this and, when it fires early, arms the
 * next one for what is left: a chain of timers.
 */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_DURATION_MS);
}
/** Default payload size limit, in bytes of serialized JSON (1 MiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

/** Names {@link assertName} accepted lately (bounded: cleared when full), and the bound. */
const VALID_NAMES = new Set<string>();
const VALID_NAMES_MAX = 1_024;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Checks a channel, queue or key name: a non-empty string, no leading/trailing whitespace, no
 * control characters, at most {@link MAX_NAME_LENGTH} characters. Returns it unchanged.
 */
export function assertName(kind: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new ClusterError(ErrorCodes.INVALID_NAME, `${kind} must be a string, got ${describe(value)}`, {
      details: { kind },
    });
  }
  // Whether a name is valid depends on the string alone: hot callers (every enqueue checks its
  // plugin, queue and job names) find the names they use again here instead of re-running the checks.
  if (VALID_NAMES.has(value)) return value;
  let problem: string | undefined;
  if (value.length === 0) problem = 'must not be empty';
  else if (value.trim().length === 0) problem = 'must not be only whitespace';
  else if (value.trim() !== value) problem = 'must not start or end with whitespace';
  else if (CONTROL_CHARS.test(value)) problem = 'must not contain control characters';
  else if (value.length > MAX_NAME_LENGTH) problem = `must be at most ${MAX_NAME_LENGTH} characters`;
  if (problem) {
    throw new ClusterError(ErrorCodes.INVALID_NAME, `${kind} ${problem} (got ${JSON.stringify(value.slice(0, 80))})`, {
      details: { kind },
    });
  }
  if (VALID_NAMES.size >= VALID_NAMES_MAX) VALID_NAMES.clear();
  VALID_NAMES.add(value);
  return value;
}

/**
 * Serializes a payload to JSON, refusing what JSON cannot carry faithfully: functions, symbols,
 * BigInt, cycles, NaN/Infinity and a top-level `undefined`. Properties whose value is `undefined`
 * are dropped, as `JSON.stringify` does. Objects with `toJSON` (Date) are serialized through it.
 */
export function serializePayload(kind: string, value: unknown, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): string {
  // Shallow payloads (nearly all) are walked without a Set; a cycle (or a payload deeper than
  // FAST_DEPTH) makes the walk give up, and the exact walk, which names the cycle, runs from the top.
  if (!walkJsonSafe(kind, value, '$', 0, null)) walkJsonSafe(kind, value, '$', 0, new Set());
  const text = JSON.stringify(value);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short texts need no byte count.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new ClusterError(
      ErrorCodes.PAYLOAD_TOO_LARGE,
      `${kind} is ${bytes} bytes of JSON, over the limit of ${maxBytes} bytes`,
      { details: { bytes, maxBytes } },
    );
  }
  return text;
}

function failPayload(kind: string, what: string, path: string): never {
  throw new ClusterError(ErrorCodes.INVALID_PAYLOAD, `${kind} is not JSON-serializable: ${what} at ${path}`, {
    details: { path },
  });
}

/** Nesting the Set-free walk follows before it gives up and the walk with cycle tracking runs. */
const FAST_DEPTH = 32;

/**
 * Walks a value; hot on every publish, so no closures and paths are built only on failure. With
 * `seen === null` (the common shallow payload) no `Set` is allocated: the walk returns false when
 * it went deeper than {@link FAST_DEPTH} (where a cycle would take it), and the caller walks again
 * from the top with a `Set`, which names the cycle. Up to that depth both walks visit the same values
 * in the same order, so the first problem found, and its message, are the same.
 */
function walkJsonSafe(kind: string, value: unknown, path: string, depth: number, seen: Set<object> | null): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      if (!Number.isFinite(value)) failPayload(kind, String(value), path);
      return true;
    case 'undefined':
      if (path === '$') failPayload(kind, 'undefined', path);
      return true;
    case 'bigint':
      return failPayload(kind, 'a BigInt', path);
    case 'function':
      return failPayload(kind, 'a function', path);
    case 'symbol':
      return failPayload(kind, 'a symbol', path);
  }
  if (value === null) return true;
  const obj = value as Record<string, unknown>;
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return true;
  if (seen === null) {
    if (depth === FAST_DEPTH) return false;
  } else {
    if (seen.has(obj)) failPayload(kind, 'a circular reference', path);
    seen.add(obj);
  }
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const item: unknown = obj[i];
      if (item === undefined) failPayload(kind, 'undefined in an array', `${path}[${i}]`);
      if (typeof item === 'string' || typeof item === 'boolean') continue;
      if (typeof item === 'number' && Number.isFinite(item)) continue;
      if (!walkJsonSafe(kind, item, `${path}[${i}]`, depth + 1, seen)) return false;
    }
  } else {
    if (obj instanceof Map) failPayload(kind, 'a Map', path);
    if (obj instanceof Set) failPayload(kind, 'a Set', path);
    for (const k in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
      const v = obj[k];
      // Strings and booleans are always fine: skip the call (and the path string) for them.
      if (typeof v === 'string' || typeof v === 'boolean' || v === undefined) continue;
      if (typeof v === 'number' && Number.isFinite(v)) continue;
      if (!walkJsonSafe(kind, v, path + '.' + k, depth + 1, seen)) return false;
    }
  }
  seen?.delete(obj);
  return true;
}

/** Options for {@link assertDuration}. */
export interface DurationRule {
  /** Accept 0. @default false */
  allowZero?: boolean;
  /**
   * Largest value accepted, in ms: {@link MAX_DURATION_MS} where a timer waits on it in-process,
   * more where it is only stored or compared (delays: {@link MAX_DELAY_MS}; age filters:
   * `Number.MAX_SAFE_INTEGER`). @default MAX_DURATION_MS
   */
  max?: number;
}

/**
 * Checks a duration in milliseconds: a finite number, > 0 (or >= 0 with `allowZero`), at most
 * `rule.max` ({@link MAX_DURATION_MS} by default). Fractions are rounded up to whole milliseconds.
 */
export function assertDuration(name: string, value: unknown, rule: DurationRule = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidOption(name, `must be a finite number of milliseconds, got ${describe(value)}`);
  }
  if (value < 0 || (value === 0 && !rule.allowZero)) {
    throw invalidOption(name, `must be ${rule.allowZero ? '>= 0' : '> 0'} ms, got ${value}`);
  }
  const max = rule.max ?? MAX_DURATION_MS;
  if (value > max) throw invalidOption(name, `must be at most ${max} ms, got ${value}`);
  return Math.ceil(value);
}

/** Checks an integer within `[min, max]`. */
export function assertInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidOption(name, `must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw invalidOption(name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * Checks that `options` is undefined or a plain object whose keys are all in `known` (a set for a
 * hot call with many known keys).
 */
export function assertOptions<T extends object>(
  call: string,
  options: T | undefined,
  known: readonly string[] | ReadonlySet<string>,
): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${call}: options must be an object, got ${describe(options)}`);
  }
  const set = known instanceof Set ? (known as ReadonlySet<string>) : undefined;
  for (const key of Object.keys(options)) {
    if (set ? !set.has(key) : !(known as readonly string[]).includes(key)) {
      throw new ClusterError(
        ErrorCodes.UNKNOWN_OPTION,
        `${call}: unknown option "${key}" (known: ${[...known].join(', ')})`,
        { details: { option: key } },
      );
    }
  }
  return options;
}

/** Checks that a value is a function. */
export function assertFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a function, got ${describe(value)}`);
  }
}

function invalidOption(name: string, message: string): ClusterError {
  return new ClusterError(ErrorCodes.INVALID_OPTION, `${name} ${message}`, { details: { option: name } });
}

/** A short, safe description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return typeof value;
}
