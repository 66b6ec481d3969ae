/**
 * The app container: construction checks, lifecycle order, isolation by name, env-based adapter
 * selection, and the root entry staying free of broker clients.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendsFromEnv, ClusterError, createApp, ErrorCodes, silentLogger } from 'clusterkit';

describe('createApp', () => {
  it('refuses a missing, empty or malformed name with INVALID_NAME', () => {
    for (const name of [undefined, '', '   ', ' shop', 'sh\nop', 'x'.repeat(600)]) {
      expect(() => createApp({ name: name as string })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_NAME }));
    }
  });

  it('refuses unknown options with UNKNOWN_OPTION', () => {
    expect(() => createApp({ name: 'shop', adaptres: {} } as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.UNKNOWN_OPTION }),
    );
  });

  it('refuses bad stopGracePeriodMs and maxPayloadBytes with INVALID_OPTION', () => {
    expect(() => createApp({ name: 'shop', stopGracePeriodMs: -1 })).toThrow(ClusterError);
    expect(() => createApp({ name: 'shop', maxPayloadBytes: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    );
  });

  it('gives every app instance its own node id, and exposes every manager', () => {
    const a = createApp({ name: 'shop', logger: silentLogger });
    const b = createApp({ name: 'shop', logger: silentLogger });
    expect(a.nodeId).not.toBe(b.nodeId);
    for (const app of [a, b]) {
      expect(app.eventQueue).toBeDefined();
      expect(app.lockManager).toBeDefined();
      expect(app.pubSubManager).toBeDefined();
      expect(app.syncMessageManager).toBeDefined();
      expect(app.cacheManager).toBeDefined();
      expect(app.cache).toBeDefined();
    }
  });

  it('starts and stops (twice is harmless), emitting started/stopped', async () => {
    const app = createApp({ name: 'shop', logger: silentLogger });
    const events: string[] = [];
    app.on('started', () => events.push('started'));
    app.on('stopped', () => events.push('stopped'));
    await Promise.all([app.start(), app.start()]);
    expect(app.started).toBe(true);
    await app.cache.set('k', 1);
    expect(await app.cache.get('k')).toBe(1);
    await Promise.all([app.stop(), app.stop()]);
    expect(app.started).toBe(false);
    expect(events).toEqual(['started', 'stopped']);
  });

  it('stop() during start() waits for the start, then stops', async () => {
    const app = createApp({ name: 'shop', logger: silentLogger });
    const starting = app.start();
    const stopping = app.stop();
    await Promise.all([starting, stopping]);
    expect(app.started).toBe(false);
    await app.start();
    expect(app.started).toBe(true);
    await app.stop();
  });

  it('rejects event-queue publishing before start and after stop', async () => {
    const app = createApp({ name: 'shop', logger: silentLogger });
    await expect(app.eventQueue.publish('orders', { id: 1 })).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    await app.start();
    await app.stop();
    await expect(app.eventQueue.publish('orders', { id: 1 })).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
  });
});

describe('backendsFromEnv', () => {
  it('defaults to memory for everything', () => {
    expect(backendsFromEnv({})).toEqual({ eventQueue: 'memory', lock: 'memory', pubSub: 'memory', cache: 'memory' });
  });

  it('applies CLUSTERKIT_ADAPTER to all primitives and per-primitive overrides on top', () => {
    expect(
      backendsFromEnv({ CLUSTERKIT_ADAPTER: 'redis', CLUSTERKIT_PUBSUB_ADAPTER: 'memory', REDIS_URL: 'redis://x' }),
    ).toEqual({ eventQueue: 'redis', lock: 'redis', pubSub: 'memory', cache: 'redis' });
  });

  it('keeps lock and cache off RabbitMQ: Redis when a Redis URL is set, else memory', () => {
    expect(backendsFromEnv({ CLUSTERKIT_ADAPTER: 'rabbitmq' })).toEqual({
      eventQueue: 'rabbitmq',
      lock: 'memory',
      pubSub: 'rabbitmq',
      cache: 'memory',
    });
    expect(backendsFromEnv({ CLUSTERKIT_ADAPTER: 'rabbitmq', CLUSTERKIT_REDIS_URL: 'redis://x' })).toMatchObject({
      lock: 'redis',
      cache: 'redis',
    });
  });

  it('selects PostgreSQL for every primitive with CLUSTERKIT_ADAPTER=postgres', () => {
    expect(backendsFromEnv({ CLUSTERKIT_ADAPTER: 'postgres', DATABASE_URL: 'postgres://x/db' })).toEqual({
      eventQueue: 'postgres',
      lock: 'postgres',
      pubSub: 'postgres',
      cache: 'postgres',
    });
    expect(backendsFromEnv({ CLUSTERKIT_ADAPTER: 'postgres', CLUSTERKIT_PUBSUB_ADAPTER: 'redis' })).toMatchObject({
      lock: 'postgres',
      pubSub: 'redis',
    });
  });

  it('refuses an unknown backend name with INVALID_OPTION', () => {
    expect(() => backendsFromEnv({ CLUSTERKIT_ADAPTER: 'kafka' })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    );
  });
});

describe('layering', () => {
  it('never imports a broker client from src/ (the root entry)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          if (/from ['"](ioredis|bullmq|amqplib)['"]|import\(['"](ioredis|bullmq|amqplib)['"]\)/.test(text)) offenders.push(path);
        }
      }
    };
    walk(join(import.meta.dirname, '..', 'src'));
    expect(offenders).toEqual([]);
  });
});
