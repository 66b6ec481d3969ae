/**
 * The pub/sub wire format, owned by the manager: every message travels as one JSON string
 * `{ v: 1, from, publishedAt, message }`. Adapters never look inside it.
 */

/** Version of the envelope this code writes and accepts. */
export const ENVELOPE_VERSION = 1;

/** A decoded pub/sub envelope. */
export interface PubSubEnvelope {
  /** Envelope format version; see {@link ENVELOPE_VERSION}. */
  readonly v: typeof ENVELOPE_VERSION;
  /** `nodeId` of the publishing app instance. */
  readonly from: string;
  /** When the message was published, in ms since the epoch (publisher's clock). */
  readonly publishedAt: number;
  /** The message as published (any JSON value). */
  readonly message: unknown;
}

/** The result of {@link decodeEnvelope}: the envelope, or why the payload was refused. */
export type DecodeResult =
  { readonly ok: true; readonly envelope: PubSubEnvelope } | { readonly ok: false; readonly reason: string };

/**
 * Builds the wire string around a message that is already serialized, so a message is
 * stringified once per publish however large it is.
 */
export function encodeEnvelope(from: string, messageJson: string, publishedAt: number = Date.now()): string {
  return `{"v":${ENVELOPE_VERSION},"from":${JSON.stringify(from)},"publishedAt":${publishedAt},"message":${messageJson}}`;
}

/**
 * Parses and checks a wire string. Never throws: anything that is not a version-1 envelope
 * (not JSON, another version, missing fields) comes back with a reason to log.
 */
export function decodeEnvelope(payload: unknown): DecodeResult {
  if (typeof payload !== 'string') return { ok: false, reason: `payload is ${typeof payload}, not a string` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch (error) {
    return { ok: false, reason: `payload is not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'payload is not a JSON object' };
  }
  const record = parsed as Record<string, unknown>;
  if (record.v !== ENVELOPE_VERSION) {
    return {
      ok: false,
      reason: `unsupported envelope version ${JSON.stringify(record.v)} (expected ${ENVELOPE_VERSION})`,
    };
  }
  if (typeof record.from !== 'string' || record.from.length === 0) {
    return { ok: false, reason: 'envelope has no "from" node id' };
  }
  if (typeof record.publishedAt !== 'number' || !Number.isFinite(record.publishedAt)) {
    return { ok: false, reason: 'envelope has no numeric "publishedAt"' };
  }
  if (!('message' in record)) return { ok: false, reason: 'envelope has no "message"' };
  return {
    ok: true,
    envelope: { v: ENVELOPE_VERSION, from: record.from, publishedAt: record.publishedAt, message: record.message },
  };
}
