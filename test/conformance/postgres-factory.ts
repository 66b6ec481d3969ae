/**
 * PostgreSQL clusters for the conformance suites: each test cluster gets a random schema, each
 * node its own `createPostgresAdapters()` (its own pool and LISTEN connection), and cleanup drops
 * that schema — only it. `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`) says
 * where PostgreSQL is; see {@link resolvePostgresUrl} for what happens when it does not answer.
 */
import pg from 'pg';
import { createPostgresAdapters, type PostgresAdaptersOptions } from 'clusterkit/postgres';
import { randomName } from '../helpers.js';
import type { ClusterFactory } from './cluster.js';
import { clusterFactory } from './make-cluster.js';

/** The database the tests use unless `DATABASE_URL` says otherwise. */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Answers `SELECT 1` within two seconds? */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Where the tests find PostgreSQL, or why they cannot run. */
export type PostgresTarget = { url: string; stop?: () => Promise<void> } | { skip: string };

/**
 * `DATABASE_URL` when it answers. Otherwise: under `CI=true` throw (tests must fail loudly, never
 * skip); else start PostgreSQL with testcontainers when Docker is there; else a visible skip reason.
 */
export async function resolvePostgresUrl(): Promise<PostgresTarget> {
  const url = process.env.DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  if (await postgresAnswers(url)) return { url };
  if (process.env.CI === 'true') throw new Error(`PostgreSQL does not answer at ${url} (CI=true: refusing to skip)`);
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:16-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    return {
      url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/test`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    return {
      skip: `PostgreSQL does not answer at ${url} and no Docker to start one (${(error as Error).message.split('\n')[0]})`,
    };
  }
}

/** Drops `schema` (and everything in it) on a throwaway connection. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A {@link ClusterFactory} over PostgreSQL; `label` shows in test names. */
export function postgresFactory(
  label: string,
  url: () => string,
  extra: () => Omit<PostgresAdaptersOptions, 'connectionString' | 'pool' | 'schema'> = () => ({}),
): ClusterFactory {
  return clusterFactory(label, () => {
    const schema = randomName('ckt');
    return {
      adapters: () => createPostgresAdapters({ ...extra(), connectionString: url(), schema, onError: () => {} }),
      async cleanup() {
        await dropSchema(url(), schema);
      },
    };
  });
}
