/**
 * The pub/sub wire format, owned by the manager: every message travels as one JSON string
 * `{ v: 1, from, publishedAt, message }`. Adapters never look inside it.
 *
 * `from` names the publishing node compactly (see {@link wireNodeId}): it is on every message, and
 * each byte of it is paid for by the publisher, the broker and every receiver.
 */

/** Version of the envelope this code writes and accepts. */
export const ENVELOPE_VERSION = 1;

/**
 * The head {@link encodeEnvelope} writes: a `from` without escapes or control characters and a JSON
 * integer `publishedAt`, then the message. A payload that starts so and ends in `}` is a valid
 * envelope exactly when the text between is one JSON value.
 */
// eslint-disable-next-line no-control-regex
const PLAIN_HEAD = /^\{"v":1,"from":"([^"\\\u0000-\u001f]+)","publishedAt":(0|[1-9]\d{0,15}),"message":/;
const CLOSE_BRACE = 0x7d;

/** A decoded pub/sub envelope. */
export interface PubSubEnvelope {
  /** Envelope format version; see {@link ENVELOPE_VERSION}. */
  readonly v: typeof ENVELOPE_VERSION;
  /** The publishing app instance: its `nodeId`, or as {@link wireNodeId} wrote it (see {@link nodeIdFromWire}). */
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
  // The envelope as encodeEnvelope writes it is read from its fixed head; only the message is parsed.
  const head = PLAIN_HEAD.exec(payload);
  if (head !== null && payload.charCodeAt(payload.length - 1) === CLOSE_BRACE) {
    let message: unknown;
    try {
      message = JSON.parse(payload.slice(head[0].length, -1));
    } catch {
      // Not JSON after all: the full parse below says why.
    }
    if (message !== undefined) {
      const envelope: PubSubEnvelope = {
        v: ENVELOPE_VERSION,
        from: head[1] as string,
        publishedAt: Number(head[2]),
        message,
      };
      return { ok: true, envelope };
    }
  }
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

/** A node id as `createApp` makes it: the app name, `#`, and a lowercase UUID. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** `#` and a UUID's 16 bytes in base64url: the compact form of {@link wireNodeId}. */
const COMPACT = /^#[A-Za-z0-9_-]{22}$/;

/**
 * The node id as it travels in `from`. An id of the form `<app>#<uuid>` (every `app.nodeId`) goes
 * as `#` and the UUID's 16 bytes in base64url — 23 characters instead of the app name plus 37:
 * channels are scoped by app name, so every receiver belongs to the same app and restores the id
 * from its own name ({@link nodeIdFromWire}). Any other id goes as it is; one that starts with
 * `#` gets a second `#` so it can never be mistaken for the compact form.
 */
export function wireNodeId(nodeId: string, appName: string): string {
  const head = `${appName}#`;
  if (nodeId.startsWith(head)) {
    const uuid = nodeId.slice(head.length);
    if (UUID.test(uuid)) return `#${Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url')}`;
  }
  return nodeId.startsWith('#') ? `#${nodeId}` : nodeId;
}

/** The node id a `from` written by {@link wireNodeId} in app `appName` stands for. */
export function nodeIdFromWire(from: string, appName: string): string {
  if (!from.startsWith('#')) return from;
  if (from.startsWith('##')) return from.slice(1);
  if (!COMPACT.test(from)) return from;
  const hex = Buffer.from(from.slice(1), 'base64url').toString('hex');
  return `${appName}#${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Entries {@link NodeIds} remembers before it starts over (a cluster has few nodes). */
const MEMO_LIMIT = 1_024;

/** One node's side of {@link wireNodeId}: its own `from`, and a memo of the ids behind others'. */
export class NodeIds {
  /** This node's `from` on the wire. */
  readonly own: string;
  private readonly memo = new Map<string, string>();

  constructor(
    private readonly nodeId: string,
    private readonly appName: string,
  ) {
    this.own = wireNodeId(nodeId, appName);
  }

  /** True when `from` is this node. */
  isSelf(from: string): boolean {
    return from === this.own || from === this.nodeId;
  }

  /** The node id behind `from` ({@link nodeIdFromWire}, remembered: it runs for every message). */
  of(from: string): string {
    let nodeId = this.memo.get(from);
    if (nodeId === undefined) {
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      nodeId = nodeIdFromWire(from, this.appName);
      this.memo.set(from, nodeId);
    }
    return nodeId;
  }
}
