/**
 * The read side of the PostgreSQL job store (and the bulk deletes): getJob, listJobs, counts per
 * logical queue, the reconciler's pending tickets, retention. Each is one statement on indexed
 * columns (`mj_jobs_newest`, `mj_jobs_combo`, `mj_jobs_pending`, `mj_jobs_expiring`), so its cost
 * grows with the page or the number of plugin/queue/tenant rows, not with the number of records.
 */
import {
  jobStoreKit,
  type JobCounts,
  type JobFilter,
  type JobRecord,
  type ManagedJobState,
  type QueueCountsRow,
  type ScheduleInfo,
} from 'clusterkit/adapter-kit';
import type { PgConnections } from './connection.js';
import { jobStoreSql, live, type JobStoreSql } from './job-store-sql.js';
import { PostgresAdapterBase } from './postgres-adapter-base.js';

interface CountsRow {
  plugin: string;
  queue: string;
  tenant: string | null;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

/** Reads of one app's job records (the base of `PostgresJobStore`). */
export abstract class JobStoreReads extends PostgresAdapterBase {
  protected readonly app: string;
  private readonly reads: JobStoreSql;

  protected constructor(connections: PgConnections, appName: string) {
    super(connections, 'PostgreSQL job store');
    this.app = appName;
    this.reads = jobStoreSql(connections.schema);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ record: string }>('job get', this.reads.get, [
      this.app,
      id,
      Date.now(),
    ]);
    return jobStoreKit.parseRecord(rows[0]?.record);
  }

  async getLogs(id: string): Promise<string[]> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ logs: string[] }>('job logs', this.reads.logs, [this.app, id]);
    return rows[0]?.logs ?? [];
  }

  /** `WHERE` of a filtered read: app, live rows, plugin/queue/tenant; `values` gets the parameters. */
  private where(filter: JobFilter, values: unknown[], now: number): string {
    values.push(this.app, now);
    const parts = ['app = $1', live('$2')];
    if (filter.pluginName !== undefined) parts.push(`plugin = $${values.push(filter.pluginName)}`);
    if (filter.queueName !== undefined) parts.push(`queue = $${values.push(filter.queueName)}`);
    if (filter.tenantId !== undefined) parts.push(`tenant = $${values.push(filter.tenantId)}`);
    return parts.join(' AND ');
  }

  async list(
    filter: JobFilter & { state?: ManagedJobState; offset: number; limit: number },
    now: number,
  ): Promise<{ records: JobRecord[]; total: number }> {
    this.assertConnected();
    const values: unknown[] = [];
    let where = this.where(filter, values, now);
    // As readers see it: a delayed job whose time has come is waiting.
    if (filter.state === 'waiting') where += ` AND (state = 'waiting' OR (state = 'delayed' AND run_at <= $2))`;
    else if (filter.state === 'delayed') where += ` AND state = 'delayed' AND run_at > $2`;
    else if (filter.state !== undefined) where += ` AND state = $${values.push(filter.state)}`;
    const t = this.reads.jobs;
    const [page, total] = await Promise.all([
      this.connections.query<{ record: string }>(
        'job list',
        `SELECT record FROM ${t} WHERE ${where} ORDER BY enqueued_at DESC, id DESC OFFSET $${values.length + 1} LIMIT $${values.length + 2}`,
        [...values, filter.offset, filter.limit],
      ),
      this.connections.query<{ n: number }>('job list', `SELECT count(*)::int AS n FROM ${t} WHERE ${where}`, values),
    ]);
    return {
      records: page.rows.map((r) => jobStoreKit.parseRecord(r.record)).filter((r): r is JobRecord => r !== undefined),
      total: total.rows[0]?.n ?? 0,
    };
  }

  async counts(filter: JobFilter, now: number): Promise<JobCounts> {
    return jobStoreKit.sumCounts(await this.queueStats(filter, now));
  }

  async queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]> {
    this.assertConnected();
    const values: unknown[] = [];
    const where = this.where(filter, values, now);
    const { rows } = await this.connections.query<CountsRow>(
      'job counts',
      `SELECT plugin, queue, tenant,
         count(*) FILTER (WHERE state = 'waiting' OR (state = 'delayed' AND run_at <= $2))::int AS waiting,
         count(*) FILTER (WHERE state = 'active')::int AS active,
         count(*) FILTER (WHERE state = 'completed')::int AS completed,
         count(*) FILTER (WHERE state = 'failed')::int AS failed,
         count(*) FILTER (WHERE state = 'delayed' AND run_at > $2)::int AS delayed
       FROM ${this.reads.jobs} WHERE ${where} GROUP BY plugin, queue, tenant ORDER BY plugin, queue, tenant`,
      values,
    );
    return rows.map((r) => ({
      pluginName: r.plugin,
      queueName: r.queue,
      ...(r.tenant === null ? {} : { tenantId: r.tenant }),
      waiting: r.waiting,
      active: r.active,
      completed: r.completed,
      failed: r.failed,
      delayed: r.delayed,
    }));
  }

  async clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number> {
    this.assertConnected();
    const values: unknown[] = [];
    const where = this.where(options, values, Date.now());
    const t = this.reads.jobs;
    const state = values.push(options.state);
    const before = values.push(options.finishedBefore);
    const limit = values.push(options.limit);
    const result = await this.connections.query(
      'job clean',
      `DELETE FROM ${t} WHERE app = $1 AND id IN (SELECT id FROM ${t} WHERE ${where}
         AND state = $${state} AND coalesce(finished_at, 0) <= $${before} LIMIT $${limit})`,
      values,
    );
    return result.rowCount ?? 0;
  }

  async pendingTickets(before: number, limit: number): Promise<JobRecord[]> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ record: string }>('job pending', this.reads.pending, [
      this.app,
      before,
      limit,
      Date.now(),
    ]);
    return rows.map((r) => jobStoreKit.parseRecord(r.record)).filter((r): r is JobRecord => r !== undefined);
  }

  async sweep(now: number, limit: number): Promise<number> {
    this.assertConnected();
    return (await this.connections.query('job sweep', this.reads.sweep, [this.app, now, limit])).rowCount ?? 0;
  }

  async pausedQueues(): Promise<string[]> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ lq: string }>('job paused', this.reads.paused, [this.app]);
    return rows.map((r) => r.lq);
  }

  async listSchedules(): Promise<ScheduleInfo[]> {
    this.assertConnected();
    const { rows } = await this.connections.query<{ info: string; last_tick: number | null }>(
      'schedule list',
      this.reads.listSchedules,
      [this.app],
    );
    return rows.map((r) => {
      const info = JSON.parse(r.info) as ScheduleInfo;
      if (r.last_tick !== null) info.lastTick = r.last_tick;
      return info;
    });
  }
}
