/** The two-node cases with the bridge on Redis (queue, pub/sub, locks, worker ids). */
import { redisBackend } from './nocobase-node.js';
import { twoNodeSuite } from './two-nodes.suite.js';

twoNodeSuite(redisBackend);
