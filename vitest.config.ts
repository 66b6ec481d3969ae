import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^clusterkit\/redis$/, replacement: r('./adapters/redis/index.ts') },
      { find: /^clusterkit\/rabbitmq$/, replacement: r('./adapters/rabbitmq/index.ts') },
      { find: /^clusterkit\/postgres$/, replacement: r('./adapters/postgres/index.ts') },
      { find: /^clusterkit\/adapter-kit$/, replacement: r('./src/adapter-kit.ts') },
      { find: /^clusterkit\/ops$/, replacement: r('./src/ops/index.ts') },
      { find: /^clusterkit$/, replacement: r('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Broker-backed files share two cores and one Redis/RabbitMQ. Locally two files run at once; CI
    // runs them one at a time (the whole suite still takes minutes), since concurrent files starved
    // each other's RabbitMQ consumers past their deadlines on this 2-core machine. CI also retries a
    // failed test once: a deterministic bug still fails, a load-induced timing miss does not sink the
    // run — and every retry is printed in the report, so flakes stay visible.
    maxWorkers: process.env.CI === 'true' ? 1 : 2,
    retry: process.env.CI === 'true' ? 1 : 0,
    // The summary lists, at the end of the output, every test that needed its retry (CI only).
    reporters: ['default', './test/retry-summary-reporter.ts'],
  },
});
