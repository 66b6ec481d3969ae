/**
 * Payload redaction for the dashboard: fields whose name is in a configurable list are replaced
 * before anything leaves the server, at any depth, so secrets in job payloads never reach a browser.
 */

/**
 * Field names redacted when no list is given. Names compare ignoring case, `-` and `_` (`api_key` =
 * `apiKey`); `*` matches any run of characters, so `*password*` also covers `smtpPassword`.
 */
export const DEFAULT_REDACTED_FIELDS: readonly string[] = [
  '*password*',
  '*secret*',
  '*token*',
  '*apikey*',
  '*privatekey*',
  'authorization',
  'cookie',
  'credentials',
];

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Returns a function that deep-copies a JSON value, replacing the value of every field whose name
 * matches an entry of `fields` (ignoring case, `-` and `_`; `*` is a wildcard). An empty list
 * returns values unchanged.
 */
export function createRedactor(fields: readonly string[] = DEFAULT_REDACTED_FIELDS): (value: unknown) => unknown {
  const normalize = (name: string) => name.toLowerCase().replace(/[-_]/g, '');
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const field of fields) {
    const name = normalize(field);
    if (!name.includes('*')) exact.add(name);
    else patterns.push(new RegExp(`^${name.split('*').map(escapeRegExp).join('.*')}$`));
  }
  if (exact.size === 0 && patterns.length === 0) return (value) => value;
  const secret = (key: string) => {
    const name = normalize(key);
    return exact.has(name) || patterns.some((p) => p.test(name));
  };
  const walk = (value: unknown, depth: number): unknown => {
    // JSON payloads are trees; the depth cap only guards against a pathological object.
    if (value === null || typeof value !== 'object' || depth > 64) return value;
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = secret(key) ? REDACTED : walk(child, depth + 1);
    return out;
  };
  return (value) => walk(value, 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
