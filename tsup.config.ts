import { defineConfig } from 'tsup';

// The adapters import the core through the package name (`clusterkit`), exactly as a third-party
// adapter would, and the core is kept external so that `ClusterError` & co. exist once at runtime.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'adapter-kit': 'src/adapter-kit.ts',
    redis: 'adapters/redis/index.ts',
    rabbitmq: 'adapters/rabbitmq/index.ts',
    postgres: 'adapters/postgres/index.ts',
    nocobase: 'adapters/nocobase/index.ts',
    ops: 'src/ops/index.ts',
    cli: 'src/cli/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: {
    entry: {
      index: 'src/index.ts',
    'adapter-kit': 'src/adapter-kit.ts',
      redis: 'adapters/redis/index.ts',
      rabbitmq: 'adapters/rabbitmq/index.ts',
      postgres: 'adapters/postgres/index.ts',
      nocobase: 'adapters/nocobase/index.ts',
      ops: 'src/ops/index.ts',
    },
  },
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  external: [
    'clusterkit',
    'clusterkit/adapter-kit',
    'clusterkit/redis',
    'clusterkit/rabbitmq',
    'clusterkit/postgres',
    'clusterkit/ops',
    'ioredis',
    'bullmq',
    'amqplib',
    'pg',
    '@nocobase/server',
    '@nocobase/lock-manager',
  ],
});
