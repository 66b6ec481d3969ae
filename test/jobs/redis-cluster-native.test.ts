/**
 * The native managed-job engine (`managedJobs: { engine: 'native' }`) on a 3-master Redis Cluster
 * (started for this file on free loopback ports): the shared suites' cases it declares
 * (`NATIVE_FEATURES`), so every step it takes — registering a handler queue, the id index, reads,
 * cancel, pause, NO_PROCESSOR, the finished and abort channels — runs with keys spread over slots
 * and masters, where a command or script touching keys of two slots fails.
 */
import { onRedisCluster } from '../redis/on-redis-cluster.js';
import { basicsSuite } from './basics.suite.js';
import { clusterSuite } from './cluster.suite.js';
import { controlSuite } from './control.suite.js';
import { NATIVE_FEATURES } from './jobs-helpers.js';

onRedisCluster(
  'managed jobs on the native engine on redis-cluster',
  (factory) => {
    basicsSuite(factory);
    controlSuite(factory);
    clusterSuite(factory);
  },
  {
    label: 'redis-cluster-native',
    options: () => ({ managedJobs: { engine: 'native', lockDurationMs: 2_000, stalledIntervalMs: 3_000 } }),
    managedFeatures: new Set(NATIVE_FEATURES),
  },
);
