import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^clusterkit\/redis$/, replacement: r('./adapters/redis/index.ts') },
      { find: /^clusterkit\/rabbitmq$/, replacement: r('./adapters/rabbitmq/index.ts') },
      { find: /^clusterkit$/, replacement: r('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Broker-backed files share two cores; a few at a time keeps timing-sensitive cases honest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
