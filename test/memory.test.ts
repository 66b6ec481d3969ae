/**
 * The memory adapters (the zero-service default) through every conformance suite: several apps on
 * one shared in-process backend behave as the nodes of one cluster.
 */
import { cacheSuite } from './conformance/cache.suite.js';
import { eventQueueSuite } from './conformance/event-queue.suite.js';
import { lockSuite } from './conformance/lock.suite.js';
import { memoryFactory } from './conformance/memory-factory.js';
import { namesSuite } from './conformance/names.suite.js';
import { pubSubSuite } from './conformance/pub-sub.suite.js';

eventQueueSuite(memoryFactory);
lockSuite(memoryFactory);
pubSubSuite(memoryFactory);
cacheSuite(memoryFactory);
namesSuite(memoryFactory);
