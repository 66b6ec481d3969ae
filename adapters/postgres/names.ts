/**
 * Names on the PostgreSQL side. Queue, channel and key names are data (parameters, never spliced
 * into SQL); only the schema becomes an identifier, quoted. LISTEN/NOTIFY channel names are derived
 * from a hash of the schema, and notification payloads carry an md5 of the queue or lock key, so
 * names of any length and any characters are fine.
 */
import { createHash } from 'node:crypto';
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1), in bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/** Checks a schema name: non-empty, at most 63 bytes, no NUL. */
export function assertSchemaName(schema: unknown): string {
  if (
    typeof schema !== 'string' ||
    schema.length === 0 ||
    schema.includes('\0') ||
    schema.includes('$') ||
    Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES
  ) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `createPostgresAdapters: schema must be a non-empty name of at most ${MAX_IDENTIFIER_BYTES} bytes without NUL or $`,
      { details: { option: 'schema' } },
    );
  }
  return schema;
}

/** The schema as a quoted identifier. */
export function qualify(schema: string): string {
  return `"${schema.replace(/"/g, '""')}"`;
}

/** Prefix of this schema's NOTIFY channels: `ck_` and 12 hex digits of its hash (lower case, always valid). */
export function channelBase(schema: string): string {
  return `ck_${createHash('sha1').update(schema).digest('hex').slice(0, 12)}`;
}

/** md5 hex of a name, as PostgreSQL's `md5(text)` computes it (UTF-8). */
export function md5(name: string): string {
  return createHash('md5').update(name, 'utf8').digest('hex');
}

/** A 64-bit advisory-lock key for `purpose` in `schema` (as a decimal string for a bigint parameter). */
export function advisoryKey(schema: string, purpose: string): string {
  return createHash('sha1').update(`clusterkit:${schema}:${purpose}`).digest().readBigInt64BE(0).toString();
}

/** The LISTEN/NOTIFY channels of `schema`: event-queue wake-ups, lock releases, pub/sub. */
export function notifyChannels(schema: string): {
  readonly queue: string;
  readonly lock: string;
  readonly pubsub: string;
} {
  const base = channelBase(schema);
  return { queue: `${base}_q`, lock: `${base}_l`, pubsub: `${base}_p` };
}
