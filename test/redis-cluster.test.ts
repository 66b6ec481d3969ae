/**
 * The Redis adapters on a 3-master Redis Cluster through every conformance suite. The cluster is
 * started for this file on free loopback ports and removed afterwards. Keys that must share a slot
 * (a BullMQ queue's keys, a lock's lease and fencing counter) do so through hash tags; cache
 * multi-key calls and prefix scans work across slots and masters.
 */
import { cacheSuite } from './conformance/cache.suite.js';
import { eventQueueSuite } from './conformance/event-queue.suite.js';
import { lockSuite } from './conformance/lock.suite.js';
import { namesSuite } from './conformance/names.suite.js';
import { pubSubSuite } from './conformance/pub-sub.suite.js';
import { onRedisCluster } from './redis/on-redis-cluster.js';

onRedisCluster('redis-cluster', (factory) => {
  eventQueueSuite(factory);
  lockSuite(factory);
  pubSubSuite(factory);
  cacheSuite(factory);
  namesSuite(factory);
});
