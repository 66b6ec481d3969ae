/**
 * Versioned, idempotent migrations of the adapters' own schema, run by every node at
 * `app.start()`. All of it happens in one transaction holding a transaction-scoped advisory lock
 * derived from the schema name, so nodes starting at once migrate one after the other: the first
 * applies what is missing, the others find every version recorded and change nothing. Nothing
 * outside the schema is created or touched.
 */
import type pg from 'pg';
import { inTransaction } from './in-transaction.js';
import { advisoryKey, qualify } from './names.js';
import { SCHEMA_V1 } from './schema-v1.js';
import { SCHEMA_V2 } from './schema-v2.js';

/** One migration: applied once per schema, in version order, recorded in `<schema>.migrations`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, given the quoted schema. */
  readonly sql: (schema: string) => string;
}

/** Every migration, oldest first. Append only: a released version is never edited. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial tables and functions', sql: SCHEMA_V1 },
  { version: 2, name: 'managed-job store', sql: SCHEMA_V2 },
];

/** The newest version this code knows. */
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings `schema` up to {@link LATEST_VERSION}. Returns the versions applied by this call (empty
 * when another node, or an earlier start, already did). A schema migrated by newer code (a version
 * this code does not know) is left as it is.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const s = qualify(schema);
  return inTransaction(pool, async (client) => {
    // Serializes concurrent starts, CREATE SCHEMA included (IF NOT EXISTS alone still races).
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey(schema, 'migrate')]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.migrations`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql(s));
      await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
