// clusterkit/adapter-kit under ESM (see kit-checks.cjs; run by test/package/pack-install.test.ts).
import { createRequire } from 'node:module';
import * as root from 'clusterkit';
import * as kit from 'clusterkit/adapter-kit';
import * as redis from 'clusterkit/redis';
import * as ops from 'clusterkit/ops';

const checkAdapterKit = createRequire(import.meta.url)('./kit-checks.cjs');
await checkAdapterKit({ root, kit, redis, ops, format: 'esm' });
