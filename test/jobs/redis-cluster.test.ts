/**
 * The managed-job suites on a 3-master Redis Cluster (started for this file on free loopback
 * ports) on the record engine (`managedJobs: { engine: 'records' }`): job records, claims and
 * schedule ticks spread over slots and masters, and the SCAN-based reads walk every master. The
 * default (native) engine on a Redis Cluster: redis-cluster-native.test.ts.
 */
import { onRedisCluster } from '../redis/on-redis-cluster.js';
import { managedJobSuites } from './managed-jobs.suite.js';

onRedisCluster('managed jobs on redis-cluster records', managedJobSuites, {
  label: 'redis-cluster records',
  options: () => ({ managedJobs: { engine: 'records' } }),
});
