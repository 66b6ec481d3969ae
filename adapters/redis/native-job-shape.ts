/**
 * How a native managed job lives in BullMQ (native-job-engine.ts): names, ids, and the job's
 * fields both ways.
 *
 * - One BullMQ queue per handler (plugin, queue, job name), its BullMQ name short digests
 *   (native-ids.ts `nativeBullName`): `{nj.<plugin digest>}<handler digest>`, 10 base64url
 *   characters of SHA-256 each — of the app-scoped plugin (the hash tag: all of a plugin's queues
 *   and its id index in one Redis Cluster slot) and of the app-scoped handler key. The name is in
 *   every key of every script call, so it is kept short; the handler is found from a job's public
 *   id (generated ids name it; scoped ids through the plugin's id index) and its name recomputed.
 * - Ids: a caller-given `jobId` is today's scoped id (`<plugin>:<tenant>:<id>`, `namespacedJobId`),
 *   the BullMQ job id its reversible encoding (BullMQ dedupes an existing id); other jobs get
 *   BullMQ's generated id (no `EXISTS` for it), published as `<plugin>/<queue>/<job>/<n>` with each
 *   part URI-encoded — no `:` in it, so it never reads as a scoped id.
 * - BullMQ's `data` carries the payload and the job's facts BullMQ has no field for (tenant,
 *   organization, user, scope key, backoff policy, priority, delay, retention, trace), so the add
 *   writes nothing beyond BullMQ's own add. Attempts, progress, result, failure and timestamps are
 *   BullMQ's fields; history `h`, open attempt `ha`, abort mark `ab` and failure code `fc`
 *   (native-failed-code.ts) are the wrapped scripts'.
 */
import { createHash } from 'node:crypto';
import {
  appScopedName,
  DEFAULT_BACKOFF,
  escapeKeyPart,
  DEFAULT_JOB_PRIORITY,
  handlerKey,
  type BackoffPolicy,
  type JobAttempt,
  type JobRecord,
  type ManagedJobState,
} from 'clusterkit/adapter-kit';
import { decodeJobId, encodeJobId } from './bull-names.js';
import { codeOfField } from './native-failed-code.js';
import { NATIVE_HISTORY } from './native-scripts.js';

/**
 * What BullMQ's `data` holds for a native job. The job's defaults are left out (BullMQ serializes,
 * sends, stores and parses `data` for every job): read them back with {@link nativeDataDefaults}.
 */
export interface NativeData {
  /** The payload. */
  p: unknown;
  t?: string;
  o?: string;
  u?: string;
  s?: string;
  /** Backoff policy (default `DEFAULT_BACKOFF`), priority (ours: lower first; default 2), delay asked at enqueue (ms; default 0). */
  b?: BackoffPolicy;
  pr?: number;
  d?: number;
  /** removeOnComplete / removeOnFail as given (default false). */
  rc?: boolean | number;
  rf?: boolean | number;
  /** The enqueuer's trace carrier. */
  tr?: JobRecord['trace'];
}

/** A native job's backoff policy (the default when `data` has none). */
export function nativeBackoffOf(d: NativeData | undefined): BackoffPolicy {
  return d?.b ?? DEFAULT_BACKOFF;
}

function isDefaultBackoff(b: BackoffPolicy): boolean {
  return (
    b === DEFAULT_BACKOFF ||
    (b.type === DEFAULT_BACKOFF.type &&
      b.delay === DEFAULT_BACKOFF.delay &&
      b.maxDelay === DEFAULT_BACKOFF.maxDelay &&
      b.jitter === DEFAULT_BACKOFF.jitter)
  );
}

/** A handler's identity. */
export interface HandlerName {
  readonly pluginName: string;
  readonly queueName: string;
  readonly jobName: string;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 10);
}

/** A plugin's hash tag (inside `{}` in its queues' BullMQ names): `nj.` and a digest of the app-scoped plugin. */
export function nativePluginTag(appName: string, pluginName: string): string {
  return `nj.${digest(`${appScopedName(appName, 'managed-native')}:${escapeKeyPart(pluginName)}`)}`;
}

/** The part of a handler's BullMQ queue name after its plugin's tag: a digest of the app-scoped handler key. */
export function nativeHandlerDigest(appName: string, h: HandlerName): string {
  return digest(`${appScopedName(appName, 'managed-native')}:${handlerKey(h.pluginName, h.queueName, h.jobName)}`);
}

/** What every generated public id of handler `h` starts with (compute once per handler). */
export function generatedIdPrefix(h: HandlerName): string {
  return `${[h.pluginName, h.queueName, h.jobName].map(encodeURIComponent).join('/')}/`;
}

/** Where a public id points: a generated id names its handler; a scoped id only its plugin. */
export type ParsedId =
  | { readonly kind: 'generated'; readonly handler: HandlerName; readonly bullId: string }
  | { readonly kind: 'scoped'; readonly pluginName: string; readonly bullId: string };

/** Parses a public id; undefined when it cannot be a native job's. */
export function parseJobId(id: string): ParsedId | undefined {
  if (!id.includes(':')) {
    const parts = id.split('/');
    if (parts.length !== 4 || !/^\d+$/.test(parts[3]!)) return undefined;
    try {
      const [pluginName, queueName, jobName, bullId] = parts.map(decodeURIComponent) as [
        string,
        string,
        string,
        string,
      ];
      return { kind: 'generated', handler: { pluginName, queueName, jobName }, bullId };
    } catch {
      return undefined;
    }
  }
  const first = id.indexOf(':');
  const escapedPlugin = id.slice(0, first);
  if (id.indexOf(':', first + 1) < 0) return undefined;
  return { kind: 'scoped', pluginName: unescapePart(escapedPlugin), bullId: encodeJobId(id) };
}

function unescapePart(part: string): string {
  return part.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The public id of a BullMQ job of a handler whose {@link generatedIdPrefix} is `idPrefix`. */
export function publicIdWith(idPrefix: string, bullId: string): string {
  return /^\d+$/.test(bullId) ? idPrefix + bullId : decodeJobId(bullId);
}

/** The `data` of a record's job (defaults left out). */
export function nativeDataOf(record: JobRecord): NativeData {
  const data: NativeData = { p: record.payload };
  if (!isDefaultBackoff(record.backoff)) data.b = record.backoff;
  if (record.priority !== DEFAULT_JOB_PRIORITY) data.pr = record.priority;
  if (record.delayMs !== 0) data.d = record.delayMs;
  if (record.removeOnComplete !== false) data.rc = record.removeOnComplete;
  if (record.removeOnFail !== false) data.rf = record.removeOnFail;
  if (record.tenantId !== undefined) data.t = record.tenantId;
  if (record.organizationId !== undefined) data.o = record.organizationId;
  if (record.userId !== undefined) data.u = record.userId;
  if (record.scopeKey !== undefined) data.s = record.scopeKey;
  if (record.trace !== undefined) data.tr = record.trace;
  return data;
}

/** The fields of a BullMQ job this reads (a job hash, or a `Job`'s properties). */
export interface BullFields {
  readonly data: NativeData;
  readonly attempts: number;
  readonly attemptsMade: number;
  readonly attemptsStarted: number;
  readonly timestamp: number;
  readonly processedOn?: number;
  readonly finishedOn?: number;
  readonly progress?: unknown;
  readonly returnvalue?: unknown;
  readonly failedReason?: string;
  /** The failure's code (field `fc`, native-failed-code.ts). */
  readonly failedCode?: string;
  readonly stacktrace?: string[];
  readonly history?: JobAttempt[];
  readonly open?: JobAttempt;
  readonly aborted?: boolean;
}

/** A native job as a record (core's view: `toJobInfo`, the handler's job, the events). */
export function recordOf(id: string, h: HandlerName, state: ManagedJobState, f: BullFields): JobRecord {
  const d = f.data;
  const delayMs = d.d ?? 0;
  const record: JobRecord = {
    v: 1,
    id,
    nonce: '',
    gen: 0,
    state,
    pluginName: h.pluginName,
    queueName: h.queueName,
    jobName: h.jobName,
    payload: d.p,
    priority: d.pr ?? DEFAULT_JOB_PRIORITY,
    maxAttempts: f.attempts,
    attemptsMade: f.attemptsMade,
    attemptsStarted: f.attemptsStarted,
    history: f.history ? [...f.history] : [],
    delayMs,
    backoff: nativeBackoffOf(d),
    progress: (f.progress as number | object | undefined) ?? 0,
    enqueuedAt: f.timestamp,
    runAt: f.timestamp + delayMs,
    removeOnComplete: d.rc ?? false,
    removeOnFail: d.rf ?? false,
  };
  if (f.open && state === 'active') record.history.push(f.open);
  // A completion leaves its attempt open in `ha` (native-scripts.ts): it ended when the job did.
  if (f.open && state === 'completed') {
    record.history.push(
      f.open.outcome === undefined
        ? { ...f.open, finishedAt: f.finishedOn ?? f.open.startedAt, outcome: 'completed' }
        : f.open,
    );
    if (record.history.length > NATIVE_HISTORY) record.history.splice(0, record.history.length - NATIVE_HISTORY);
  }
  if (d.t !== undefined) record.tenantId = d.t;
  if (d.o !== undefined) record.organizationId = d.o;
  if (d.u !== undefined) record.userId = d.u;
  if (d.s !== undefined) record.scopeKey = d.s;
  if (d.tr !== undefined) record.trace = d.tr;
  if (f.processedOn) record.startedAt = f.processedOn;
  if (f.finishedOn && (state === 'completed' || state === 'failed' || state === 'cancelled'))
    record.finishedAt = f.finishedOn;
  if (state === 'active' && f.open) record.owner = f.open.node;
  if (f.failedReason) record.failedReason = f.failedReason;
  if (f.failedReason && f.failedCode) record.failedCode = f.failedCode;
  if (f.stacktrace && f.stacktrace.length > 0) record.stacktrace = f.stacktrace.slice(-5);
  if (state === 'completed' && f.returnvalue !== null && f.returnvalue !== undefined)
    record.returnValue = f.returnvalue;
  return record;
}

/** One attempt as the wrapped scripts write it (`{n, o, s, e?, r?, m?, c?, k?}`; `c`: the error's code, `k`: its stack) → the public shape. */
function attemptOf(raw: {
  n?: number;
  o?: string;
  s?: number;
  e?: number;
  r?: string;
  m?: string;
  c?: string;
  k?: string;
}): JobAttempt {
  const a: JobAttempt = { attempt: raw.n ?? 0, node: raw.o ?? '', startedAt: raw.s ?? 0 };
  if (raw.e !== undefined) a.finishedAt = raw.e;
  if (raw.r !== undefined) a.outcome = raw.r as JobAttempt['outcome'];
  if (raw.m !== undefined) {
    a.error = { message: raw.m };
    if (raw.c !== undefined) a.error.code = raw.c;
    if (raw.k !== undefined) a.error.stack = raw.k;
  }
  return a;
}

function json<T>(text: string | undefined, fallback: T): T {
  if (text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The fields of a job hash (`HGETALL`); undefined when the hash is empty (no such job). */
export function fieldsOfHash(hash: Record<string, string>): BullFields | undefined {
  if (hash.data === undefined) return undefined;
  const opts = json<{ attempts?: number }>(hash.opts, {});
  const open = json<Parameters<typeof attemptOf>[0] | undefined>(hash.ha, undefined);
  const failedCode = codeOfField(hash.fc, hash.failedReason);
  const fields: BullFields = {
    data: json<NativeData>(hash.data, {
      p: null,
      b: { type: 'fixed', delay: 0, maxDelay: 0, jitter: 0 },
      pr: 2,
      d: 0,
      rc: false,
      rf: false,
    }),
    attempts: opts.attempts ?? 1,
    attemptsMade: Number(hash.atm ?? 0),
    attemptsStarted: Number(hash.ats ?? 0),
    timestamp: Number(hash.timestamp ?? 0),
    ...(hash.processedOn ? { processedOn: Number(hash.processedOn) } : {}),
    ...(hash.finishedOn ? { finishedOn: Number(hash.finishedOn) } : {}),
    progress: json<unknown>(hash.progress, 0),
    returnvalue: json<unknown>(hash.returnvalue, undefined),
    ...(hash.failedReason ? { failedReason: hash.failedReason } : {}),
    ...(failedCode !== undefined ? { failedCode } : {}),
    stacktrace: json<string[]>(hash.stacktrace, []),
    history: json<Parameters<typeof attemptOf>[0][]>(hash.h, []).map(attemptOf),
    ...(open ? { open: attemptOf(open) } : {}),
    aborted: hash.ab !== undefined,
  };
  return fields;
}
