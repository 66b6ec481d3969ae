/**
 * The Redis job store: the managed-job layer's records, schedules and paused flags in Redis, each
 * hot-path transition (create, claim, finish, ticket confirmation, progress, log) ONE Lua script and
 * one round trip (lua/job-scripts.ts); the rarer operator transitions (cancel, retry, release, the
 * no-processor mark) read the record and write it back with a version check (optimistic, retried:
 * job-store-cas.ts). Record layout: job-hash.ts; reads: job-store-reads.ts; schedules:
 * job-store-schedules.ts.
 * Indexed per plugin/queue/tenant and state, so getJob, listJobs and getMetrics never scan records.
 * All keys of one app share the hash tag `{<app>}`: one slot on a Redis Cluster.
 */
import {
  ClusterError,
  ErrorCodes,
  escapeKeyPart,
  type ClaimRequest,
  type ClaimResult,
  type CreateResult,
  type JobCounts,
  type JobFilter,
  type JobRecord,
  type JobRef,
  type JobStore,
  type PreparedTicket,
  type ManagedJobState,
  type QueueCountsRow,
  type Retention,
  type ScheduleInfo,
  jobStoreKit,
} from 'clusterkit/adapter-kit';
import { guard, type RedisConnections } from './connection.js';
import { claimedHash, finishFields, flatToHash, fromHash, toHash } from './job-hash.js';
import { JobStoreReads } from './job-store-reads.js';
import { JobStoreCas } from './job-store-cas.js';
import { JobStoreSchedules, type RunJobScript } from './job-store-schedules.js';
import { JOB_DELETE, JOB_OWNED_UPDATE, JOB_PARK, JOB_TICKET_SENT, JOB_WATCH } from './lua/job-admin-scripts.js';
import { JOB_CLAIM, JOB_CREATE, JOB_FINISH } from './lua/job-scripts.js';
import { runScript, type LuaScript } from './lua/run-script.js';
import { RedisAdapterBase } from './redis-adapter-base.js';
import { RedisEventQueueAdapter } from './redis-event-queue-adapter.js';
import { TicketPriorityGuess } from './ticket-priority-guess.js';

const { isTerminal, rateWindow } = jobStoreKit;

/** Redis job store of one app on one node. */
export class RedisJobStore extends RedisAdapterBase implements JobStore {
  readonly kind = 'redis';
  readonly capabilities = { transactions: false, indexed: true } as const;
  private readonly p: string;
  private readonly reads: JobStoreReads;
  private readonly schedules: JobStoreSchedules;
  private readonly versioned: JobStoreCas;
  /** Node ids as JSON strings (the claim writes the open attempt's JSON without encoding it). */
  private readonly nodeJson = new Map<string, string>();
  /** The priority fused creates send their tickets with (ticket-priority-guess.ts). */
  private readonly ticketPriority = new TicketPriorityGuess();

  constructor(connections: RedisConnections, appName: string) {
    super(connections, 'Redis job store');
    this.p = `${connections.prefix}:mq:{${escapeKeyPart(appName)}}:`;
    this.reads = new JobStoreReads(() => this.client(), this.p);
    const run: RunJobScript = (script, key, args) => this.run(script, key, args);
    this.schedules = new JobStoreSchedules(() => this.client(), this.p, run);
    this.versioned = new JobStoreCas(() => this.client(), this.p, run);
  }

  protected async dropResources(): Promise<void> {}

  private run(script: LuaScript, key: string, args: (string | number)[]): Promise<unknown> {
    const client = this.client();
    return guard(script.name, () => runScript(client, script, [key], [this.p, ...args]));
  }

  private jobKey(id: string): string {
    return `${this.p}J:${id}`;
  }

  async create(record: JobRecord, options: { transaction?: unknown } = {}): Promise<CreateResult> {
    if (options.transaction !== undefined) {
      throw new ClusterError(ErrorCodes.NOT_SUPPORTED, 'the Redis job store cannot write inside a transaction');
    }
    const reply = (await this.run(JOB_CREATE, this.jobKey(record.id), [record.id, Date.now(), ...toHash(record)])) as [
      number,
      unknown,
    ];
    if (reply[0] === 1) return { created: true, backlog: Number(reply[1]) };
    return { created: false, existing: fromHash(flatToHash(reply[1])) };
  }

  /**
   * Record and ticket in one script call: BullMQ's add wrapped with this store's create (see
   * `lua/fused-create.ts`), when the ticket goes to the Redis event queue of this node's connections
   * on a single Redis server; undefined (nothing written) otherwise.
   */
  async createWithTicket(record: JobRecord, ticket: PreparedTicket): Promise<CreateResult | undefined> {
    if (!(ticket.adapter instanceof RedisEventQueueAdapter)) return undefined;
    // A copy without `ticketPendingSince` (rest, not spread + delete: a deleted key turns the copy into
    // a slow dictionary that toHash and JSON.stringify then read field by field).
    const { ticketPendingSince: _pending, ...stored } = record;
    const threshold = Number.isFinite(ticket.backlogThreshold) ? ticket.backlogThreshold : '';
    const sent = this.ticketPriority.recordFor(record, ticket);
    const reply = (await ticket.adapter.publishCreating(this.connections, ticket.queue, sent, {
      head: [this.p, record.id, Date.now(), threshold, ticket.record.priority, ticket.maxPriority],
      fields: toHash(stored),
    })) as [number, unknown] | undefined;
    if (reply === undefined) return undefined;
    if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) {
      throw new Error(`unexpected reply of the record+ticket script: ${JSON.stringify(reply)}`);
    }
    if (reply[0] === 1) {
      this.ticketPriority.learn(record, Number(reply[1]));
      return { created: true, backlog: Number(reply[1]) };
    }
    return { created: false, existing: fromHash(flatToHash(reply[1])) };
  }

  async ticketSent(ref: JobRef, parkedBy?: string): Promise<void> {
    await this.run(JOB_TICKET_SENT, this.jobKey(ref.id), [ref.id, ref.nonce, ref.gen, parkedBy ?? '']);
  }

  async park(ref: JobRef, nodeId: string, now: number): Promise<boolean> {
    return Number(await this.run(JOB_PARK, this.jobKey(ref.id), [ref.id, ref.nonce, ref.gen, nodeId, now])) === 1;
  }

  async claim(ref: JobRef, request: ClaimRequest): Promise<ClaimResult> {
    const rate = request.rateLimit ? rateWindow(request.rateLimit, request.now) : undefined;
    const reply = (await this.run(JOB_CLAIM, this.jobKey(ref.id), [
      ref.id,
      ref.nonce,
      ref.gen,
      request.nodeId,
      request.now,
      request.takeOverFrom ?? '',
      request.globalConcurrency ?? '',
      request.rateLimit?.max ?? '',
      rate?.window ?? '',
      rate?.endsInMs ?? '',
      request.rateLimit ? request.rateLimit.durationMs * 2 : '',
      request.handler,
      this.jsonOf(request.nodeId),
    ])) as [string, unknown?, unknown?, unknown?];
    switch (reply[0]) {
      case 'claimed': {
        const record = fromHash(claimedHash(reply[1], reply[3]));
        return reply[2] ? { type: 'claimed', record, tookOverFrom: String(reply[2]) } : { type: 'claimed', record };
      }
      case 'stale':
        return { type: 'stale', record: fromHash(flatToHash(reply[1])) };
      case 'owned':
        return { type: 'owned', owner: String(reply[1]) };
      case 'early':
        return { type: 'early', runAt: Number(reply[1]) };
      case 'rate':
        return { type: 'rate', waitMs: Number(reply[1]) };
      default:
        return { type: reply[0] as 'missing' | 'finished' | 'paused' | 'busy' };
    }
  }

  async finish(ref: JobRef, owner: string, next: JobRecord, retention: Retention): Promise<boolean | 'unwatched'> {
    const now = Date.now();
    const terminal = isTerminal(next.state);
    // The retention end is passed along, not set on a copy of `next` (a copy per finish, for one field).
    const expiresAt = terminal ? (next.finishedAt ?? now) + retention.retentionMs : next.expiresAt;
    const remove = terminal && retention.remove ? '1' : '0';
    const { set, clear } = finishFields(next, expiresAt);
    const reply = await this.run(JOB_FINISH, this.jobKey(ref.id), [
      ref.id,
      ref.nonce,
      ref.gen,
      owner,
      remove,
      now,
      next.state,
      next.runAt,
      expiresAt ?? '',
      next.ticketPendingSince ?? '',
      set.length / 2,
      ...set,
      ...clear,
    ]);
    const written = Number(reply);
    return written === 2 ? 'unwatched' : written === 1;
  }

  /** `nodeId` as a JSON string (a node has one id; kept for its next claims). */
  private jsonOf(nodeId: string): string {
    let json = this.nodeJson.get(nodeId);
    if (json === undefined) {
      if (this.nodeJson.size > 64) this.nodeJson.clear();
      json = JSON.stringify(nodeId);
      this.nodeJson.set(nodeId, json);
    }
    return json;
  }

  async watch(id: string, ttlMs: number): Promise<void> {
    const client = this.client();
    await guard(JOB_WATCH.name, () =>
      runScript(client, JOB_WATCH, [`${this.p}W:${id}`], [Math.max(1, Math.ceil(ttlMs))]),
    );
  }

  release(ref: JobRef, owner: string): Promise<boolean> {
    return this.versioned.release(ref, owner);
  }

  markNoProcessor(ref: JobRef, now: number): Promise<number | undefined> {
    return this.versioned.markNoProcessor(ref, now);
  }

  cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): ReturnType<JobStore['cancel']> {
    return this.versioned.cancel(id, options);
  }

  retry(id: string, options: { now: number; tenantId?: string }): ReturnType<JobStore['retry']> {
    return this.versioned.retry(id, options);
  }

  discard(id: string, options: { tenantId?: string }): ReturnType<JobStore['discard']> {
    return this.versioned.discard(id, options);
  }

  promote(id: string, options: { now: number; tenantId?: string }): ReturnType<JobStore['promote']> {
    return this.versioned.promote(id, options);
  }

  async setProgress(ref: JobRef, owner: string, progress: number | object): Promise<boolean> {
    const reply = await this.run(JOB_OWNED_UPDATE, this.jobKey(ref.id), [
      ref.id,
      ref.nonce,
      ref.gen,
      owner,
      'progress',
      JSON.stringify(progress),
      0,
    ]);
    return Number(reply) === 1;
  }

  async appendLog(ref: JobRef, owner: string, line: string, maxLines: number): Promise<boolean> {
    const reply = await this.run(JOB_OWNED_UPDATE, this.jobKey(ref.id), [
      ref.id,
      ref.nonce,
      ref.gen,
      owner,
      'log',
      line,
      maxLines,
    ]);
    return Number(reply) === 1;
  }

  async remove(id: string): Promise<boolean> {
    return Number(await this.run(JOB_DELETE, `${this.p}X`, ['one', id])) === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const [record] = await this.reads.getMany([id], Date.now());
    return record;
  }

  async getLogs(id: string): Promise<string[]> {
    const client = this.client();
    return guard('LRANGE', () => client.lrange(`${this.p}L:${id}`, 0, -1));
  }

  list(
    filter: JobFilter & { state?: ManagedJobState; offset: number; limit: number },
    now: number,
  ): Promise<{ records: JobRecord[]; total: number }> {
    return this.reads.list(filter, now);
  }

  counts(filter: JobFilter, now: number): Promise<JobCounts> {
    return this.reads.counts(filter, now);
  }

  queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]> {
    return this.reads.queueStats(filter, now);
  }

  clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number> {
    return this.reads.clean(options, (id) => this.remove(id));
  }

  pendingTickets(before: number, limit: number): Promise<JobRecord[]> {
    return this.reads.pendingTickets(before, limit);
  }

  async sweep(now: number, limit: number): Promise<number> {
    return Number(await this.run(JOB_DELETE, `${this.p}X`, ['expired', '', now, limit]));
  }

  async setPaused(pluginName: string, queueName: string, paused: boolean): Promise<void> {
    const client = this.client();
    const key = jobStoreKit.logicalQueueKey(pluginName, queueName);
    await guard('SADD', () => (paused ? client.sadd(`${this.p}paused`, key) : client.srem(`${this.p}paused`, key)));
  }

  async pausedQueues(): Promise<string[]> {
    const client = this.client();
    return guard('SMEMBERS', () => client.smembers(`${this.p}paused`));
  }

  saveSchedule(info: ScheduleInfo): Promise<void> {
    return this.schedules.save(info);
  }

  listSchedules(): Promise<ScheduleInfo[]> {
    return this.schedules.list();
  }

  removeSchedule(scheduleId: string, tenantId?: string): Promise<boolean> {
    return this.schedules.remove(scheduleId, tenantId);
  }

  markTick(scheduleId: string, tick: number): Promise<boolean> {
    return this.schedules.markTick(scheduleId, tick);
  }
}
