/**
 * The managed-job suites on a 3-master Redis Cluster (started for this file on free loopback
 * ports): job records, claims and schedule ticks spread over slots and masters, and the SCAN-based
 * reads walk every master.
 */
import { onRedisCluster } from '../redis/on-redis-cluster.js';
import { managedJobSuites } from './managed-jobs.suite.js';

onRedisCluster('managed jobs on redis-cluster', managedJobSuites);
