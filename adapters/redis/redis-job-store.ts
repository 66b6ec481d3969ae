/**
 * The Redis job store: the managed-job layer's records, schedules and paused flags in Redis, each
 * hot-path transition (create, claim, finish, ticket confirmation, progress, log) ONE Lua script and
 * one round trip (lua/job-scripts.ts); the rarer operator transitions (cancel, retry, release, the
 * no-processor mark) read the record and write it back with a version check (optimistic, retried).
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
import { Cluster } from 'ioredis';
import { guard, type RedisClient, type RedisConnections } from './connection.js';
import {
  JOB_CLAIM,
  JOB_CREATE,
  JOB_DELETE,
  JOB_OWNED_UPDATE,
  JOB_PARK,
  JOB_SCHEDULE,
  JOB_TICKET_SENT,
  JOB_WATCH,
  JOB_WRITE,
} from './lua/job-scripts.js';
import { runScript, type LuaScript } from './lua/run-script.js';
import { RedisAdapterBase } from './redis-adapter-base.js';
import { RedisEventQueueAdapter } from './redis-event-queue-adapter.js';

const {
  decideCancel,
  decideRetry,
  decideDiscard,
  decidePromote,
  applyRelease,
  failRetention,
  isTerminal,
  rateWindow,
  upgradeRecord,
  sumCounts,
} = jobStoreKit;

type Hash = Record<string, string>;
const LIVE_STATES = ['waiting', 'active', 'completed', 'failed', 'cancelled'] as const;
const CAS_ROUNDS = 20;

/** The combo (plugin, queue, tenant) of a record as one key part. */
function comboOf(r: { pluginName: string; queueName: string; tenantId?: string }): string {
  return `${escapeKeyPart(r.pluginName)}:${escapeKeyPart(r.queueName)}:${r.tenantId === undefined ? '-' : escapeKeyPart(r.tenantId).replace(/^-$/, '%2D')}`;
}

/** The hash fields of a record (see job-scripts.ts). */
function toHash(record: JobRecord): string[] {
  const f: [string, string | number | undefined][] = [
    ['r', JSON.stringify(record)],
    ['st', record.state],
    ['o', record.owner],
    ['sa', record.startedAt],
    ['as', record.attemptsStarted],
    ['h', JSON.stringify(record.history)],
    ['ab', record.abortRequested ? '1' : undefined],
    ['tp', record.ticketPendingSince],
    ['np', record.noProcessorSince],
    ['pr', JSON.stringify(record.progress)],
    ['fa', record.finishedAt],
    ['xa', record.expiresAt],
    ['pk', record.parkedBy],
    ['g', record.gen],
    ['n', record.nonce],
    ['ea', record.enqueuedAt],
    ['ra', record.runAt],
    ['cb', comboOf(record)],
    ['cbj', JSON.stringify([record.pluginName, record.queueName, record.tenantId ?? null])],
    ['hk', jobStoreKit.handlerKeyOf(record)],
    ['lq', jobStoreKit.logicalQueueKey(record.pluginName, record.queueName)],
  ];
  return f.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [k, String(v)]);
}

function flatToHash(flat: unknown): Hash {
  const list = flat as string[];
  const h: Hash = {};
  for (let i = 0; i < list.length; i += 2) h[list[i] as string] = list[i + 1] as string;
  return h;
}

/** Rebuilds a record from its hash (the fields transitions changed win over `r`). */
function fromHash(h: Hash): JobRecord {
  const record = upgradeRecord(JSON.parse(h.r as string) as JobRecord);
  record.state = h.st as ManagedJobState;
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
  set('abortRequested', h.ab === '1' ? true : undefined);
  set('ticketPendingSince', num('tp'));
  set('noProcessorSince', num('np'));
  if (h.pr !== undefined) record.progress = JSON.parse(h.pr) as number | object;
  set('finishedAt', num('fa'));
  set('expiresAt', num('xa'));
  set('parkedBy', h.pk);
  return record;
}

/** Redis job store of one app on one node. */
export class RedisJobStore extends RedisAdapterBase implements JobStore {
  readonly kind = 'redis';
  readonly capabilities = { transactions: false, indexed: true } as const;
  private readonly p: string;

  constructor(connections: RedisConnections, appName: string) {
    super(connections, 'Redis job store');
    this.p = `${connections.prefix}:mq:{${escapeKeyPart(appName)}}:`;
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
    const stored: JobRecord = { ...record };
    delete stored.ticketPendingSince;
    const threshold = Number.isFinite(ticket.backlogThreshold) ? ticket.backlogThreshold : '';
    const reply = (await ticket.adapter.publishCreating(this.connections, ticket.queue, ticket.record, {
      head: [this.p, record.id, Date.now(), threshold, ticket.record.priority, ticket.maxPriority],
      fields: toHash(stored),
    })) as [number, unknown] | undefined;
    if (reply === undefined) return undefined;
    if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) {
      throw new Error(`unexpected reply of the record+ticket script: ${JSON.stringify(reply)}`);
    }
    if (reply[0] === 1) return { created: true, backlog: Number(reply[1]) };
    return { created: false, existing: fromHash(flatToHash(reply[1])) };
  }

  async ticketSent(ref: JobRef): Promise<void> {
    await this.run(JOB_TICKET_SENT, this.jobKey(ref.id), [ref.id, ref.nonce, ref.gen]);
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
    ])) as [string, unknown?, unknown?, unknown?];
    switch (reply[0]) {
      case 'claimed': {
        const hash = { ...flatToHash(reply[1]), ...flatToHash(reply[3]) };
        delete hash.tp;
        delete hash.np;
        delete hash.pk;
        const record = fromHash(hash);
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
    const stored: JobRecord = { ...next };
    const now = Date.now();
    if (isTerminal(stored.state)) stored.expiresAt = (stored.finishedAt ?? now) + retention.retentionMs;
    const remove = isTerminal(stored.state) && retention.remove ? '1' : '0';
    const reply = await this.run(JOB_WRITE, this.jobKey(ref.id), [
      ref.id,
      'owner',
      ref.nonce,
      ref.gen,
      owner,
      remove,
      now,
      ...toHash(stored),
    ]);
    const written = Number(reply);
    return written === 2 ? 'unwatched' : written === 1;
  }

  async watch(id: string, ttlMs: number): Promise<void> {
    const client = this.client();
    await guard(JOB_WATCH.name, () =>
      runScript(client, JOB_WATCH, [`${this.p}W:${id}`], [Math.max(1, Math.ceil(ttlMs))]),
    );
  }

  /** Read → decide → write with a version check, retried when another transition got in between. */
  private async cas<T>(
    id: string,
    decide: (record: JobRecord | undefined) => { write?: JobRecord; remove?: boolean; result: T },
  ): Promise<T> {
    for (let round = 0; round < CAS_ROUNDS; round += 1) {
      const client = this.client();
      const h = (await guard('HGETALL', () => client.hgetall(this.jobKey(id)))) as Hash;
      const live = h.r !== undefined && !(h.xa !== undefined && Number(h.xa) <= Date.now());
      const decision = decide(live ? fromHash(h) : undefined);
      if (!decision.write && !decision.remove) return decision.result;
      const written = await this.run(JOB_WRITE, this.jobKey(id), [
        id,
        'version',
        '',
        0,
        h.v ?? '',
        decision.remove ? '1' : '0',
        Date.now(),
        ...(decision.write ? toHash(decision.write) : []),
      ]);
      if (Number(written) >= 1) return decision.result;
    }
    throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `job ${id}: too much contention to change it`);
  }

  async release(ref: JobRef, owner: string): Promise<boolean> {
    return this.cas(ref.id, (record) => {
      if (!owns(record, ref, owner)) return { result: false };
      applyRelease(record, Date.now());
      return { write: record, result: true };
    });
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

  async markNoProcessor(ref: JobRef, now: number): Promise<number | undefined> {
    return this.cas(ref.id, (record) => {
      if (!jobStoreKit.sameIncarnation(record, ref) || record.gen !== ref.gen || isTerminal(record.state)) {
        return { result: undefined };
      }
      if (record.noProcessorSince !== undefined) return { result: record.noProcessorSince };
      record.noProcessorSince = now;
      return { write: record, result: now };
    });
  }

  async cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['cancel']>>> {
    return this.cas<Awaited<ReturnType<JobStore['cancel']>>>(id, (record) => {
      const before = record?.state;
      const outcome = decideCancel(record, options);
      if (outcome.type === 'abort-requested') return { write: outcome.record, result: outcome };
      if (outcome.type === 'cancelled' && before !== 'cancelled') {
        const retention = failRetention(outcome.record, options.failedRetentionMs);
        if (retention.remove) return { remove: true, result: outcome };
        outcome.record.expiresAt = options.now + retention.retentionMs;
        return { write: outcome.record, result: outcome };
      }
      return { result: outcome };
    });
  }

  async retry(
    id: string,
    options: { now: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['retry']>>> {
    return this.cas<Awaited<ReturnType<JobStore['retry']>>>(id, (record) => {
      const outcome = decideRetry(record, options);
      return outcome.type === 'retried' ? { write: outcome.record, result: outcome } : { result: outcome };
    });
  }

  async remove(id: string): Promise<boolean> {
    return Number(await this.run(JOB_DELETE, `${this.p}X`, ['one', id])) === 1;
  }

  async discard(id: string, options: { tenantId?: string }): Promise<Awaited<ReturnType<JobStore['discard']>>> {
    // The delete is version-checked: a claim in between (it bumps the version) makes it decide again.
    return this.cas<Awaited<ReturnType<JobStore['discard']>>>(id, (record) => {
      const outcome = decideDiscard(record, options);
      return outcome.type === 'removed' ? { remove: true, result: outcome } : { result: outcome };
    });
  }

  async promote(
    id: string,
    options: { now: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['promote']>>> {
    return this.cas<Awaited<ReturnType<JobStore['promote']>>>(id, (record) => {
      const outcome = decidePromote(record, options);
      return outcome.type === 'promoted' ? { write: outcome.record, result: outcome } : { result: outcome };
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const [record] = await this.getMany([id], Date.now());
    return record;
  }

  private async getMany(ids: readonly string[], now: number): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const client = this.client();
    const hashes = await guard('HGETALL', () =>
      pipelined(
        client,
        ids.map((id) => ['hgetall', this.jobKey(id)]),
      ),
    );
    return hashes.map((h) => {
      const hash = h as Hash;
      if (hash.r === undefined || (hash.xa !== undefined && Number(hash.xa) <= now)) return undefined;
      return fromHash(hash);
    });
  }

  async getLogs(id: string): Promise<string[]> {
    const client = this.client();
    return guard('LRANGE', () => client.lrange(`${this.p}L:${id}`, 0, -1));
  }

  /** Known combos matching a filter. */
  private async combos(
    filter: JobFilter,
  ): Promise<{ combo: string; pluginName: string; queueName: string; tenantId?: string }[]> {
    const client = this.client();
    const all = await guard('HGETALL', () => client.hgetall(`${this.p}C`));
    const out = [];
    for (const [combo, json] of Object.entries(all)) {
      const [pluginName, queueName, tenantId] = JSON.parse(json) as [string, string, string | null];
      if (filter.pluginName !== undefined && filter.pluginName !== pluginName) continue;
      if (filter.queueName !== undefined && filter.queueName !== queueName) continue;
      if (filter.tenantId !== undefined && filter.tenantId !== tenantId) continue;
      out.push({ combo, pluginName, queueName, ...(tenantId === null ? {} : { tenantId }) });
    }
    return out;
  }

  async list(
    filter: JobFilter & { state?: ManagedJobState; offset: number; limit: number },
    now: number,
  ): Promise<{ records: JobRecord[]; total: number }> {
    const client = this.client();
    const combos = await this.combos(filter);
    const want = filter.offset + filter.limit;
    const states = filter.state === undefined ? [...LIVE_STATES] : filter.state === 'delayed' ? [] : [filter.state];
    const commands: string[][] = [];
    for (const { combo } of combos) {
      for (const state of states) {
        commands.push(['zrevrange', `${this.p}S:${state}:${combo}`, '0', String(want - 1), 'WITHSCORES']);
        commands.push(['zcard', `${this.p}S:${state}:${combo}`]);
      }
      // Delayed jobs: the due ones read as waiting, the rest as delayed (scored by runAt).
      if (filter.state === undefined || filter.state === 'waiting' || filter.state === 'delayed') {
        const [min, max] =
          filter.state === 'waiting'
            ? ['-inf', String(now)]
            : filter.state === 'delayed'
              ? [`(${now}`, '+inf']
              : ['-inf', '+inf'];
        commands.push(['zrangebyscore', `${this.p}D:${combo}`, min, max]);
      }
    }
    const replies = await guard('list', () => pipelined(client, commands));
    const candidates: { id: string; score: number }[] = [];
    const delayedIds: string[] = [];
    let total = 0;
    for (let i = 0; i < commands.length; i += 1) {
      const command = commands[i] as string[];
      const reply = replies[i] as unknown;
      if (command[0] === 'zrevrange') {
        const list = reply as string[];
        for (let k = 0; k < list.length; k += 2) candidates.push({ id: list[k] as string, score: Number(list[k + 1]) });
      } else if (command[0] === 'zcard') total += Number(reply);
      else delayedIds.push(...(reply as string[]));
    }
    total += delayedIds.length;
    const delayed = (await this.getMany(delayedIds, now)).filter((r): r is JobRecord => r !== undefined);
    for (const r of delayed) candidates.push({ id: r.id, score: r.enqueuedAt });
    // Ties in the order ZREVRANGE gives them (member descending), so each set's top N is the merged top N.
    candidates.sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = candidates.slice(filter.offset, want);
    const records = (
      await this.getMany(
        page.map((c) => c.id),
        now,
      )
    ).filter((r): r is JobRecord => r !== undefined);
    return { records, total };
  }

  async counts(filter: JobFilter, now: number): Promise<JobCounts> {
    return sumCounts(await this.queueStats(filter, now));
  }

  async queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]> {
    const client = this.client();
    const combos = await this.combos(filter);
    const counted = ['waiting', 'active', 'completed', 'failed'] as const;
    const commands: string[][] = [];
    for (const { combo } of combos) {
      for (const state of counted) commands.push(['zcard', `${this.p}S:${state}:${combo}`]);
      commands.push(['zcount', `${this.p}D:${combo}`, '-inf', String(now)]);
      commands.push(['zcount', `${this.p}D:${combo}`, `(${now}`, '+inf']);
    }
    const replies = (await guard('counts', () => pipelined(client, commands))).map(Number);
    const rows: QueueCountsRow[] = [];
    combos.forEach((c, i) => {
      const at = i * 6;
      const [waiting, active, completed, failed, due, delayed] = replies.slice(at, at + 6) as number[];
      if (waiting! + active! + completed! + failed! + due! + delayed! === 0) return;
      rows.push({
        pluginName: c.pluginName,
        queueName: c.queueName,
        ...(c.tenantId === undefined ? {} : { tenantId: c.tenantId }),
        waiting: waiting! + due!,
        active: active!,
        completed: completed!,
        failed: failed!,
        delayed: delayed!,
      });
    });
    return rows;
  }

  async clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number> {
    const client = this.client();
    let removed = 0;
    for (const { combo } of await this.combos(options)) {
      const ids = await guard('ZRANGE', () => client.zrange(`${this.p}S:${options.state}:${combo}`, '0', '-1'));
      for (let i = 0; i < ids.length && removed < options.limit; i += 200) {
        const batch = (ids as string[]).slice(i, i + 200);
        const finished = await guard('HGET', () =>
          pipelined(
            client,
            batch.map((id) => ['hget', this.jobKey(id), 'fa']),
          ),
        );
        for (let k = 0; k < batch.length && removed < options.limit; k += 1) {
          if (Number(finished[k] ?? 0) <= options.finishedBefore && (await this.remove(batch[k] as string)))
            removed += 1;
        }
      }
    }
    return removed;
  }

  async pendingTickets(before: number, limit: number): Promise<JobRecord[]> {
    const client = this.client();
    const ids = await guard('ZRANGEBYSCORE', () =>
      client.zrangebyscore(`${this.p}P`, '-inf', before, 'LIMIT', 0, limit),
    );
    return (await this.getMany(ids, Date.now())).filter((r): r is JobRecord => r?.ticketPendingSince !== undefined);
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

  async saveSchedule(info: ScheduleInfo): Promise<void> {
    const { lastTick: _omit, ...stored } = info;
    const reply = await this.run(JOB_SCHEDULE, `${this.p}sch:${info.scheduleId}`, [
      'save',
      info.scheduleId,
      JSON.stringify(stored),
      info.pluginName,
      info.tenantId ?? '',
    ]);
    if (reply === 'mismatch') {
      throw new ClusterError(
        ErrorCodes.TENANT_MISMATCH,
        `schedule "${info.scheduleId}" belongs to another plugin or tenant; it was not replaced`,
        { details: { scheduleId: info.scheduleId } },
      );
    }
  }

  async listSchedules(): Promise<ScheduleInfo[]> {
    const client = this.client();
    const ids = await guard('SMEMBERS', () => client.smembers(`${this.p}schs`));
    const hashes = await guard('HGETALL', () =>
      pipelined(
        client,
        ids.map((id) => ['hgetall', `${this.p}sch:${id}`]),
      ),
    );
    const out: ScheduleInfo[] = [];
    for (const h of hashes as Hash[]) {
      if (h.j === undefined) continue;
      const info = JSON.parse(h.j) as ScheduleInfo;
      if (h.lt !== undefined) info.lastTick = Number(h.lt);
      out.push(info);
    }
    return out;
  }

  async removeSchedule(scheduleId: string, tenantId?: string): Promise<boolean> {
    return (
      Number(await this.run(JOB_SCHEDULE, `${this.p}sch:${scheduleId}`, ['remove', scheduleId, tenantId ?? ''])) === 1
    );
  }

  async markTick(scheduleId: string, tick: number): Promise<boolean> {
    return Number(await this.run(JOB_SCHEDULE, `${this.p}sch:${scheduleId}`, ['tick', scheduleId, tick])) === 1;
  }
}

function owns(record: JobRecord | undefined, ref: JobRef, owner: string): record is JobRecord {
  return (
    jobStoreKit.sameIncarnation(record, ref) &&
    record.gen === ref.gen &&
    record.state === 'active' &&
    record.owner === owner
  );
}

/** Runs commands in one pipeline (a Cluster routes each; all keys here share one slot) and returns their replies. */
async function pipelined(client: RedisClient, commands: readonly (readonly string[])[]): Promise<unknown[]> {
  if (commands.length === 0) return [];
  const pipeline = client instanceof Cluster ? client.pipeline() : client.pipeline();
  for (const [name, ...args] of commands) pipeline.call(name as string, ...(args as string[]));
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value], i) => {
    if (error) throw error;
    // HGETALL through call() replies with a flat array.
    return (commands[i] as string[])[0] === 'hgetall' && Array.isArray(value) ? flatToHash(value) : value;
  });
}
