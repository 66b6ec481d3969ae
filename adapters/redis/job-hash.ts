/**
 * How a managed-job record is laid out in its Redis hash `J:<id>` (see `lua/job-scripts.ts` for
 * the field names): the record as written whole (`r`), plus the fields transitions change without
 * rewriting it, which win over `r` when the record is read back.
 *
 * The current attempt lives in a field of its own (`ha`, written by the claim as a short JSON
 * object, with `an` the number of the last attempt), so a claim never decodes or re-encodes the
 * history; the finish folds it into `h`. Whole writes (create, the version-checked writes) always
 * fold it in and write `h` and `an` — except with an empty history, where both are left out, as are
 * `as` at 0 and `pr` at 0 (a new record: `r` has them and the scripts default them).
 *
 * A finish does not rewrite `r`: what an outcome changes has fields of its own — g gen, ra runAt,
 * am attemptsMade, rv returnValue, fr failedReason, fc failedCode, sk stacktrace (JSON; '' = unset) —
 * which win over `r` when present. Whole writes leave the outcome fields out (`r` has them).
 */
import { escapeKeyPart, jobStoreKit, type JobRecord, type ManagedJobState } from 'clusterkit/adapter-kit';

/** A record hash as read. */
export type Hash = Record<string, string>;

/** The combo (plugin, queue, tenant) of a record as one key part. */
export function comboOf(r: { pluginName: string; queueName: string; tenantId?: string }): string {
  return `${escapeKeyPart(r.pluginName)}:${escapeKeyPart(r.queueName)}:${r.tenantId === undefined ? '-' : escapeKeyPart(r.tenantId).replace(/^-$/, '%2D')}`;
}

/**
 * The hash fields of a whole record, as field/value pairs. The first six are always these, in this
 * order — st, ea, ra, cb, cbj, hk — then `tp` and `xa` when set, then the rest: the create scripts
 * read what they index by position instead of building a table of every argument (see
 * `HASH_HEAD_LUA`).
 */
export function toHash(record: JobRecord): string[] {
  const out: string[] = [
    'st',
    record.state,
    'ea',
    String(record.enqueuedAt),
    'ra',
    String(record.runAt),
    'cb',
    comboOf(record),
    'cbj',
    JSON.stringify([record.pluginName, record.queueName, record.tenantId ?? null]),
    'hk',
    jobStoreKit.handlerKeyOf(record),
  ];
  if (record.ticketPendingSince !== undefined) out.push('tp', String(record.ticketPendingSince));
  if (record.expiresAt !== undefined) out.push('xa', String(record.expiresAt));
  out.push(
    'r',
    JSON.stringify(record),
    'g',
    String(record.gen),
    'n',
    record.nonce,
    'lq',
    jobStoreKit.logicalQueueKey(record.pluginName, record.queueName),
  );
  // Left out at their start values (a new record's): `r` has them, and the scripts default them
  // (`as` 0; no `h` and no `an`: no attempt yet). Four fewer fields per create.
  if (record.attemptsStarted !== 0) out.push('as', String(record.attemptsStarted));
  if (record.history.length > 0)
    out.push('h', JSON.stringify(record.history), 'an', String(record.history.at(-1)?.attempt ?? 0));
  if (record.progress !== 0) out.push('pr', JSON.stringify(record.progress));
  pushOptional(out, record);
  return out;
}

/** The optional fields a transition may set or clear (besides `tp` and `xa`). */
function pushOptional(out: string[], record: JobRecord): void {
  if (record.owner !== undefined) out.push('o', record.owner);
  if (record.startedAt !== undefined) out.push('sa', String(record.startedAt));
  if (record.abortRequested) out.push('ab', '1');
  if (record.noProcessorSince !== undefined) out.push('np', String(record.noProcessorSince));
  if (record.finishedAt !== undefined) out.push('fa', String(record.finishedAt));
  if (record.parkedBy !== undefined) out.push('pk', record.parkedBy);
}

/**
 * Lua: reads the head of {@link toHash}'s pairs starting at ARGV[`at`] into locals hst, hea, hra,
 * hcb, hcbj, hhk, htp, hxa (the last two nil when not set).
 */
export function HASH_HEAD_LUA(at: string): string {
  return `local hb = ${at}
local hst, hea, hra, hcb, hcbj, hhk = ARGV[hb + 1], ARGV[hb + 3], ARGV[hb + 5], ARGV[hb + 7], ARGV[hb + 9], ARGV[hb + 11]
local htp, hxa
local hj = hb + 12
if ARGV[hj] == 'tp' then htp = ARGV[hj + 1] hj = hj + 2 end
if ARGV[hj] == 'xa' then hxa = ARGV[hj + 1] end`;
}

/** Outcome fields a finish writes as JSON ('' = unset), and the record keys they hold. */
const OUTCOME_JSON = [
  ['rv', 'returnValue'],
  ['fr', 'failedReason'],
  ['fc', 'failedCode'],
  ['sk', 'stacktrace'],
] as const;

/** The fields a finish may clear: written when the next record has them, deleted when it does not. */
const FINISH_CLEARABLE = ['o', 'sa', 'ab', 'tp', 'np', 'fa', 'xa', 'pk'] as const;

/**
 * What a finish writes: the outcome — state, generation and runAt, attempts, history, result or
 * failure, timestamps, ticket pending — as fields of their own (not `r`: a finish changes nothing
 * else of a record, see `JobStore.finish`), and the optional fields to delete, `ha` included (the
 * attempt it ends is in `h` now). `expiresAt`: the retention end to write (default the record's).
 */
export function finishFields(
  record: JobRecord,
  expiresAt: number | undefined = record.expiresAt,
): { set: string[]; clear: string[] } {
  const set = [
    'st',
    record.state,
    'g',
    String(record.gen),
    'ra',
    String(record.runAt),
    'as',
    String(record.attemptsStarted),
    'h',
    JSON.stringify(record.history),
    'pr',
    JSON.stringify(record.progress),
    'am',
    String(record.attemptsMade),
  ];
  for (const [field, key] of OUTCOME_JSON) {
    const value = record[key];
    set.push(field, value === undefined ? '' : JSON.stringify(value));
  }
  if (record.ticketPendingSince !== undefined) set.push('tp', String(record.ticketPendingSince));
  if (expiresAt !== undefined) set.push('xa', String(expiresAt));
  pushOptional(set, record);
  const clear: string[] = ['ha'];
  for (const field of FINISH_CLEARABLE) if (!set.includes(field)) clear.push(field);
  return { set, clear };
}

/** A flat HGETALL reply (or a Lua script's) as a hash. */
export function flatToHash(flat: unknown): Hash {
  const list = flat as string[];
  const h: Hash = {};
  for (let i = 0; i < list.length; i += 2) h[list[i] as string] = list[i + 1] as string;
  return h;
}

/**
 * The hash a claim leaves: the one it read (`flat`) without `tp`, `np` and `pk` (the claim deletes
 * them), overlaid with the fields it wrote (`changed`). Built in one object, without spreads or
 * `delete` (which turned the hash into a slow dictionary: ~20 µs per claim here, now ~7 with the decode).
 */
export function claimedHash(flat: unknown, changed: unknown): Hash {
  const read = flat as string[];
  const wrote = changed as string[];
  const h: Hash = {};
  for (let i = 0; i < read.length; i += 2) {
    const field = read[i] as string;
    if (field !== 'tp' && field !== 'np' && field !== 'pk') h[field] = read[i + 1] as string;
  }
  for (let i = 0; i < wrote.length; i += 2) h[wrote[i] as string] = String(wrote[i + 1]);
  return h;
}

/** Rebuilds a record from its hash (the fields transitions changed win over `r`). */
export function fromHash(h: Hash): JobRecord {
  const record = jobStoreKit.upgradeRecord(JSON.parse(h.r as string) as JobRecord);
  record.state = h.st as ManagedJobState;
  if (h.g !== undefined) record.gen = Number(h.g);
  if (h.ra !== undefined) record.runAt = Number(h.ra);
  if (h.am !== undefined) record.attemptsMade = Number(h.am);
  for (const [field, key] of OUTCOME_JSON) {
    const value = h[field];
    if (value === undefined) continue;
    if (value === '') delete record[key];
    else (record as unknown as Record<string, unknown>)[key] = JSON.parse(value);
  }
  const num = (k: string) => (h[k] === undefined ? undefined : Number(h[k]));
  const set = <K extends keyof JobRecord>(key: K, value: JobRecord[K] | undefined) => {
    if (value === undefined) delete record[key];
    else record[key] = value;
  };
  set('owner', h.o);
  set('startedAt', num('sa'));
  record.attemptsStarted = num('as') ?? record.attemptsStarted;
  if (h.h !== undefined) record.history = JSON.parse(h.h) as JobRecord['history'];
  // cjson writes an empty array as an object.
  if (!Array.isArray(record.history)) record.history = [];
  if (h.ha !== undefined) {
    record.history.push(JSON.parse(h.ha) as JobRecord['history'][number]);
    if (record.history.length > jobStoreKit.MAX_HISTORY)
      record.history = record.history.slice(-jobStoreKit.MAX_HISTORY);
  }
  set('abortRequested', h.ab === '1' ? true : undefined);
  set('ticketPendingSince', num('tp'));
  set('noProcessorSince', num('np'));
  if (h.pr !== undefined) record.progress = JSON.parse(h.pr) as number | object;
  set('finishedAt', num('fa'));
  set('expiresAt', num('xa'));
  set('parkedBy', h.pk);
  return record;
}
