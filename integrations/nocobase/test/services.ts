/**
 * Where the integration tests find their services (the machine's loopback services, or the
 * variables below) and how they make and remove what they own there: a PostgreSQL database per
 * test file, a Redis key prefix and a clusterkit namespace per test. Nothing here ever skips: a
 * service that does not answer fails the run.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** A database on the server the tests create their databases on (trust auth, user postgres). */
export const PG = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD ?? '',
};

/** A random lowercase name: `prefix_<hex>`. */
export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A database created for one test file. */
export interface TestDatabase {
  readonly name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...PG, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database; `drop()` removes it (disconnecting whatever still holds it). */
export async function createDatabase(): Promise<TestDatabase> {
  const name = randomName('ck_nocobase');
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

/** Every Redis key under `prefix` (SCAN, never KEYS). */
export async function redisKeys(prefix: string): Promise<string[]> {
  const client = new Redis(REDIS_URL);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  } finally {
    client.disconnect();
  }
}

/** Deletes every Redis key under `prefix`. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const keys = await redisKeys(prefix);
  if (keys.length === 0) return;
  const client = new Redis(REDIS_URL);
  try {
    for (const key of keys) await client.unlink(key);
  } finally {
    client.disconnect();
  }
}

/** A database for the calling test file: created before its tests, dropped after. Call at file or describe level. */
export function useDatabase(): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error('the test database is created in beforeAll');
    return db;
  };
}
