/**
 * `JSON.parse(JSON.stringify(value))` without the text in between: a deep copy with exactly JSON's
 * result (properties whose value is `undefined`, a function or a symbol dropped; such array elements,
 * holes, `NaN` and `±Infinity` become `null`; `-0` becomes `0`). Plain objects and arrays of
 * primitives are copied directly, several times faster than the round trip on a job record; anything
 * else — a `toJSON` method (`Date`), a prototype other than `Object`'s or `Array`'s, a `__proto__` key,
 * a `bigint`, nesting deeper than {@link MAX_DIRECT_DEPTH} (a cycle) — is copied by the round trip
 * itself, so it gives (or throws) what the round trip gives.
 */

/** Nesting copied directly; below it the round trip takes over (it also reports cycles). */
const MAX_DIRECT_DEPTH = 16;

/** `JSON.parse(JSON.stringify(value))`, faster (same result; `undefined` stays `undefined`). */
export function jsonCopy<T>(value: T): T {
  if (value === undefined) return value;
  const copied = copyValue(value, 0);
  return (copied === FALLBACK ? JSON.parse(JSON.stringify(value)) : copied) as T;
}

/** Marks a value the direct copy does not handle: the caller's whole top value takes the round trip. */
const FALLBACK = Symbol('fallback');
/** Marks a value JSON leaves out of an object (and writes as `null` in an array). */
const SKIP = Symbol('skip');

function copyValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return SKIP;
    case 'bigint':
      return FALLBACK;
    default:
      break;
  }
  if (value === null) return null;
  if (depth >= MAX_DIRECT_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') return FALLBACK;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Array.prototype) {
    const source = value as unknown[];
    const out = new Array<unknown>(source.length);
    for (let i = 0; i < source.length; i += 1) {
      const item = copyValue(source[i], depth + 1);
      if (item === FALLBACK) return FALLBACK;
      out[i] = item === SKIP ? null : item;
    }
    return out;
  }
  if (proto !== Object.prototype) return FALLBACK;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (key === '__proto__') return FALLBACK;
    const item = copyValue(source[key], depth + 1);
    if (item === FALLBACK) return FALLBACK;
    if (item !== SKIP) out[key] = item;
  }
  return out;
}
