/**
 * When a broker cannot be reached, `app.start()` rejects with `BACKEND_UNAVAILABLE` whose message
 * names where it tried (URL with the password masked) and why (`ECONNREFUSED 127.0.0.1:<port>`,
 * `ENOTFOUND`, `NOAUTH`): the library says it, so every app sees what the CLI shows. Each adapter
 * is pointed at a port nothing listens on (a free port, found by binding and closing it).
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, silentLogger, type ClusterAdapters } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { createRabbitMQAdapters } from 'clusterkit/rabbitmq';
import { createPostgresAdapters } from 'clusterkit/postgres';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startError(adapters: ClusterAdapters): Promise<{ code: string; message: string; retryable: boolean }> {
  const app = createApp({ name: 'conn-errors', logger: silentLogger, adapters });
  try {
    await app.start();
  } catch (error) {
    return error as { code: string; message: string; retryable: boolean };
  } finally {
    await app.stop().catch(() => {});
  }
  throw new Error('app.start() succeeded against a closed port');
}

describe('connection errors name the masked URL and the cause', () => {
  it('Redis: ECONNREFUSED with host:port, password masked', async () => {
    const port = await freePort();
    const error = await startError(
      createRedisAdapters({ url: `redis://app:s3cret@127.0.0.1:${port}`, connectTimeoutMs: 5_000 }),
    );
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toContain(`redis://app:***@127.0.0.1:${port}`);
    expect(error.message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cret');
    expect(error.retryable).toBe(true);
  });

  it('Redis: ENOTFOUND names the host', async () => {
    const error = await startError(
      createRedisAdapters({ url: 'redis://no-such-host.invalid:6379', connectTimeoutMs: 5_000 }),
    );
    expect(error.message).toContain('redis://no-such-host.invalid:6379');
    expect(error.message).toContain('ENOTFOUND');
  });

  describe('Redis: NOAUTH', () => {
    // A server speaking RESP that refuses every command until AUTH, as a password-protected Redis does.
    let server: Server;
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('names the authentication failure', async () => {
      server = createServer((socket) => {
        // One error reply per command (a client may pipeline several in one packet).
        socket.on('data', (data: Buffer) => {
          const commands = data.toString().match(/(^|\r\n)\*\d+\r\n/g)?.length ?? 1;
          socket.write('-NOAUTH Authentication required.\r\n'.repeat(commands));
        });
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      const error = await startError(
        createRedisAdapters({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 3_000 }),
      );
      expect(error.code).toBe('BACKEND_UNAVAILABLE');
      expect(error.message).toContain(`redis://127.0.0.1:${port}`);
      expect(error.message).toContain('NOAUTH');
    });
  });

  it('RabbitMQ: ECONNREFUSED with host:port, password masked', async () => {
    const port = await freePort();
    const error = await startError(createRabbitMQAdapters({ url: `amqp://guest:s3cret@127.0.0.1:${port}` }));
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toContain(`amqp://guest:***@127.0.0.1:${port}`);
    expect(error.message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cret');
  });

  it('PostgreSQL: ECONNREFUSED with host:port, password masked', async () => {
    const port = await freePort();
    const error = await startError(
      createPostgresAdapters({ connectionString: `postgres://postgres:s3cret@127.0.0.1:${port}/test` }),
    );
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toContain(`postgres://postgres:***@127.0.0.1:${port}/test`);
    expect(error.message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cret');
  });

  it('PostgreSQL: ENOTFOUND names the host', async () => {
    const error = await startError(
      createPostgresAdapters({ connectionString: 'postgres://postgres@no-such-host.invalid:5432/test' }),
    );
    expect(error.message).toContain('no-such-host.invalid');
    expect(error.message).toContain('ENOTFOUND');
  });
});
