/**
 * A page of `listJobs` on the native engine (native-job-queries.ts): per handler queue its newest
 * `offset + limit` jobs of the filter (Lua: native-query-scripts.ts `NATIVE_TOP_LUA`, or
 * `NATIVE_TENANT_TOP_LUA` walking a tenant's index), merged newest first, and the page's jobs read
 * with one pipelined read per handler queue (one hash slot each, as a Redis Cluster needs).
 */
import { escapeKeyPart, type JobFilter, type JobRecord, type ManagedJobState } from 'clusterkit/adapter-kit';
import type { RedisClient } from './connection.js';
import { readNativeJobs, type Located } from './native-job-reads.js';
import { generatedIdPrefix, publicIdWith, type HandlerName } from './native-job-shape.js';

/** The engine's read scripts as commands defined on its connection (native-job-queries.ts). */
export type Scripted = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/** What `listJobs` asks for. */
export type PageFilter = JobFilter & { state?: ManagedJobState; offset: number; limit: number };

/** One job a top walk found: its handler, BullMQ id, enqueue time, and BullMQ key (the tie-break). */
export interface Top {
  readonly h: HandlerName;
  readonly bullId: string;
  readonly at: number;
  readonly id: string;
}

/** Where the page's jobs live. */
export interface PageDeps {
  client(): RedisClient;
  locate(handler: HandlerName): Omit<Located, 'bullId'>;
}

/**
 * Per handler queue, its newest `offset + limit` jobs of the filter. Without a tenant the queues
 * are read one after another, each told the K-th newest enqueue time found so far (a job older
 * than that cannot make the page), so later queues stop early.
 */
export async function nativeTops(
  scripts: Scripted,
  deps: PageDeps,
  handlers: HandlerName[],
  filter: PageFilter,
  now: number,
): Promise<Top[][]> {
  const due = String((now + 1) * 4096);
  const k = filter.offset + filter.limit;
  const want = filter.state ?? '';
  const parse = (h: HandlerName, p: string, reply: string[]) => {
    const out: Top[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const bullId = reply[i]!;
      out.push({ h, bullId, at: Number(reply[i + 1]), id: `${p}${bullId}` });
    }
    return out;
  };
  if (filter.tenantId !== undefined) {
    const tenant = escapeKeyPart(filter.tenantId);
    return Promise.all(
      handlers.map(async (h) => {
        const p = deps.locate(h).keyPrefix;
        return parse(h, p, (await scripts.ckNativeTenantTop!(`${p}meta`, p, due, k, want, tenant)) as string[]);
      }),
    );
  }
  const all: Top[][] = [];
  let newest: number[] = [];
  for (const h of handlers) {
    const p = deps.locate(h).keyPrefix;
    const floor = newest.length >= k ? newest[k - 1]! : 0;
    const found = parse(h, p, (await scripts.ckNativeTop!(`${p}meta`, p, due, k, want, floor)) as string[]);
    all.push(found);
    newest = [...newest, ...found.map((c) => c.at)].sort((a, b) => b - a).slice(0, k);
  }
  return all;
}

/** The page of `filter` from the queues' tops: merged newest first, then read (jobs gone meanwhile left out). */
export async function readNativePage(deps: PageDeps, tops: Top[][], filter: PageFilter): Promise<JobRecord[]> {
  const page = tops
    .flat()
    .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(filter.offset, filter.offset + filter.limit);
  // One pipelined read per handler queue (one hash slot each, as a Redis Cluster needs), in parallel.
  const byQueue = new Map<string, { jobId: string; at: Located; place: number }[]>();
  page.forEach(({ h, bullId }, place) => {
    const at = { ...deps.locate(h), bullId };
    const group = byQueue.get(at.keyPrefix) ?? [];
    group.push({ jobId: publicIdWith(generatedIdPrefix(h), bullId), at, place });
    byQueue.set(at.keyPrefix, group);
  });
  const found: (Awaited<ReturnType<typeof readNativeJobs>>[number] | undefined)[] = [];
  await Promise.all(
    [...byQueue.values()].map(async (group) => {
      const read = await readNativeJobs(deps.client(), group);
      group.forEach(({ place }, i) => (found[place] = read[i]));
    }),
  );
  return found.flatMap((f) => (f ? [f.record] : []));
}
