/**
 * Physical names and declarations. Everything lives under one `prefix` (default `clusterkit`):
 *
 * - `<prefix>.q.<queue>`            the work queue (quorum by default), dead-letters to ↓ on delivery limit
 * - `<prefix>.q.<queue>.dead`       dead letters (classic: browsable with get + requeue)
 * - `<prefix>.q.<queue>.delay.<L>`  delay level L (quorum): TTL 2^L ms, dead-letters back into the work queue
 * - `<prefix>.pubsub`               direct exchange for pub/sub; routing key = channel
 * - `<prefix>.pubsub.node.<uuid>`   one exclusive auto-delete queue per node
 *
 * Names must fit AMQP's 255-byte short strings; long queue names keep a readable head plus a hash.
 */
import { createHash } from 'node:crypto';
import type { Channel, Options } from 'amqplib';

/** Queue type of the work queues. */
export type WorkQueueType = 'quorum' | 'classic';

/** Highest delay level: TTL 2^35 ms ≈ 398 days per hop; longer delays take several hops. */
export const MAX_DELAY_LEVEL = 35;
/** Highest AMQP priority used on classic work queues (`x-max-priority`). */
export const MAX_AMQP_PRIORITY = 10;
/** Longest AMQP short string (queue names, routing keys), in bytes. */
const MAX_SHORT_STRING = 255;
/** Room left for the longest suffix (`.delay.35`) under the 255-byte limit. */
const QUEUE_BASE_BUDGET = MAX_SHORT_STRING - '.delay.35'.length;

/** The physical names of one logical queue. */
export interface QueueNames {
  readonly logical: string;
  readonly main: string;
  readonly dead: string;
  delay(level: number): string;
}

/** Fits `text` in `budget` bytes: unchanged when short, else a readable head plus a 16-hex hash. */
export function fitName(text: string, budget = MAX_SHORT_STRING): string {
  if (Buffer.byteLength(text) <= budget) return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  let head = text.slice(0, budget - 17);
  while (Buffer.byteLength(head) > budget - 17) head = head.slice(0, -1);
  return `${head}~${hash}`;
}

/** Names of the queues behind logical queue `queue`. */
export function queueNames(prefix: string, queue: string): QueueNames {
  const main = fitName(`${prefix}.q.${queue}`, QUEUE_BASE_BUDGET);
  return { logical: queue, main, dead: `${main}.dead`, delay: (level) => `${main}.delay.${level}` };
}

/** The pub/sub exchange of `prefix`. */
export function pubSubExchange(prefix: string): string {
  return fitName(`${prefix}.pubsub`);
}

/** The routing key of pub/sub channel `channel` (direct exchange: exact match, nothing to escape). */
export function pubSubRoutingKey(channel: string): string {
  return fitName(channel);
}

/** The delay level whose TTL (2^level ms) is the largest not above `delayMs` (≥ 1). */
export function delayLevel(delayMs: number): number {
  return Math.min(MAX_DELAY_LEVEL, Math.floor(Math.log2(Math.max(1, delayMs))));
}

/** Work-queue settings. */
export interface WorkQueueSettings {
  readonly type: WorkQueueType;
  /** Quorum `x-delivery-limit`: redeliveries (crashes, requeues) before the broker dead-letters a message. */
  readonly deliveryLimit: number;
}

/** Arguments of the work queue; the broker dead-letters into `.dead` past the delivery limit. */
export function workQueueOptions(names: QueueNames, settings: WorkQueueSettings): Options.AssertQueue {
  const deadLettering = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.dead };
  if (settings.type === 'classic') {
    return {
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-max-priority': MAX_AMQP_PRIORITY, ...deadLettering },
    };
  }
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      // 4.x defaults to 20 and drops past it without a DLX; be explicit on every version.
      'x-delivery-limit': settings.deliveryLimit,
      // at-least-once dead-lettering (3.10+) requires reject-publish overflow.
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      ...deadLettering,
    },
  };
}

/** Dead letters: a classic durable queue, so listing can get + requeue without reordering. */
export const DEAD_QUEUE_OPTIONS: Options.AssertQueue = { durable: true, arguments: { 'x-queue-type': 'classic' } };

/**
 * Arguments of delay level `level`: expire after 2^level ms, then back into the work queue. A quorum
 * queue with at-least-once dead-lettering: a classic queue dead-letters at-most-once, and a message
 * whose TTL runs out while the broker restarts (work queue not up yet) would be dropped.
 */
export function delayQueueOptions(names: QueueNames, level: number): Options.AssertQueue {
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-message-ttl': 2 ** level,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.main,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
}

/** Declares the work queue and its dead-letter queue (dead first: it is the DLX target). */
export async function declareWorkQueue(
  channel: Channel,
  names: QueueNames,
  settings: WorkQueueSettings,
): Promise<void> {
  await channel.assertQueue(names.dead, DEAD_QUEUE_OPTIONS);
  await channel.assertQueue(names.main, workQueueOptions(names, settings));
}

/** Every queue name `obliterate` removes for one logical queue. */
export function allQueueNames(names: QueueNames): string[] {
  const out = [names.main, names.dead];
  for (let level = 0; level <= MAX_DELAY_LEVEL; level++) out.push(names.delay(level));
  return out;
}
