/**
 * How a queue record travels as an AMQP message: the body is the manager's envelope (opaque, UTF-8),
 * the adapter's bookkeeping rides in `x-ck-*` headers so it never touches the body:
 *
 * - `x-ck-attempt`     failed attempts so far (set on retry republish; crash redeliveries keep it)
 * - `x-ck-deliver-at`  epoch ms before which the message must not be handled (delays)
 * - `x-ck-error`       JSON `SerializedError` of a dead letter
 * - `x-ck-failed-at`   epoch ms a dead letter failed
 */
import type { Message, MessageProperties, Options } from 'amqplib';
import type { SerializedError } from 'clusterkit/adapter-kit';
import { MAX_AMQP_PRIORITY } from './topology.js';

/** Header: failed attempts so far. */
export const H_ATTEMPT = 'x-ck-attempt';
/** Header: epoch ms before which the message must not be handled. */
export const H_DELIVER_AT = 'x-ck-deliver-at';
/** Header: JSON `SerializedError` of a dead letter. */
export const H_ERROR = 'x-ck-error';
/** Header: epoch ms a dead letter failed. */
export const H_FAILED_AT = 'x-ck-failed-at';
/** Header: the logical queue name (`<app>:<channel>`). */
export const H_QUEUE = 'x-ck-queue';

/** Strict UTF-8: a foreign binary body must be refused, not mangled into replacement characters. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The AMQP priority (higher = sooner) for a clusterkit priority (lower = sooner). */
export function amqpPriority(priority: number): number {
  return Math.max(0, MAX_AMQP_PRIORITY - Math.min(MAX_AMQP_PRIORITY, Math.floor(priority)));
}

/**
 * Publish options of a record: persistent, identified (`messageId`: the record id, what dead
 * letters are listed and re-driven by), `mandatory` (a queue deleted since it was declared returns
 * the message instead of confirming and dropping it), our headers when there are any. Nothing else:
 * every property costs the broker work per message, and the envelope already carries the publish time.
 */
export function publishOptions(
  id: string,
  headers: Record<string, unknown> | undefined,
  priority: number | undefined,
): Options.Publish {
  // No `contentType`: no receiver reads it (the body is always the manager's envelope), and it cost
  // 17 bytes and ~3 µs of client CPU per message (docs/performance.md).
  const options: Options.Publish = { persistent: true, mandatory: true, messageId: id };
  if (headers !== undefined && Object.keys(headers).length > 0) options.headers = headers;
  if (priority !== undefined) options.priority = priority;
  return options;
}

/** A non-negative integer header, or `fallback`. */
export function intHeader(properties: MessageProperties, name: string, fallback: number): number {
  const raw: unknown = properties.headers?.[name];
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}

/** The body as text, or undefined when it is not valid UTF-8. */
export function bodyText(message: Message): string | undefined {
  try {
    return utf8.decode(message.content);
  } catch {
    return undefined;
  }
}

/** Our headers of `message` only: broker (`x-death`, ...) and foreign headers are not carried over. */
export function ownHeaders(message: Message, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const attempt = message.properties.headers?.[H_ATTEMPT];
  if (attempt !== undefined) out[H_ATTEMPT] = attempt;
  const queue = message.properties.headers?.[H_QUEUE];
  if (queue !== undefined) out[H_QUEUE] = queue;
  return { ...out, ...overrides };
}

/** The failure recorded with a dead letter: ours, or derived from the broker's `x-death` header. */
export function deadLetterError(message: Message): SerializedError {
  const raw: unknown = message.properties.headers?.[H_ERROR];
  if (typeof raw === 'string') {
    try {
      const parsed = JSON.parse(raw) as SerializedError;
      if (typeof parsed?.message === 'string') return parsed;
    } catch {
      // fall through to the generic reasons below
    }
  }
  const death = firstDeath(message);
  if (death?.reason === 'delivery_limit') {
    return {
      name: 'DeliveryLimitError',
      code: 'DELIVERY_LIMIT',
      message: `RabbitMQ dead-lettered the message after ${String(death.count ?? '')} deliveries without an ack (consumers crashed or handed it back repeatedly)`,
    };
  }
  return {
    name: 'DeadLetterError',
    message: `dead-lettered by RabbitMQ (${String(death?.reason ?? 'unknown reason')})`,
  };
}

/** When a dead letter failed, in epoch ms. */
export function deadLetterTime(message: Message): number {
  const ours = intHeader(message.properties, H_FAILED_AT, -1);
  if (ours >= 0) return ours;
  const time = firstDeath(message)?.time as unknown;
  if (time instanceof Date) return time.getTime();
  if (typeof time === 'number') return time * 1000;
  const ts = message.properties.timestamp as unknown;
  return typeof ts === 'number' ? ts * 1000 : Date.now();
}

function firstDeath(message: Message): Record<string, unknown> | undefined {
  const deaths: unknown = message.properties.headers?.['x-death'];
  return Array.isArray(deaths) && deaths.length > 0 ? (deaths[0] as Record<string, unknown>) : undefined;
}
