/**
 * The Redis job store's reads: records by id, pages by plugin/queue/tenant and state, counts,
 * cleaning finished records, pending tickets. All from the indexes the transition scripts keep
 * (per combo and state sorted sets, `D:<combo>` for delayed jobs, `C` the combos, `P` pending
 * tickets), so no read scans the records.
 */
import type { JobCounts, JobFilter, JobRecord, ManagedJobState, QueueCountsRow } from 'clusterkit/adapter-kit';
import { jobStoreKit } from 'clusterkit/adapter-kit';
import { Cluster } from 'ioredis';
import { guard, type RedisClient } from './connection.js';
import { flatToHash, fromHash, type Hash } from './job-hash.js';

const LIVE_STATES = ['waiting', 'active', 'completed', 'failed', 'cancelled'] as const;

/** One combo (plugin, queue, tenant) as stored in `C`. */
interface Combo {
  combo: string;
  pluginName: string;
  queueName: string;
  tenantId?: string;
}

/** Reads of one app's job store (`p`: its key prefix, hash tag included). */
export class JobStoreReads {
  constructor(
    private readonly client: () => RedisClient,
    private readonly p: string,
  ) {}

  /** The live records of `ids`, in order (undefined: missing or past its retention). */
  async getMany(ids: readonly string[], now: number): Promise<(JobRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const client = this.client();
    const hashes = await guard('HGETALL', () =>
      pipelined(
        client,
        ids.map((id) => ['hgetall', `${this.p}J:${id}`]),
      ),
    );
    return hashes.map((h) => {
      const hash = h as Hash;
      if (hash.r === undefined || (hash.xa !== undefined && Number(hash.xa) <= now)) return undefined;
      return fromHash(hash);
    });
  }

  /** Known combos matching a filter. */
  private async combos(filter: JobFilter): Promise<Combo[]> {
    const client = this.client();
    const all = await guard('HGETALL', () => client.hgetall(`${this.p}C`));
    const out: Combo[] = [];
    for (const [combo, json] of Object.entries(all)) {
      const [pluginName, queueName, tenantId] = JSON.parse(json) as [string, string, string | null];
      if (filter.pluginName !== undefined && filter.pluginName !== pluginName) continue;
      if (filter.queueName !== undefined && filter.queueName !== queueName) continue;
      if (filter.tenantId !== undefined && filter.tenantId !== tenantId) continue;
      out.push({ combo, pluginName, queueName, ...(tenantId === null ? {} : { tenantId }) });
    }
    return out;
  }

  /** See `JobStore.list`. */
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

  /** See `JobStore.counts`. */
  async counts(filter: JobFilter, now: number): Promise<JobCounts> {
    return jobStoreKit.sumCounts(await this.queueStats(filter, now));
  }

  /** See `JobStore.queueStats`. */
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

  /** See `JobStore.clean`; `remove` deletes one record (true when it existed). */
  async clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
    remove: (id: string) => Promise<boolean>,
  ): Promise<number> {
    const client = this.client();
    let removed = 0;
    for (const { combo } of await this.combos(options)) {
      const ids = await guard('ZRANGE', () => client.zrange(`${this.p}S:${options.state}:${combo}`, '0', '-1'));
      for (let i = 0; i < ids.length && removed < options.limit; i += 200) {
        const batch = ids.slice(i, i + 200);
        const finished = await guard('HGET', () =>
          pipelined(
            client,
            batch.map((id) => ['hget', `${this.p}J:${id}`, 'fa']),
          ),
        );
        for (let k = 0; k < batch.length && removed < options.limit; k += 1) {
          if (Number(finished[k] ?? 0) <= options.finishedBefore && (await remove(batch[k] as string))) removed += 1;
        }
      }
    }
    return removed;
  }

  /** See `JobStore.pendingTickets`. */
  async pendingTickets(before: number, limit: number): Promise<JobRecord[]> {
    const client = this.client();
    const ids = await guard('ZRANGEBYSCORE', () =>
      client.zrangebyscore(`${this.p}P`, '-inf', before, 'LIMIT', 0, limit),
    );
    return (await this.getMany(ids, Date.now())).filter((r): r is JobRecord => r?.ticketPendingSince !== undefined);
  }
}

/** Runs commands in one pipeline (a Cluster routes each; all keys here share one slot) and returns their replies. */
export async function pipelined(client: RedisClient, commands: readonly (readonly string[])[]): Promise<unknown[]> {
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
