/**
 * 12-factor adapter selection: pick each primitive's backend from environment variables, so an
 * operator switches memory → Redis/RabbitMQ without a code change. See docs/configuration.md.
 */
import type { ClusterAdapters } from './adapters.js';
import { ClusterError, ErrorCodes } from './errors.js';
import { createMemoryAdapters } from './memory.js';

/** Backends a primitive can be set to. */
export type BackendName = 'memory' | 'redis' | 'rabbitmq' | 'postgres';

/** The primitives chosen by variables (the job store follows the cache). */
type Primitive = Exclude<keyof ClusterAdapters, 'jobStore' | 'managedJobEngine'>;

const PRIMITIVES = {
  eventQueue: 'CLUSTERKIT_EVENT_QUEUE_ADAPTER',
  lock: 'CLUSTERKIT_LOCK_ADAPTER',
  pubSub: 'CLUSTERKIT_PUBSUB_ADAPTER',
  cache: 'CLUSTERKIT_CACHE_ADAPTER',
} as const satisfies Record<Primitive, string>;

const SUPPORTED: Record<Primitive, readonly BackendName[]> = {
  eventQueue: ['memory', 'redis', 'rabbitmq', 'postgres'],
  lock: ['memory', 'redis', 'postgres'],
  pubSub: ['memory', 'redis', 'rabbitmq', 'postgres'],
  cache: ['memory', 'redis', 'postgres'],
};

/** Which backend each primitive uses, as read from the environment (no connection is made). */
export function backendsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<Primitive, BackendName> {
  const fallback = readBackend('CLUSTERKIT_ADAPTER', env.CLUSTERKIT_ADAPTER) ?? 'memory';
  const out = {} as Record<Primitive, BackendName>;
  for (const [primitive, variable] of Object.entries(PRIMITIVES) as [Primitive, string][]) {
    let backend = readBackend(variable, env[variable]) ?? fallback;
    // RabbitMQ has no lock or cache: those follow Redis when a Redis URL is configured, else memory.
    if (!SUPPORTED[primitive].includes(backend)) backend = redisUrl(env) ? 'redis' : 'memory';
    out[primitive] = backend;
  }
  return out;
}

/**
 * Builds adapters from the environment:
 * `CLUSTERKIT_ADAPTER` (memory | redis | rabbitmq | postgres, default memory) for every primitive,
 * overridden per primitive by `CLUSTERKIT_EVENT_QUEUE_ADAPTER`, `CLUSTERKIT_LOCK_ADAPTER`,
 * `CLUSTERKIT_PUBSUB_ADAPTER`, `CLUSTERKIT_CACHE_ADAPTER`; `CLUSTERKIT_REDIS_URL` (or `REDIS_URL`),
 * `CLUSTERKIT_AMQP_URL` (or `AMQP_URL`), `CLUSTERKIT_REDIS_PREFIX`, `CLUSTERKIT_DATABASE_URL` (or
 * `DATABASE_URL`), `CLUSTERKIT_POSTGRES_SCHEMA`. Broker clients are loaded only when selected.
 * With Redis selected, the result carries Redis's native managed-job engine too; an app uses it
 * when the event queue is Redis (else managed jobs run on the record engine).
 * `CLUSTERKIT_MANAGED_JOBS_ENGINE=records` selects Redis's record engine instead (`native` is the
 * default), so the CLI reads the jobs of apps configured with `managedJobs: { engine: 'records' }`.
 */
export async function adaptersFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Promise<
  Required<Omit<ClusterAdapters, 'jobStore' | 'managedJobEngine'>> &
    Pick<ClusterAdapters, 'jobStore' | 'managedJobEngine'>
> {
  const backends = backendsFromEnv(env);
  const used = new Set(Object.values(backends));
  const memory = createMemoryAdapters();
  const byBackend: Partial<Record<BackendName, ClusterAdapters>> = { memory };
  if (used.has('redis')) {
    const url = redisUrl(env);
    if (!url) throw missing('CLUSTERKIT_REDIS_URL (or REDIS_URL)');
    const { createRedisAdapters } = await import('clusterkit/redis');
    const engine = env.CLUSTERKIT_MANAGED_JOBS_ENGINE?.trim();
    byBackend.redis = createRedisAdapters({
      url,
      ...(env.CLUSTERKIT_REDIS_PREFIX ? { prefix: env.CLUSTERKIT_REDIS_PREFIX } : {}),
      // 'native' (the default) or 'records'; createRedisAdapters refuses anything else.
      ...(engine ? { managedJobs: { engine: engine as 'native' | 'records' } } : {}),
    });
  }
  if (used.has('rabbitmq')) {
    const url = env.CLUSTERKIT_AMQP_URL ?? env.AMQP_URL;
    if (!url) throw missing('CLUSTERKIT_AMQP_URL (or AMQP_URL)');
    const { createRabbitMQAdapters } = await import('clusterkit/rabbitmq');
    byBackend.rabbitmq = createRabbitMQAdapters({ url });
  }
  if (used.has('postgres')) {
    const connectionString = env.CLUSTERKIT_DATABASE_URL ?? env.DATABASE_URL;
    if (!connectionString) throw missing('CLUSTERKIT_DATABASE_URL (or DATABASE_URL)');
    const { createPostgresAdapters } = await import('clusterkit/postgres');
    const schema = env.CLUSTERKIT_POSTGRES_SCHEMA;
    byBackend.postgres = createPostgresAdapters({ connectionString, ...(schema ? { schema } : {}) });
  }
  const pick = <K extends Primitive>(k: K) =>
    (byBackend[backends[k]]?.[k] ?? memory[k]) as Required<ClusterAdapters>[K];
  // Job records live with the cache: the native job store of the cache's backend (memory, Redis,
  // PostgreSQL); a backend without one (RabbitMQ has no cache) falls back to memory's.
  const jobStore = byBackend[backends.cache]?.jobStore ?? memory.jobStore;
  const picked = { eventQueue: pick('eventQueue'), lock: pick('lock'), pubSub: pick('pubSub'), cache: pick('cache') };
  // Redis's native managed-job engine: the app uses it only when the event queue is Redis's too
  // (the pairing rule, src/jobs/native-engine.ts); else managed jobs run on the record engine.
  const managedJobEngine = byBackend.redis?.managedJobEngine;
  return { ...picked, jobStore, ...(managedJobEngine ? { managedJobEngine } : {}) };
}

function redisUrl(env: NodeJS.ProcessEnv): string | undefined {
  return env.CLUSTERKIT_REDIS_URL ?? env.REDIS_URL;
}

function readBackend(variable: string, value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'memory' || v === 'redis' || v === 'rabbitmq' || v === 'postgres') return v;
  throw new ClusterError(
    ErrorCodes.INVALID_OPTION,
    `${variable} must be memory, redis, rabbitmq or postgres, got "${value}"`,
  );
}

function missing(what: string): ClusterError {
  return new ClusterError(ErrorCodes.INVALID_OPTION, `adaptersFromEnv: ${what} is not set`);
}
