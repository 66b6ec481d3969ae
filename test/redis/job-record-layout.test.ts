/**
 * The Redis job store's record hash across layouts: records written before the open attempt got its
 * own field (`ha`, numbered from `an`) — history only in `h`, no `an` — are claimed, taken over and
 * finished as the current layout's are (a rolling deploy meets them), and a finish leaves no open
 * attempt or owner behind in the hash.
 */
import type { JobStore } from 'clusterkit/adapter-kit';
import { createRedisAdapters } from 'clusterkit/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';
import { randomName } from '../helpers.js';
import { jobRecord as record, NOW } from '../jobs/job-record.js';

const target = await resolveRedisUrl();
describe.skipIf('skip' in target)('redis job store: record hash layouts', () => {
  const url = 'url' in target ? target.url : '';
  const prefix = randomName('ckrl');
  const appName = randomName('rl');
  let store: JobStore;
  let raw: Redis;
  const key = (id: string) => `${prefix}:mq:{${appName}}:J:${id}`;
  const asEarlierLayout = (id: string) => raw.hdel(key(id), 'an');
  const claimAt = (nodeId: string, extra: object = {}) => ({ nodeId, now: NOW + 10, handler: 'p:q:j', ...extra });

  beforeAll(async () => {
    raw = new Redis(url);
    store = createRedisAdapters({ url, prefix }).jobStore({ appName });
    await store.connect();
  });
  afterAll(async () => {
    await store.close();
    await deletePrefix(raw, prefix);
    await raw.quit();
    await ('stop' in target ? target.stop?.() : undefined);
  });

  it('an active record of the earlier layout is taken over: its open attempt is marked lost, the next numbered on', async () => {
    const r = record({
      state: 'active',
      owner: 'dead',
      startedAt: NOW,
      attemptsMade: 1,
      attemptsStarted: 2,
      history: [
        { attempt: 1, node: 'x', startedAt: NOW - 5, finishedAt: NOW - 4, outcome: 'failed' },
        { attempt: 2, node: 'dead', startedAt: NOW },
      ],
    });
    expect((await store.create(r)).created).toBe(true);
    await asEarlierLayout(r.id);
    const took = await store.claim({ id: r.id, nonce: 'n1', gen: 0 }, claimAt('b', { takeOverFrom: 'dead' }));
    if (took.type !== 'claimed') throw new Error(took.type);
    expect(took.record.history.map((h) => [h.attempt, h.node, h.outcome])).toEqual([
      [1, 'x', 'failed'],
      [2, 'dead', 'lost'],
      [3, 'b', undefined],
    ]);
    expect(await store.get(r.id)).toMatchObject({ owner: 'b', attemptsStarted: 3, history: took.record.history });
  });

  it('a waiting record of the earlier layout is claimed as attempt 1, and its finish leaves no open attempt behind', async () => {
    const r = record({});
    await store.create(r);
    await asEarlierLayout(r.id);
    const won = await store.claim({ id: r.id, nonce: 'n1', gen: 0 }, claimAt('a'));
    if (won.type !== 'claimed') throw new Error(won.type);
    expect(won.record.history).toEqual([{ attempt: 1, node: 'a', startedAt: NOW + 10 }]);
    const next = structuredClone(won.record);
    Object.assign(next.history[0]!, { finishedAt: NOW + 20, outcome: 'completed' });
    Object.assign(next, { state: 'completed', finishedAt: NOW + 20, attemptsMade: 1, returnValue: 7 });
    delete next.owner;
    expect(
      await store.finish({ id: r.id, nonce: 'n1', gen: 0 }, 'a', next, { remove: false, retentionMs: 3_600_000 }),
    ).toBeTruthy();
    const hash = await raw.hgetall(key(r.id));
    expect(Object.keys(hash)).not.toContain('ha');
    expect(Object.keys(hash)).not.toContain('o');
    expect(await store.get(r.id)).toMatchObject({
      state: 'completed',
      returnValue: 7,
      attemptsMade: 1,
      history: [{ attempt: 1, node: 'a', outcome: 'completed' }],
    });
    expect((await store.get(r.id))!.owner).toBeUndefined();
  });

  it('an outcome written as fields (no record rewrite) reads back whole, and a retry() clears it', async () => {
    const r = record({ maxAttempts: 1 });
    await store.create(r);
    const ref = { id: r.id, nonce: 'n1', gen: 0 };
    const won = await store.claim(ref, claimAt('a'));
    if (won.type !== 'claimed') throw new Error(won.type);
    const next = structuredClone(won.record);
    Object.assign(next.history[0]!, { finishedAt: NOW + 20, outcome: 'failed', error: { message: 'boom' } });
    Object.assign(next, {
      state: 'failed',
      finishedAt: NOW + 20,
      attemptsMade: 1,
      failedReason: 'boom',
      failedCode: 'E_BOOM',
      stacktrace: ['Error: boom'],
    });
    delete next.owner;
    expect(await store.finish(ref, 'a', next, { remove: false, retentionMs: 3_600_000 })).toBeTruthy();
    expect(JSON.parse((await raw.hget(key(r.id), 'r'))!)).toMatchObject({ attemptsMade: 0 });
    const failed = await store.get(r.id);
    expect(failed).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      failedReason: 'boom',
      failedCode: 'E_BOOM',
      stacktrace: ['Error: boom'],
      payload: { x: 1 },
    });
    expect(failed!.returnValue).toBeUndefined();
    expect((await store.retry(r.id, { now: NOW + 30 })).type).toBe('retried');
    const retried = await store.get(r.id);
    expect(retried).toMatchObject({ state: 'waiting', gen: 1, attemptsMade: 0, runAt: NOW + 30 });
    expect(retried!.failedReason).toBeUndefined();
    expect(retried!.failedCode).toBeUndefined();
  });
  it('a new record is written without its start values (h, an, as, pr), reads whole and is claimed as attempt 1', async () => {
    const r = record({ progress: 0 });
    await store.create(r);
    const fields = Object.keys(await raw.hgetall(key(r.id)));
    for (const f of ['h', 'an', 'as', 'pr']) expect(fields).not.toContain(f);
    expect(await store.get(r.id)).toMatchObject({ state: 'waiting', history: [], attemptsStarted: 0, progress: 0 });
    const won = await store.claim({ id: r.id, nonce: 'n1', gen: 0 }, claimAt('a'));
    if (won.type !== 'claimed') throw new Error(won.type);
    expect(won.record).toMatchObject({ attemptsStarted: 1, progress: 0 });
    expect(won.record.history).toEqual([{ attempt: 1, node: 'a', startedAt: NOW + 10 }]);
    expect(await store.get(r.id)).toMatchObject({ attemptsStarted: 1, history: won.record.history });
  });

  it('a new record with progress, and one stored with the start values as fields (the earlier create), read and claim the same', async () => {
    const r = record({ progress: { step: 2 } });
    await store.create(r);
    expect(await raw.hget(key(r.id), 'pr')).toBe('{"step":2}');
    const earlier = record({});
    await store.create(earlier);
    await raw.hset(key(earlier.id), 'h', '[]', 'an', '0', 'as', '0', 'pr', '0');
    expect(await store.get(earlier.id)).toMatchObject({ history: [], attemptsStarted: 0, progress: 0 });
    const won = await store.claim({ id: earlier.id, nonce: 'n1', gen: 0 }, claimAt('a'));
    if (won.type !== 'claimed') throw new Error(won.type);
    expect(won.record.history).toEqual([{ attempt: 1, node: 'a', startedAt: NOW + 10 }]);
    expect(won.record.attemptsStarted).toBe(1);
  });
});
