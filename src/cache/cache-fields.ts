/**
 * Helpers of the NocoBase-shaped cache methods: Redis-style glob matching for `cache.keys(pattern)`
 * and the one-field object edits behind `setValueInObject` / `delValueInObject`.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { describe } from '../validation.js';

/**
 * A matcher for a Redis `MATCH` glob: `*` any run, `?` one character, `[abc]` / `[a-z]` / `[^a]`
 * a class, `\x` a literal `x`. Every other character is literal.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  if (typeof pattern !== 'string') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `keys() pattern must be a string, got ${describe(pattern)}`);
  }
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else source += escapeRegExp(c);
  }
  const regex = new RegExp(`^${source}$`, 'u');
  return (key) => regex.test(key);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Checks an object key of the `*ValueInObject` methods. */
export function assertObjectKey(objectKey: unknown): string {
  if (typeof objectKey !== 'string') {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `objectKey must be a string, got ${describe(objectKey)}`);
  }
  return objectKey;
}

/** The stored value as an object to edit: a miss is `{}`; anything but a plain object is refused. */
export function asObject(key: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ClusterError(
      ErrorCodes.INVALID_STATE,
      `cache value of "${key}" is ${describe(value)}, not an object: cannot set or delete one of its fields`,
      { details: { key } },
    );
  }
  return value as Record<string, unknown>;
}

/** `object` with `field` set to `value` (own data property, so `__proto__` is just a field name). */
export function withField(object: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const copy = { ...object };
  Object.defineProperty(copy, field, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** `object` without `field`. */
export function withoutField(object: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...object };
  delete copy[field];
  return copy;
}

/** The value of `field` in a stored value, `undefined` when the value is missing or not an object. */
export function fieldOf(value: unknown, field: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.prototype.hasOwnProperty.call(value, field) ? (value as Record<string, unknown>)[field] : undefined;
}
