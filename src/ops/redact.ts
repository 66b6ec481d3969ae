/**
 * Payload redaction for the dashboard: fields whose name is in a configurable list are replaced
 * before anything leaves the server, at any depth, so secrets in job payloads never reach a browser.
 */

/** Field names redacted when no list is given (compared ignoring case, `-` and `_`: `api_key` = `apiKey`). */
export const DEFAULT_REDACTED_FIELDS: readonly string[] = [
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'apiToken',
  'privateKey',
  'clientSecret',
  'authorization',
  'cookie',
];

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Returns a function that deep-copies a JSON value, replacing the value of every field whose name
 * is in `fields` (ignoring case, `-` and `_`). An empty list returns values unchanged.
 */
export function createRedactor(fields: readonly string[] = DEFAULT_REDACTED_FIELDS): (value: unknown) => unknown {
  const normalize = (name: string) => name.toLowerCase().replace(/[-_]/g, '');
  const names = new Set(fields.map(normalize));
  if (names.size === 0) return (value) => value;
  const walk = (value: unknown, depth: number): unknown => {
    // JSON payloads are trees; the depth cap only guards against a pathological object.
    if (value === null || typeof value !== 'object' || depth > 64) return value;
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      out[key] = names.has(normalize(key)) ? REDACTED : walk(child, depth + 1);
    }
    return out;
  };
  return (value) => walk(value, 0);
}
