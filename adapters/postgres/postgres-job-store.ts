/**
 * The PostgreSQL job store: managed-job records, schedules and paused flags in the adapters' schema
 * (tables of migration 2). Every transition is ONE atomic step (DESIGN.md §1b): it reads the row,
 * decides with the shared rules (`jobStoreKit`), and writes with a compare-and-set on the row's
 * version — one statement, so no other transition can fall between the check and the write (a
 * conflict reads again). A claim that must count (global concurrency, rate limit) runs as one
 * transaction under a per-handler advisory lock instead, so two nodes cannot both take the last slot.
 * `create` accepts the caller's transaction (a `pg.PoolClient` in BEGIN, or a Sequelize transaction):
 * the record then exists if and only if that transaction commits.
 */
import {
  ClusterError,
  ErrorCodes,
  jobStoreKit,
  type ClaimRequest,
  type ClaimResult,
  type CreateResult,
  type JobRecord,
  type JobRef,
  type JobStore,
  type Retention,
  type ScheduleInfo,
} from 'clusterkit/adapter-kit';
import { guard, type PgConnections, type Queryable } from './connection.js';
import { inTransaction } from './in-transaction.js';
import { jobStoreSql, rowValues, type JobStoreSql } from './job-store-sql.js';
import { JobStoreReads } from './job-store-reads.js';
import { advisoryKey } from './names.js';
import { inCallerTransaction, isDatabaseTransaction, transactionClient } from './transaction-client.js';

const { decideClaim, planCancel, decideRetry, decideDiscard, decidePromote, applyPark, applyRelease } = jobStoreKit;
const { isTerminal, parseRecord, rateWindow, sameIncarnation } = jobStoreKit;

/** Rounds of read → decide → compare-and-set before giving up on a job under heavy contention. */
const CAS_ROUNDS = 50;

/** What a transition decides: the row to write (or delete), and what to answer. */
interface Decision<T> {
  write?: JobRecord;
  remove?: boolean;
  result: T;
}

interface Row {
  record: string;
  version: string;
  expires_at: number | null;
}

/** PostgreSQL job store of one app on one node. */
export class PostgresJobStore extends JobStoreReads implements JobStore {
  readonly kind = 'postgres';
  readonly capabilities = { transactions: true, indexed: true } as const;
  private readonly sql: JobStoreSql;

  constructor(connections: PgConnections, appName: string) {
    super(connections, appName);
    this.sql = jobStoreSql(connections.schema);
  }

  protected async dropResources(): Promise<void> {}

  /** Can `create` write inside `transaction`? (A pg client or a Sequelize transaction; not a bare `{ afterCommit }`.) */
  acceptsTransaction(transaction: unknown): boolean {
    return isDatabaseTransaction(transaction);
  }

  async create(record: JobRecord, options: { transaction?: unknown } = {}): Promise<CreateResult> {
    this.assertConnected();
    const client: Queryable =
      options.transaction === undefined
        ? this.connections.pool
        : transactionClient(options.transaction, 'managedQueue.enqueue');
    const values = [this.app, record.id, ...rowValues(record), Date.now()];
    for (let round = 0; round < CAS_ROUNDS; round += 1) {
      const inserted = await inCallerTransaction('managedQueue.enqueue', () =>
        guard('job create', () => client.query<{ backlog: number }>(this.sql.create, values)),
      );
      if (inserted.rows[0]) {
        const queued = record.state === 'waiting' || record.state === 'delayed' ? 1 : 0;
        return { created: true, backlog: inserted.rows[0].backlog + queued };
      }
      const { rows } = await guard('job read', () => client.query<Row>(this.sql.read, [this.app, record.id]));
      const existing = this.parse(rows[0], Date.now());
      if (existing) return { created: false, existing };
      // Gone (or its retention ended) between the two statements: insert again.
    }
    throw contention(record.id);
  }

  async ticketSent(ref: JobRef, parkedBy?: string): Promise<void> {
    await this.mutate(ref.id, (record) => {
      if (!current(record, ref) || record.ticketPendingSince === undefined) return { result: undefined };
      // Parked since the publish: that node holds the ticket.
      if (record.parkedBy !== parkedBy) return { result: undefined };
      delete record.ticketPendingSince;
      delete record.parkedBy;
      return { write: record, result: undefined };
    });
  }

  park(ref: JobRef, nodeId: string, now: number): Promise<boolean> {
    return this.mutate(ref.id, (record) =>
      applyPark(record, ref, nodeId, now) ? { write: record, result: true } : { result: false },
    );
  }

  async claim(ref: JobRef, request: ClaimRequest): Promise<ClaimResult> {
    this.assertConnected();
    if (request.globalConcurrency === undefined && request.rateLimit === undefined) {
      // Nothing to count: a compare-and-set on the row alone.
      for (let round = 0; round < CAS_ROUNDS; round += 1) {
        const pool = this.connections.pool;
        const outcome = await this.claimOn(pool, ref, request, false);
        if (outcome !== undefined) return outcome;
      }
      throw contention(ref.id);
    }
    // Counting claims of one handler take turns (advisory lock, then the row): the count they read
    // cannot change before they commit.
    return guard('job claim', () =>
      inTransaction(this.connections.pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
          advisoryKey(this.schema, `claim:${this.app}:${request.handler}`),
        ]);
        const outcome = await this.claimOn(client, ref, request, true);
        if (outcome === undefined) throw contention(ref.id);
        return outcome;
      }),
    );
  }

  /** One claim attempt; undefined when the compare-and-set lost (read again). */
  private async claimOn(
    client: Queryable,
    ref: JobRef,
    request: ClaimRequest,
    locked: boolean,
  ): Promise<ClaimResult | undefined> {
    const text = locked ? `${this.sql.readForClaim} FOR UPDATE OF j` : this.sql.readForClaim;
    const { rows } = await guard('job claim', () =>
      client.query<Row & { paused: boolean; active: number | null; win: number | null; spent: number | null }>(text, [
        this.app,
        ref.id,
        request.handler,
        request.globalConcurrency !== undefined,
      ]),
    );
    const row = rows[0];
    const record = this.parse(row, request.now);
    let rateWin: number | undefined;
    const result = decideClaim(record, ref, request, {
      isPaused: () => row?.paused === true,
      activeCount: () => row?.active ?? 0,
      takeRate: (_handler, limit, now) => {
        const { window, endsInMs } = rateWindow(limit, now);
        const spent = row?.win === window ? (row.spent ?? 0) : 0;
        if (spent >= limit.max) return endsInMs;
        rateWin = window;
        return 0;
      },
    });
    if (result.type !== 'claimed') return result;
    const written = await guard('job claim', () =>
      client.query(this.sql.write, [this.app, ref.id, ...rowValues(result.record), row!.version]),
    );
    if ((written.rowCount ?? 0) === 0) return undefined;
    if (rateWin !== undefined) {
      await guard('job claim', () => client.query(this.sql.takeRate, [this.app, request.handler, rateWin]));
    }
    return result;
  }

  release(ref: JobRef, owner: string): Promise<boolean> {
    return this.mutate(ref.id, (record) => {
      if (!owns(record, ref, owner)) return { result: false };
      applyRelease(record, Date.now());
      return { write: record, result: true };
    });
  }

  finish(ref: JobRef, owner: string, next: JobRecord, retention: Retention): Promise<boolean> {
    return this.mutate(ref.id, (record) => {
      if (!owns(record, ref, owner)) return { result: false };
      if (isTerminal(next.state) && retention.remove) return { remove: true, result: true };
      const stored: JobRecord = JSON.parse(JSON.stringify(next)) as JobRecord;
      if (isTerminal(stored.state)) stored.expiresAt = (stored.finishedAt ?? Date.now()) + retention.retentionMs;
      return { write: stored, result: true };
    });
  }

  setProgress(ref: JobRef, owner: string, progress: number | object): Promise<boolean> {
    return this.mutate(ref.id, (record) => {
      if (!owns(record, ref, owner)) return { result: false };
      record.progress = JSON.parse(JSON.stringify(progress)) as number | object;
      return { write: record, result: true };
    });
  }

  async appendLog(ref: JobRef, owner: string, line: string, maxLines: number): Promise<boolean> {
    this.assertConnected();
    const result = await this.connections.query('job log', this.sql.appendLog, [
      this.app,
      ref.id,
      ref.nonce,
      ref.gen,
      owner,
      line,
      maxLines,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  markNoProcessor(ref: JobRef, now: number): Promise<number | undefined> {
    return this.mutate(ref.id, (record) => {
      if (!current(record, ref) || isTerminal(record.state)) return { result: undefined };
      if (record.noProcessorSince !== undefined) return { result: record.noProcessorSince };
      record.noProcessorSince = now;
      return { write: record, result: now };
    });
  }

  cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): ReturnType<JobStore['cancel']> {
    return this.mutate<Awaited<ReturnType<JobStore['cancel']>>>(id, (record) => planCancel(record, options));
  }

  retry(id: string, options: { now: number; tenantId?: string }): ReturnType<JobStore['retry']> {
    return this.mutate<Awaited<ReturnType<JobStore['retry']>>>(id, (record) => {
      const outcome = decideRetry(record, options);
      return outcome.type === 'retried' ? { write: outcome.record, result: outcome } : { result: outcome };
    });
  }

  async remove(id: string): Promise<boolean> {
    this.assertConnected();
    return ((await this.connections.query('job remove', this.sql.remove, [this.app, id])).rowCount ?? 0) > 0;
  }

  discard(id: string, options: { tenantId?: string }): ReturnType<JobStore['discard']> {
    // The delete is version-checked: a claim in between makes it decide again (and refuse).
    return this.mutate<Awaited<ReturnType<JobStore['discard']>>>(id, (record) => {
      const outcome = decideDiscard(record, options);
      return outcome.type === 'removed' ? { remove: true, result: outcome } : { result: outcome };
    });
  }

  promote(id: string, options: { now: number; tenantId?: string }): ReturnType<JobStore['promote']> {
    return this.mutate<Awaited<ReturnType<JobStore['promote']>>>(id, (record) => {
      const outcome = decidePromote(record, options);
      return outcome.type === 'promoted' ? { write: outcome.record, result: outcome } : { result: outcome };
    });
  }

  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    this.assertConnected();
    const key = jobStoreKit.logicalQueueKey(pluginName, queueName);
    await this.connections.query('job pause', paused ? this.sql.pause : this.sql.unpause, [this.app, key]);
  }

  async saveSchedule(info: ScheduleInfo): Promise<void> {
    this.assertConnected();
    const { lastTick: _omit, ...stored } = info;
    const saved = await this.connections.query('schedule save', this.sql.saveSchedule, [
      this.app,
      info.scheduleId,
      info.pluginName,
      info.tenantId ?? null,
      JSON.stringify(stored),
    ]);
    if (saved.rows.length === 0) {
      throw new ClusterError(
        ErrorCodes.TENANT_MISMATCH,
        `schedule "${info.scheduleId}" belongs to another plugin or tenant; it was not replaced`,
        { details: { scheduleId: info.scheduleId } },
      );
    }
  }

  async removeSchedule(scheduleId: string, tenantId?: string): Promise<boolean> {
    this.assertConnected();
    const result = await this.connections.query('schedule remove', this.sql.removeSchedule, [
      this.app,
      scheduleId,
      tenantId ?? null,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async markTick(scheduleId: string, tick: number): Promise<boolean> {
    this.assertConnected();
    const result = await this.connections.query('schedule tick', this.sql.markTick, [this.app, scheduleId, tick]);
    return (result.rowCount ?? 0) > 0;
  }

  /** Read → decide → compare-and-set on the version; read again when another transition got in between. */
  private async mutate<T>(id: string, decide: (record: JobRecord | undefined) => Decision<T>): Promise<T> {
    this.assertConnected();
    for (let round = 0; round < CAS_ROUNDS; round += 1) {
      const { rows } = await this.connections.query<Row>('job read', this.sql.read, [this.app, id]);
      const row = rows[0];
      const decision = decide(this.parse(row, Date.now()));
      if (!decision.write && !decision.remove) return decision.result;
      const written = decision.remove
        ? await this.connections.query('job delete', this.sql.delete, [this.app, id, row!.version])
        : await this.connections.query('job write', this.sql.write, [
            this.app,
            id,
            ...rowValues(decision.write!),
            row?.version ?? '-1',
          ]);
      if ((written.rowCount ?? 0) > 0) return decision.result;
    }
    throw contention(id);
  }

  /** The record of a row, unless its retention has ended. */
  private parse(row: Row | undefined, now: number): JobRecord | undefined {
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    return parseRecord(row.record);
  }
}

function current(record: JobRecord | undefined, ref: JobRef): record is JobRecord {
  return sameIncarnation(record, ref) && record.gen === ref.gen;
}

function owns(record: JobRecord | undefined, ref: JobRef, owner: string): record is JobRecord {
  return current(record, ref) && record.state === 'active' && record.owner === owner;
}

function contention(id: string): ClusterError {
  return new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `job ${id}: too much contention to change it`);
}
