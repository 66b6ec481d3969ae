/**
 * The event-queue wire format. Adapters store and move the envelope as an opaque string; only the
 * manager writes and reads it. It is versioned so a later format can be told apart, and it carries
 * the per-message retry policy so any node that takes the message applies the publisher's rules.
 *
 * ```json
 * { "v": 1, "id": "…", "publishedAt": 1700000000000, "maxRetries": 3, "timeout": 5000,
 *   "backoff": { "type": "exponential", "delay": 1000, "maxDelay": 60000, "jitter": 0.2 },
 *   "message": <the payload> }
 * ```
 * `maxRetries`, `timeout` and `backoff` are present only when the publisher set them; otherwise
 * the consuming subscription's (or the manager's) defaults apply. `trace` (a W3C `traceparent` /
 * `tracestate` carrier) is present only when the publisher ran inside an OpenTelemetry span; it is
 * optional, so it did not need a new version, and a malformed one is dropped rather than costing
 * the message (tracing is observability, never a reason to dead-letter work).
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import type { TraceCarrier } from '../tracing.js';
import { normalizeBackoff, type BackoffPolicy } from './backoff.js';

/** Version written by this release. */
export const ENVELOPE_VERSION = 1;

/** Ids that need no JSON escaping (every generated id, most jobIds). */
const PLAIN_ID = /^[\w.:@#-]*$/;

/**
 * The head {@link encodeEnvelope} writes when the publisher set no policy and no trace: a plain id
 * (no escapes, no control characters) and a JSON integer `publishedAt`, then the message. A body
 * that starts so and ends in `}` is a valid envelope exactly when the text between is one JSON value.
 */
// eslint-disable-next-line no-control-regex
const PLAIN_HEAD = /^\{"v":1,"id":"([^"\\\u0000-\u001f]+)","publishedAt":(0|[1-9]\d{0,15}),"message":/;
const CLOSE_BRACE = 0x7d;

/** A decoded envelope. */
export interface Envelope {
  readonly v: 1;
  /** The message id (the publisher's `jobId`, or a random UUID). */
  readonly id: string;
  /** Epoch ms at publish. */
  readonly publishedAt: number;
  readonly maxRetries?: number;
  /** Per-attempt timeout, in ms. */
  readonly timeout?: number;
  readonly backoff?: BackoffPolicy;
  /** The publisher's trace context (W3C carrier), when it published inside an OpenTelemetry span. */
  readonly trace?: TraceCarrier;
  /** The payload, as published (after a JSON round trip). */
  readonly message: unknown;
}

/** What the publisher chose for this message; anything absent falls back to the consumer's defaults. */
export interface EnvelopePolicy {
  maxRetries?: number;
  timeout?: number;
  backoff?: BackoffPolicy;
}

/**
 * Builds an envelope around an already serialized payload. The payload text is spliced in rather
 * than serialized a second time: publish is on the hot path.
 * @param trace the publisher's trace context; left out of the envelope when undefined
 */
export function encodeEnvelope(
  id: string,
  payloadJson: string,
  publishedAt: number,
  policy: EnvelopePolicy,
  trace?: TraceCarrier,
): string {
  const idJson = PLAIN_ID.test(id) ? `"${id}"` : JSON.stringify(id);
  let head = `{"v":1,"id":${idJson},"publishedAt":${publishedAt}`;
  if (policy.maxRetries !== undefined) head += `,"maxRetries":${policy.maxRetries}`;
  if (policy.timeout !== undefined) head += `,"timeout":${policy.timeout}`;
  if (policy.backoff !== undefined) head += `,"backoff":${JSON.stringify(policy.backoff)}`;
  if (trace !== undefined) head += `,"trace":${JSON.stringify(trace)}`;
  return `${head},"message":${payloadJson}}`;
}

/** How every envelope {@link encodeEnvelope} writes begins, up to the id's opening quote. */
const ID_HEAD = '{"v":1,"id":"';

/**
 * The message id of an envelope, read from its head without parsing the rest: what a backend that
 * keeps no id of its own next to the body (BullMQ jobs under generated ids) reports as the record
 * id. Undefined when `body` does not begin like an envelope of this version or its id needs JSON
 * escapes (a generated id never does).
 */
export function envelopeId(body: string): string | undefined {
  if (!body.startsWith(ID_HEAD)) return undefined;
  const end = body.indexOf('"', ID_HEAD.length);
  if (end <= ID_HEAD.length) return undefined;
  const id = body.slice(ID_HEAD.length, end);
  return id.includes('\\') ? undefined : id;
}

/**
 * Parses and checks an envelope. Anything that is not a well-formed v1 envelope throws a
 * `ClusterError` with code `MALFORMED_MESSAGE` (the manager dead-letters it with that reason).
 */
export function decodeEnvelope(body: string): Envelope {
  // The common envelope (no policy, no trace) is read from its fixed head; only the payload is parsed.
  const head = PLAIN_HEAD.exec(body);
  if (head !== null && body.charCodeAt(body.length - 1) === CLOSE_BRACE) {
    let message: unknown;
    try {
      message = JSON.parse(body.slice(head[0].length, -1));
    } catch {
      // Not JSON after all: the full parse below says why.
    }
    if (message !== undefined) return { v: 1, id: head[1] as string, publishedAt: Number(head[2]), message };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw malformed(`body is not JSON (${(error as Error).message})`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('body is not an object');
  const e = value as Record<string, unknown>;
  if (e.v !== ENVELOPE_VERSION) throw malformed(`unsupported envelope version ${JSON.stringify(e.v)}`);
  if (typeof e.id !== 'string' || e.id.length === 0) throw malformed('envelope has no id');
  if (typeof e.publishedAt !== 'number' || !Number.isFinite(e.publishedAt)) {
    throw malformed('envelope has no publishedAt');
  }
  if (!('message' in e)) throw malformed('envelope has no message');
  if (e.maxRetries !== undefined && !(Number.isInteger(e.maxRetries) && (e.maxRetries as number) >= 0)) {
    throw malformed('envelope maxRetries is not an integer ≥ 0');
  }
  if (e.timeout !== undefined && !(typeof e.timeout === 'number' && e.timeout > 0 && Number.isFinite(e.timeout))) {
    throw malformed('envelope timeout is not a positive number');
  }
  if (e.backoff !== undefined) {
    try {
      e.backoff = normalizeBackoff('backoff', e.backoff);
    } catch (error) {
      throw malformed(`envelope backoff is invalid (${(error as Error).message})`, error);
    }
  }
  if (e.trace !== undefined && !isCarrier(e.trace)) delete e.trace;
  return e as unknown as Envelope;
}

/** A plain object of string values (what a W3C propagator writes). */
function isCarrier(value: unknown): value is TraceCarrier {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  return true;
}

function malformed(reason: string, cause?: unknown): ClusterError {
  return new ClusterError(ErrorCodes.MALFORMED_MESSAGE, `malformed event-queue message: ${reason}`, {
    cause,
    retryable: false,
  });
}
