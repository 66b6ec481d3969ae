/**
 * Job records and the small coordination keys around them, on the app's cache store (the portable
 * KV: `get/set NX/incr/expire/scan/mget/del`), so the job layer works on every backend the cache
 * does. All keys live under `<app>:managed-queue:` and every variable component is escaped.
 *
 * Keys:
 * - `job:<id>` — the record (JSON).
 * - `claim:<gen>:<id>` — who owns generation `gen` of the job (`active|<node>`, `cancelled`), set NX:
 *   every state change of a generation goes through winning this key, so cancel and start never race.
 * - `abort:<id>` — `cancel({ abortActive })` was asked while the job ran.
 * - `noproc:<gen>:<id>` — when a node first saw no processor anywhere for this generation.
 */
import type { CacheStore } from '../cache/types.js';
import { parseRecord, type JobRecord } from './envelope.js';
import { escapeKeyPart } from './scoped-key.js';

/** Claim lifetime: long enough to outlive any generation it guards. */
const CLAIM_TTL_MS = 7 * 24 * 3_600_000;
/** How long a settled claim lingers, in ms. */
const CLAIM_LINGER_MS = 60_000;
const MGET_BATCH = 200;

/** Record and coordination-key access for one app. */
export class JobStore {
  readonly prefix: string;

  constructor(
    private readonly storeOf: () => CacheStore,
    appName: string,
  ) {
    this.prefix = `${escapeKeyPart(appName)}:managed-queue:`;
  }

  /** The app's cache store (read at each use: the cache manager may swap it before connect). */
  get store(): CacheStore {
    return this.storeOf();
  }

  /** A coordination key: `<prefix><kind>:<escaped parts joined by ':'>`. */
  key(kind: string, ...parts: (string | number)[]): string {
    return `${this.prefix}${kind}:${parts.map((p) => escapeKeyPart(String(p))).join(':')}`;
  }

  private recordKey(id: string): string {
    return this.key('job', id);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return parseRecord(await this.store.get(this.recordKey(id)));
  }

  /** Stores a new record unless one with its id exists (the id dedupe); false when it existed. */
  async create(record: JobRecord): Promise<boolean> {
    return this.store.set(this.recordKey(record.id), JSON.stringify(record), { nx: true });
  }

  /** Overwrites a record; `ttlMs` bounds how long a finished record is kept. */
  async put(record: JobRecord, ttlMs?: number): Promise<void> {
    await this.store.set(this.recordKey(record.id), JSON.stringify(record), ttlMs === undefined ? {} : { ttlMs });
  }

  async delete(id: string): Promise<boolean> {
    return this.store.del(this.recordKey(id));
  }

  /** Tries to own generation `gen` of job `id`; true when this caller won. */
  async claim(id: string, gen: number, value: string): Promise<boolean> {
    return this.store.set(this.key('claim', gen, id), value, { nx: true, ttlMs: CLAIM_TTL_MS });
  }

  /** Who owns generation `gen`, if anyone. */
  async claimOf(id: string, gen: number): Promise<string | undefined> {
    return this.store.get(this.key('claim', gen, id));
  }

  /**
   * The generation is over (finished, or superseded by the next one): its claim only has to outlive
   * a cancel or start that read the record just before, so it now expires soon instead of in days.
   */
  async settleClaim(id: string, gen: number): Promise<void> {
    await this.store.expire(this.key('claim', gen, id), CLAIM_LINGER_MS);
  }

  /** Takes over a claim from a node that died (its liveness key expired). */
  async takeOver(id: string, gen: number, value: string): Promise<void> {
    await this.store.set(this.key('claim', gen, id), value, { ttlMs: CLAIM_TTL_MS });
  }

  /** Pauses or resumes a logical queue (cluster-wide: one key every node reads before starting a job). */
  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    const key = this.key('paused', pluginName, queueName);
    if (paused) await this.store.set(key, String(Date.now()));
    else await this.store.del(key);
  }

  async isPaused(pluginName: string, queueName: string): Promise<boolean> {
    return (await this.store.get(this.key('paused', pluginName, queueName))) !== undefined;
  }

  /** Every record, in batches (SCAN + MGET; never KEYS). Corrupt records are skipped. */
  async *all(): AsyncIterable<JobRecord> {
    let batch: string[] = [];
    const flush = async function* (this: JobStore, keys: string[]): AsyncIterable<JobRecord> {
      const values = await this.store.mget(keys);
      for (const text of values) {
        let record: JobRecord | undefined;
        try {
          record = parseRecord(text);
        } catch {
          continue;
        }
        if (record) yield record;
      }
    }.bind(this);
    for await (const key of this.store.scan(`${this.prefix}job:`)) {
      batch.push(key);
      if (batch.length >= MGET_BATCH) {
        yield* flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) yield* flush(batch);
  }
}
