/**
 * The native engine's job reads (`listJobs`, `getMetrics`, `getQueueStats`, `clean`; core's
 * contract: `ManagedJobQueries`), and the add of a job with a tenant, which keeps the tenant index
 * those reads use (Lua: native-query-scripts.ts).
 *
 * - Without a tenant filter, counts come from BullMQ's own structures of each handler queue (LLEN,
 *   ZCARD, ZCOUNT: no job is read), and a page from a walk that stops once the page is certain
 *   (native-job-pages.ts).
 * - Jobs with a tenant are also in a per-queue, per-tenant sorted set written in the same script
 *   call as BullMQ's add (one ZADD + SADD, and a check of the index's two oldest entries); jobs
 *   without a tenant pay nothing (BullMQ's add, unchanged). A tenant's counts intersect its index
 *   with BullMQ's sets (ZINTERCARD); its pages walk the index newest first. Entries of jobs BullMQ
 *   removed (by age or count) are dropped by the next tenant add (its two oldest), by the walks that
 *   meet them, and by `clean`.
 */
import { Job, type JobsOptions, type Queue } from 'bullmq';
import {
  escapeKeyPart,
  unescapeKeyPart,
  type JobCounts,
  type JobFilter,
  type JobRecord,
  type ManagedJobQueries,
  type ManagedJobState,
  type QueueCountsRow,
} from 'clusterkit/adapter-kit';
import { bullScript, hasScript } from './bull-scripts.js';
import type { RedisClient } from './connection.js';
import { idAddLua, NATIVE_ADDS, nativeAddSource } from './native-ids.js';
import { nativeTops, readNativePage, type PageFilter, type Scripted } from './native-job-pages.js';
import type { Located } from './native-job-reads.js';
import type { HandlerName, NativeData } from './native-job-shape.js';
import {
  NATIVE_CLEAN_LUA,
  NATIVE_COUNTS_LUA,
  NATIVE_TENANT_TOP_LUA,
  NATIVE_TOP_LUA,
  tenantAddLua,
} from './native-query-scripts.js';

/** What the reads need of the engine. */
export interface NativeQueryDeps {
  /** The engine's command connection (started). */
  client(): RedisClient;
  /** Where a handler's jobs live (`keyPrefix`; `bullId` unused). */
  locate(handler: HandlerName): Omit<Located, 'bullId'>;
  /** Every plugin that has had jobs. */
  plugins(): Promise<string[]>;
  /** The handler queues of a plugin that have had jobs. */
  handlersOf(pluginName: string): Promise<HandlerName[]>;
  isPaused(pluginName: string, queueName: string): Promise<boolean>;
}

type Six = [number, number, number, number, number, number];
type Row = { h: HandlerName; tenant: string | undefined; all: Six };

const SCRIPTS = {
  ckNativeCounts: NATIVE_COUNTS_LUA,
  ckNativeTop: NATIVE_TOP_LUA,
  ckNativeTenantTop: NATIVE_TENANT_TOP_LUA,
  ckNativeClean: NATIVE_CLEAN_LUA,
} as const;

function countsOf(six: Six): JobCounts {
  return { waiting: six[0], active: six[1], completed: six[2], failed: six[3], delayed: six[4] };
}

/** The native engine's job reads (see the module comment). */
export class NativeJobQueries implements ManagedJobQueries {
  private readonly defined = new WeakSet<object>();
  /** Per connection and variant (with the id index or not): BullMQ's add name → ours. */
  private readonly wrapped = new WeakMap<object, Map<string, Map<string, string>>>();

  constructor(private readonly deps: NativeQueryDeps) {}

  private scripts(): Scripted {
    const client = this.deps.client();
    if (!this.defined.has(client)) {
      for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });
      this.defined.add(client);
    }
    return client as unknown as Scripted;
  }

  /**
   * Adds a job with a tenant through `queue` (whose connection is the engine's client): BullMQ's add
   * with the tenant index written in the same script call — and, for a caller id (`ids`), the
   * plugin's id index's dedupe around it (native-ids.ts). Resolves with the BullMQ job id.
   */
  async addWithTenant(
    queue: Queue,
    name: string,
    data: NativeData,
    opts: JobsOptions,
    tenantId: string,
    ids?: { readonly indexKey: string; readonly bullId: string; readonly entry: string },
  ): Promise<string> {
    const client = this.deps.client();
    await queue.getBackend().client; // BullMQ defines its scripts on the connection when the queue first connects.
    const variant = ids ? 'ids' : 'plain';
    let names = this.wrapped.get(client)?.get(variant);
    if (!names) {
      names = new Map();
      for (const base of Object.keys(NATIVE_ADDS) as (keyof typeof NATIVE_ADDS)[]) {
        const script = bullScript(client, base);
        if (!script) throw new Error(`BullMQ's ${base} script is not defined on this connection`);
        const ours = `${ids ? 'ckti' : 'ckt'}:${script.name}`;
        const source = nativeAddSource(base, script.lua);
        const lua = tenantAddLua(ids ? idAddLua(source) : source);
        if (!hasScript(client, ours)) client.defineCommand(ours, { numberOfKeys: script.numberOfKeys, lua });
        names.set(script.name, ours);
      }
      const variants = this.wrapped.get(client) ?? new Map<string, Map<string, string>>();
      variants.set(variant, names);
      this.wrapped.set(client, variants);
    }
    const jobId = ids ? ids.bullId : opts.jobId;
    const job = new Job(queue, name, data, { ...opts, ...(jobId === undefined ? {} : { jobId }) }, jobId);
    const commands = client as unknown as Record<string, (args: unknown[]) => Promise<unknown>>;
    // ARGV after BullMQ's three: tenant and enqueue time (ours), then the id index's three.
    const extra = [escapeKeyPart(tenantId), job.timestamp, ...(ids ? [ids.indexKey, ids.bullId, ids.entry] : [])];
    const through = {
      runCommand: (command: string, args: unknown[]) => {
        const ours = names.get(command);
        return ours ? commands[ours]!([...args, ...extra]) : commands[command]!(args);
      },
    };
    return (await job.addJob(through as unknown as Parameters<Job['addJob']>[0])) as string;
  }

  /** The handler queues a filter covers. */
  private async handlers(filter: JobFilter): Promise<HandlerName[]> {
    const plugins = filter.pluginName !== undefined ? [filter.pluginName] : await this.deps.plugins();
    const all = (await Promise.all(plugins.map((p) => this.deps.handlersOf(p)))).flat();
    return filter.queueName === undefined ? all : all.filter((h) => h.queueName === filter.queueName);
  }

  /** Counts per handler queue: its totals (tenant undefined) and its rows per tenant asked (or all). */
  private async rows(handlers: HandlerName[], tenants: 'all' | string[], now: number): Promise<Row[]> {
    const scripts = this.scripts();
    const due = String((now + 1) * 4096);
    const asked = tenants === 'all' ? [] : tenants.map(escapeKeyPart);
    const replies = await Promise.all(
      handlers.map((h) => {
        const p = this.deps.locate(h).keyPrefix;
        return scripts.ckNativeCounts!(`${p}meta`, p, due, tenants === 'all' ? '1' : '0', ...asked) as Promise<
          (string | number)[]
        >;
      }),
    );
    const rows: Row[] = [];
    handlers.forEach((h, i) => {
      const reply = replies[i]!;
      rows.push({ h, tenant: undefined, all: reply.slice(0, 6).map(Number) as Six });
      for (let k = 6; k + 7 <= reply.length; k += 7) {
        rows.push({
          h,
          tenant: unescapeKeyPart(String(reply[k])),
          all: reply.slice(k + 1, k + 7).map(Number) as Six,
        });
      }
    });
    return rows;
  }

  /** The six counts of the jobs a filter covers. */
  private async sixOf(handlers: HandlerName[], tenantId: string | undefined, now: number): Promise<Six[]> {
    const rows = await this.rows(handlers, tenantId === undefined ? [] : [tenantId], now);
    return handlers.map((h) => rows.find((r) => r.h === h && r.tenant === tenantId)!.all);
  }

  async counts(filter: JobFilter, now: number): Promise<JobCounts> {
    const sum: Six = [0, 0, 0, 0, 0, 0];
    for (const six of await this.sixOf(await this.handlers(filter), filter.tenantId, now))
      six.forEach((n, i) => (sum[i] = sum[i]! + n));
    return countsOf(sum);
  }

  async queueStats(filter: JobFilter, now: number): Promise<QueueCountsRow[]> {
    const rows = await this.rows(
      await this.handlers(filter),
      filter.tenantId === undefined ? 'all' : [filter.tenantId],
      now,
    );
    // Per plugin/queue/tenant: the tenants' rows, and the rest (no tenant) = the totals minus them.
    const merged = new Map<string, { pluginName: string; queueName: string; tenantId?: string; all: Six }>();
    const bucket = (h: HandlerName, tenant: string | undefined) => {
      const key = `${escapeKeyPart(h.pluginName)}:${escapeKeyPart(h.queueName)}:${tenant === undefined ? '' : `t${tenant}`}`;
      let row = merged.get(key);
      if (!row) {
        row = { pluginName: h.pluginName, queueName: h.queueName, all: [0, 0, 0, 0, 0, 0] };
        if (tenant !== undefined) row.tenantId = tenant;
        merged.set(key, row);
      }
      return row;
    };
    for (const row of rows) {
      if (filter.tenantId !== undefined && row.tenant !== filter.tenantId) continue;
      const target = bucket(row.h, row.tenant).all;
      row.all.forEach((n, i) => (target[i] = target[i]! + n));
      if (row.tenant !== undefined && filter.tenantId === undefined) {
        const rest = bucket(row.h, undefined).all;
        row.all.forEach((n, i) => (rest[i] = rest[i]! - n));
      }
    }
    return [...merged.values()]
      .filter((row) => row.all.some((n) => n > 0))
      .map(({ all, ...row }) => ({ ...row, ...countsOf(all) }));
  }

  async list(filter: PageFilter, now: number): Promise<{ records: JobRecord[]; total: number }> {
    const handlers = await this.handlers(filter);
    const [sixes, tops] = await Promise.all([
      this.sixOf(handlers, filter.tenantId, now),
      nativeTops(this.scripts(), this.deps, handlers, filter, now),
    ]);
    const index = STATE_INDEX[filter.state ?? 'waiting'];
    const total = sixes.reduce(
      (sum, six) => sum + (filter.state === undefined ? six.reduce((a, b) => a + b, 0) : six[index]!),
      0,
    );
    return { records: await readNativePage(this.deps, tops, filter), total };
  }

  async clean(
    options: JobFilter & { state: 'completed' | 'failed' | 'cancelled'; finishedBefore: number; limit: number },
  ): Promise<number> {
    const scripts = this.scripts();
    const set = options.state === 'completed' ? 'completed' : 'failed';
    const ab = options.state === 'completed' ? '' : options.state === 'cancelled' ? '1' : '0';
    const tenant = options.tenantId === undefined ? '' : escapeKeyPart(options.tenantId);
    let removed = 0;
    for (const h of await this.handlers(options)) {
      if (removed >= options.limit) break;
      const p = this.deps.locate(h).keyPrefix;
      const left = Math.min(options.limit - removed, Number.MAX_SAFE_INTEGER);
      removed += Number(await scripts.ckNativeClean!(`${p}meta`, p, set, ab, options.finishedBefore, left, tenant));
    }
    return removed;
  }

  async pausedQueues(): Promise<string[]> {
    const queues = new Map<string, HandlerName>();
    for (const h of await this.handlers({}))
      queues.set(`${escapeKeyPart(h.pluginName)}:${escapeKeyPart(h.queueName)}`, h);
    const paused = await Promise.all([...queues.values()].map((h) => this.deps.isPaused(h.pluginName, h.queueName)));
    return [...queues.keys()].filter((_, i) => paused[i]);
  }
}

/** A state's place in the six counts. */
const STATE_INDEX: Record<ManagedJobState, number> = {
  waiting: 0,
  active: 1,
  completed: 2,
  failed: 3,
  delayed: 4,
  cancelled: 5,
};
