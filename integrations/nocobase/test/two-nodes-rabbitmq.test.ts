/** The two-node cases with the bridge's queue and pub/sub on RabbitMQ, locks and worker ids on Redis. */
import { rabbitmqBackend } from './nocobase-node.js';
import { twoNodeSuite } from './two-nodes.suite.js';

twoNodeSuite(rabbitmqBackend);
