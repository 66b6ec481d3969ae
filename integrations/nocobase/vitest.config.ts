/**
 * Tests of `clusterkit/nocobase` against a real, unmodified NocoBase (installed in this folder by
 * its own lockfile). The root `npm test` never sees these files: its vitest config includes only
 * `test/**` of the repository root. Run with `npm test` here (after `npm ci` here and at the root).
 */
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // The bridge and clusterkit from source (as the root tests use them); NocoBase from this folder's
    // node_modules, also for the bridge's own imports of it, so both see one NocoBase instance.
    alias: [
      { find: /^clusterkit\/redis$/, replacement: r('../../adapters/redis/index.ts') },
      { find: /^clusterkit\/rabbitmq$/, replacement: r('../../adapters/rabbitmq/index.ts') },
      { find: /^clusterkit\/postgres$/, replacement: r('../../adapters/postgres/index.ts') },
      { find: /^clusterkit\/nocobase$/, replacement: r('../../adapters/nocobase/index.ts') },
      { find: /^clusterkit\/adapter-kit$/, replacement: r('../../src/adapter-kit.ts') },
      { find: /^clusterkit$/, replacement: r('../../src/index.ts') },
      { find: /^@nocobase\/server$/, replacement: require.resolve('@nocobase/server') },
      { find: /^@nocobase\/lock-manager$/, replacement: require.resolve('@nocobase/lock-manager') },
    ],
  },
  test: {
    root: r('.'),
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // NocoBase apps are heavy and share one PostgreSQL, Redis and RabbitMQ: one file at a time.
    maxWorkers: 1,
    fileParallelism: false,
    retry: process.env.CI === 'true' ? 1 : 0,
    env: {
      // NocoBase logs to the console only (no log files), warnings and up, and keeps its storage
      // (memory-queue snapshots, logs) out of the repository.
      LOGGER_TRANSPORT: 'console',
      LOGGER_LEVEL: process.env.LOGGER_LEVEL ?? 'error',
      STORAGE_PATH: join(tmpdir(), 'clusterkit-nocobase-storage'),
    },
    reporters: ['default'],
  },
});
