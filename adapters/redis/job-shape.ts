/**
 * The shape of a clusterkit message stored as a BullMQ job (see docs/redis.md, "Stored job").
 *
 * - **Id.** A message published without a caller-given `jobId` gets BullMQ's generated id (an
 *   integer from the queue's `id` counter); its record id travels only in the envelope, at its head.
 *   A caller-given id is the BullMQ id (encoded, see `bull-names.ts`; never integer-looking), which
 *   keeps publishing idempotent. Jobs stored by 0.1 always have the encoded record id.
 * - **Data.** An envelope (a JSON object) is BullMQ's `data` as it is, not JSON-encoded a second time
 *   (BullMQ's own `JSON.stringify` would escape every quote). Anything else — and every job stored by
 *   0.1 — is a JSON string holding the body. The first character tells them apart: `"` for a
 *   JSON string, anything else is the body itself.
 * - **Options.** Retention only, plus `priority`/`delay` when set: no `jobId`, `attempts`, `backoff`
 *   or `timestamp` (retries are decided by the consumer's job class, see `tolerant-job.ts`).
 */
import { envelopeId } from 'clusterkit/adapter-kit';
import { decodeJobId } from './bull-names.js';

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;

/** Key suffix of a queue's dead-letter index (record id → generated BullMQ id); no encoded job id ends a key so. */
export const DEAD_INDEX = 'ck%dead';

/** BullMQ's `data` field for `body`: an envelope as it is, anything else JSON-encoded. */
export function storedData(body: string): string {
  return body.charCodeAt(0) === OPEN_BRACE ? body : JSON.stringify(body);
}

/** The body from BullMQ's raw `data` field, whichever shape it was stored in. */
export function bodyFromStored(data: string | undefined): string {
  if (data === undefined || data === '') return '{}';
  if (data.charCodeAt(0) !== QUOTE) return data;
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === 'string' ? parsed : data;
  } catch {
    return data;
  }
}

/** True for a BullMQ-generated job id (an integer); encoded record ids never look like one. */
export function isGeneratedId(jobId: string): boolean {
  for (let i = 0; i < jobId.length; i += 1) {
    const c = jobId.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return jobId.length > 0;
}

/**
 * The record id of a stored job: from the envelope for a generated BullMQ id (BullMQ's id when the
 * body is no envelope), decoded from the BullMQ id otherwise.
 */
export function recordIdOf(jobId: string, body: string): string {
  if (isGeneratedId(jobId)) return envelopeId(body) ?? jobId;
  return decodeJobId(jobId);
}
