/**
 * Names, one encoding for every manager and every adapter. A key, channel or queue name is built
 * from parts (app, manager, name, ...) joined by `:`, and each part is escaped so it cannot contain
 * a `:` of its own: two different tuples can never produce the same string, whatever characters
 * the parts hold. App `shop` with lock `a:b` (`shop:a%3Ab`) is not app `shop:a` with lock `b`
 * (`shop%3Aa:b`), and cache `tmp`'s namespace (`<app>:cache:tmp:`) is no prefix of cache `tmp:x`'s
 * (`<app>:cache:tmp%3Ax:`), so a `reset()` stays inside its own cache.
 *
 * The escape also covers SCAN glob characters and Redis Cluster hash-tag braces, so no part can
 * widen a prefix scan or pick the hash slot of a key it is embedded in. Names made only of letters,
 * digits, `-`, `_`, `.`, `/` and spaces come out unchanged.
 */

// `%` first so escapes themselves are unambiguous; `:` is the separator; the rest are SCAN glob
// characters and Redis Cluster hash-tag braces.
const ESCAPED = /[%:*?[\]{}\\]/g;
const NEEDS_ESCAPE = /[%:*?[\]{}\\]/;

/** Escapes one name part: `%`, `:`, `*`, `?`, `[`, `]`, `{`, `}` and `\` become `%XX` (upper-case hex). */
export function escapeKeyPart(part: string): string {
  // Most names need nothing: a test is cheaper than a replace on the publish path.
  if (!NEEDS_ESCAPE.test(part)) return part;
  return part.replace(ESCAPED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Reverses {@link escapeKeyPart}. */
export function unescapeKeyPart(part: string): string {
  return part.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * The name of `name` inside app `appName`: `<app>:<name>`, both parts escaped. Event-queue queues,
 * pub/sub channels and lock keys are this name (adapters add their own prefix and suffixes).
 */
export function appScopedName(appName: string, name: string): string {
  return `${escapeKeyPart(appName)}:${escapeKeyPart(name)}`;
}

/**
 * The key namespace of a cache: `<app>:cache:<prefix>:`, app and prefix escaped. A cache key is
 * appended as it is: the namespace ends in the only unescaped `:` after the prefix, so no key can
 * reach into another cache's namespace.
 */
export function cacheNamespace(appName: string, prefix: string): string {
  return `${escapeKeyPart(appName)}:cache:${escapeKeyPart(prefix)}:`;
}
