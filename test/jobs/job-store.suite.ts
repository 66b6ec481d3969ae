/**
 * The job-store contract (src/jobs/job-store.ts), checked directly on a store: every transition's
 * checks and effects, the reads, schedules. A new store (PostgreSQL, ...) passes this suite before the
 * managed-job suites run on it. Each test gets a fresh app name.
 */
import type { JobRecord, JobStore } from 'clusterkit/adapter-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomName } from '../helpers.js';
import { jobRecord, NOW } from './job-record.js';

/** Makes a connected store for `appName`; `dispose` removes what it wrote. */
export interface StoreFactory {
  readonly label: string;
  create(appName: string): Promise<{ store: JobStore; dispose(): Promise<void> }>;
}

/** Payload numbers that must come back exact; the ticket not confirmed yet, as a fresh enqueue leaves it. */
function record(over: Partial<JobRecord> = {}): JobRecord {
  return jobRecord({
    payload: { x: 0.30000000000000004, big: 2 ** 53 - 1 },
    maxAttempts: 3,
    ticketPendingSince: NOW,
    ...over,
  });
}

const ref = (r: JobRecord) => ({ id: r.id, nonce: r.nonce, gen: r.gen });
const claimAt = (nodeId: string, extra: object = {}) => ({ nodeId, now: NOW + 10, handler: 'p:q:j', ...extra });
const keep = { remove: false, retentionMs: 3_600_000 };

export function jobStoreSuite(factory: StoreFactory): void {
  describe(`job-store contract (${factory.label})`, () => {
    let store: JobStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await factory.create(randomName('js')));
    });
    afterEach(async () => {
      await dispose();
    });

    it('create stores a record once (the id dedupe) and keeps every field, payload numbers exact', async () => {
      const r = record({ tenantId: 't1', trace: { traceparent: '00-a-b-01' } });
      expect(await store.create(r)).toMatchObject({ created: true, backlog: 1 });
      const again = await store.create({ ...r, nonce: 'n2', payload: 'other' });
      expect(again.created).toBe(false);
      expect(again.created === false && again.existing.nonce).toBe('n1');
      expect(await store.get(r.id)).toEqual(r);
      expect(await store.get('missing')).toBeUndefined();
    });

    it('claim checks incarnation, generation and due time, and starts an attempt', async () => {
      const r = record();
      await store.create(r);
      expect(await store.claim({ ...ref(r), nonce: 'other' }, claimAt('a'))).toEqual({ type: 'missing' });
      expect((await store.claim({ ...ref(r), gen: 1 }, claimAt('a'))).type).toBe('stale');
      expect(await store.claim(ref(r), { ...claimAt('a'), now: NOW - 1 })).toEqual({ type: 'early', runAt: NOW });
      const won = await store.claim(ref(r), claimAt('a'));
      expect(won.type).toBe('claimed');
      const claimed = won.type === 'claimed' ? won.record : undefined;
      expect(claimed).toMatchObject({ state: 'active', owner: 'a', startedAt: NOW + 10, attemptsStarted: 1 });
      expect(claimed?.ticketPendingSince).toBeUndefined();
      expect(claimed?.history).toEqual([{ attempt: 1, node: 'a', startedAt: NOW + 10 }]);
      expect(await store.claim(ref(r), claimAt('b'))).toEqual({ type: 'owned', owner: 'a' });
      // A ticket without a nonce (from before nonces) matches any incarnation.
      expect(await store.claim({ ...ref(r), nonce: '' }, claimAt('b'))).toEqual({ type: 'owned', owner: 'a' });
    });

    it('takeover is compare-and-set against the dead owner: only one of two contenders wins', async () => {
      const r = record();
      await store.create(r);
      await store.claim(ref(r), claimAt('dead'));
      const [b, c] = await Promise.all([
        store.claim(ref(r), claimAt('b', { takeOverFrom: 'dead' })),
        store.claim(ref(r), claimAt('c', { takeOverFrom: 'dead' })),
      ]);
      expect([b.type, c.type].sort()).toEqual(['claimed', 'owned']);
      const winner = b.type === 'claimed' ? b : c;
      expect(winner.type === 'claimed' && winner.tookOverFrom).toBe('dead');
      const after = await store.get(r.id);
      expect(after!.history.map((h) => h.outcome)).toEqual(['lost', undefined]);
      expect(after!.attemptsStarted).toBe(2);
    });

    it('the history keeps the last 20 attempts, numbered on, across retries, a takeover and a release', async () => {
      const r = record({ maxAttempts: 40 });
      await store.create(r);
      let gen = 0;
      for (let attempt = 1; attempt <= 24; attempt += 1) {
        const won = await store.claim({ ...ref(r), gen }, claimAt('a'));
        if (won.type !== 'claimed') throw new Error(`attempt ${attempt}: ${won.type}`);
        expect(won.record.history).toHaveLength(Math.min(attempt, 20));
        expect(won.record.history.at(-1)).toEqual({ attempt, node: 'a', startedAt: NOW + 10 });
        const next = structuredClone(won.record);
        Object.assign(next.history.at(-1)!, { finishedAt: NOW + 11, outcome: 'failed' });
        Object.assign(next, { gen: gen + 1, state: 'waiting', attemptsMade: attempt, ticketPendingSince: NOW + 11 });
        delete next.owner;
        expect(await store.finish({ ...ref(r), gen }, 'a', next, keep)).toBeTruthy();
        gen += 1;
      }
      await store.claim({ ...ref(r), gen }, claimAt('dead'));
      const took = await store.claim({ ...ref(r), gen }, claimAt('b', { takeOverFrom: 'dead' }));
      if (took.type !== 'claimed') throw new Error(took.type);
      expect(took.record.history.map((h) => h.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 7));
      expect(took.record.history.slice(-2).map((h) => h.outcome)).toEqual(['lost', undefined]);
      expect(await store.release({ ...ref(r), gen }, 'b')).toBe(true);
      expect((await store.get(r.id))!.history.at(-1)).toMatchObject({ attempt: 25, outcome: 'lost' });
      const again = await store.claim({ ...ref(r), gen }, claimAt('c'));
      if (again.type !== 'claimed') throw new Error(again.type);
      expect(again.record.history.map((h) => h.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 7));
      expect(again.record.history.at(-1)).toEqual({ attempt: 26, node: 'c', startedAt: NOW + 10 });
      expect(await store.get(r.id)).toMatchObject({ state: 'active', owner: 'c', history: again.record.history });
    });

    it('a burst of concurrent transitions: each is atomic on its own and each caller gets its own reply', async () => {
      // On Redis these leave as batches (script-batcher.ts): contenders for one id share a batch.
      const records = Array.from({ length: 40 }, (_, i) => record({ id: `burst-${i}`, nonce: `n${i}` }));
      const created = await Promise.all([
        ...records.map((r) => store.create(r)),
        store.create({ ...records[3]!, nonce: 'dup' }),
      ]);
      expect(created.filter((c) => c.created)).toHaveLength(40);
      // The two creates of burst-3 race (on a pooled backend either may reach it first): exactly one
      // is created, the other answers with the winner's record; the winner is what runs below.
      const contest = [created[3]!, created[40]!];
      expect(contest.filter((c) => c.created)).toHaveLength(1);
      const winner = created[3]!.created ? 'n3' : 'dup';
      expect(contest.find((c) => !c.created)).toMatchObject({ created: false, existing: { nonce: winner } });
      if (winner === 'dup') records[3] = { ...records[3]!, nonce: 'dup' };
      const claims = await Promise.all(
        records.flatMap((r) => [store.claim(ref(r), claimAt('a')), store.claim(ref(r), claimAt('b'))]),
      );
      for (let i = 0; i < records.length; i += 1) {
        const pair = [claims[2 * i]!.type, claims[2 * i + 1]!.type].sort();
        expect(pair).toEqual(['claimed', 'owned']);
      }
      const owners = records.map((_, i) => (claims[2 * i]!.type === 'claimed' ? 'a' : 'b'));
      const finished = await Promise.all(
        records.flatMap((r, i) => [
          store.finish(ref(r), owners[i]!, { ...r, state: 'completed', finishedAt: NOW + 20 }, keep),
          store.finish(ref(r), owners[i] === 'a' ? 'b' : 'a', { ...r, state: 'failed', finishedAt: NOW + 20 }, keep),
        ]),
      );
      expect(finished.filter(Boolean)).toHaveLength(40);
      // Written (true, or 'unwatched' on a store with `watch`: nobody waits for these jobs).
      for (let i = 0; i < records.length; i += 1) expect(finished[2 * i]).toBeTruthy();
      const after = await Promise.all(records.map((r) => store.get(r.id)));
      expect(after.map((r) => r?.state)).toEqual(records.map(() => 'completed'));
    });

    it('park marks a waiting generation "ticket pending, parked by" a node; the claim clears it', async () => {
      const r = record({ ticketPendingSince: undefined });
      await store.create(r);
      expect(await store.park({ ...ref(r), gen: 1 }, 'x', NOW + 1)).toBe(false);
      expect(await store.park(ref(r), 'x', NOW + 1)).toBe(true);
      expect(await store.get(r.id)).toMatchObject({ parkedBy: 'x', ticketPendingSince: NOW + 1 });
      expect((await store.pendingTickets(NOW + 1, 10)).map((p) => p.parkedBy)).toEqual(['x']);
      await store.claim(ref(r), claimAt('x'));
      const claimed = await store.get(r.id);
      expect(claimed!.parkedBy).toBeUndefined();
      expect(await store.pendingTickets(NOW + 1, 10)).toEqual([]);
      expect(await store.park(ref(r), 'x', NOW + 2)).toBe(false);
    });

    it('a ticket confirmed after a node parked it keeps the park mark; a republish of a parked job clears only its own', async () => {
      // Two-step enqueue: the ticket reached a node and was parked before its publisher confirmed it.
      const r = record();
      await store.create(r);
      expect(await store.park(ref(r), 'x', NOW + 1)).toBe(true);
      await store.ticketSent(ref(r));
      expect(await store.get(r.id)).toMatchObject({ parkedBy: 'x', ticketPendingSince: NOW + 1 });
      // The reconciler republishes x's parked job (x died); y parks the new ticket before the confirmation.
      expect(await store.park(ref(r), 'y', NOW + 2)).toBe(true);
      await store.ticketSent(ref(r), 'x');
      expect(await store.get(r.id)).toMatchObject({ parkedBy: 'y', ticketPendingSince: NOW + 2 });
      // A confirmation naming the park it replaces clears it.
      await store.ticketSent(ref(r), 'y');
      const sent = await store.get(r.id);
      expect(sent!.parkedBy).toBeUndefined();
      expect(sent!.ticketPendingSince).toBeUndefined();
      expect(await store.pendingTickets(NOW + 10, 10)).toEqual([]);
    });

    it('claim refuses paused queues, a full global concurrency and a spent rate window without spending it', async () => {
      const [a, b, c] = [record(), record(), record()];
      for (const r of [a, b, c]) await store.create(r);
      await store.setPaused('p', 'q', true);
      expect(await store.pausedQueues()).toEqual(['p:q']);
      expect(await store.claim(ref(a), claimAt('n'))).toEqual({ type: 'paused' });
      await store.setPaused('p', 'q', false);
      const rateLimit = { max: 1, durationMs: 3_600_000 };
      expect((await store.claim(ref(a), claimAt('n', { globalConcurrency: 1, rateLimit }))).type).toBe('claimed');
      expect(await store.claim(ref(b), claimAt('n', { globalConcurrency: 1, rateLimit }))).toEqual({ type: 'busy' });
      const rated = await store.claim(ref(b), claimAt('n', { globalConcurrency: 2, rateLimit }));
      expect(rated.type).toBe('rate');
      // Refused claims spent nothing: the window still has room for none but the first start, and a
      // stale ticket (finished job) spends nothing either.
      await store.finish(ref(a), 'n', { ...a, state: 'completed', finishedAt: NOW + 20 }, keep);
      expect((await store.claim(ref(a), claimAt('n', { rateLimit: { max: 2, durationMs: 3_600_000 } }))).type).toBe(
        'finished',
      );
      expect((await store.claim(ref(c), claimAt('n', { rateLimit: { max: 2, durationMs: 3_600_000 } }))).type).toBe(
        'claimed',
      );
    });

    it('with watch: an end nobody watches is answered "unwatched", a watched one true, a retry true', async ({
      skip,
    }) => {
      if (!store.watch) skip('this store announces every end');
      const [a, b, c] = [record(), record(), record()];
      for (const r of [a, b, c]) {
        await store.create(r);
        await store.claim(ref(r), claimAt('n'));
      }
      await store.watch!(b.id, 60_000);
      const done = (r: JobRecord) => ({ ...r, state: 'completed' as const, finishedAt: NOW + 20 });
      expect(await store.finish(ref(a), 'n', done(a), keep)).toBe('unwatched');
      expect(await store.finish(ref(b), 'n', done(b), keep)).toBe(true);
      const retry = { ...c, gen: 1, state: 'waiting' as const, attemptsMade: 1, ticketPendingSince: NOW + 30 };
      expect(await store.finish(ref(c), 'n', retry, keep)).toBe(true);
    });

    it('finish writes only while the owner still owns the generation; release undoes an unstarted claim', async () => {
      const r = record();
      await store.create(r);
      await store.claim(ref(r), claimAt('a'));
      expect(await store.finish(ref(r), 'b', { ...r, state: 'completed' }, keep)).toBe(false);
      expect(await store.release(ref(r), 'a')).toBe(true);
      expect(await store.get(r.id)).toMatchObject({ state: 'waiting', attemptsStarted: 0, history: [] });
      await store.claim(ref(r), claimAt('a'));
      const next = { ...r, gen: 1, state: 'waiting' as const, attemptsMade: 1, ticketPendingSince: NOW + 30 };
      expect(await store.finish(ref(r), 'a', next, keep)).toBe(true);
      expect(await store.get(r.id)).toMatchObject({ gen: 1, state: 'waiting', ticketPendingSince: NOW + 30 });
      expect((await store.pendingTickets(NOW + 30, 10)).map((x) => x.id)).toEqual([r.id]);
      await store.ticketSent({ ...ref(r), gen: 1 });
      expect(await store.pendingTickets(NOW + 30, 10)).toEqual([]);
    });

    it('cancel: waiting is cancelled; active gets an abort request for its generation only', async () => {
      const [w, act] = [record(), record()];
      await store.create(w);
      await store.create(act);
      const options = { abortActive: false, now: NOW + 5, failedRetentionMs: 60_000 };
      expect((await store.cancel(w.id, options)).type).toBe('cancelled');
      expect((await store.cancel(w.id, { ...options, tenantId: 'other' })).type).toBe('not_found');
      await store.claim(ref(act), claimAt('a'));
      expect((await store.cancel(act.id, options)).type).toBe('active');
      expect((await store.cancel(act.id, { ...options, abortActive: true })).type).toBe('abort-requested');
      expect((await store.get(act.id))!.abortRequested).toBe(true);
      // The request ends with the generation.
      await store.finish(ref(act), 'a', { ...act, gen: 1, state: 'waiting', attemptsMade: 1 }, keep);
      expect((await store.get(act.id))!.abortRequested).toBeUndefined();
    });

    it('retry runs a failed job as the next generation with a fresh budget; other states refuse', async () => {
      const r = record();
      await store.create(r);
      expect(await store.retry(r.id, { now: NOW })).toEqual({ type: 'waiting' });
      await store.claim(ref(r), claimAt('a'));
      await store.finish(
        ref(r),
        'a',
        { ...r, state: 'failed', attemptsMade: 3, finishedAt: NOW + 1, failedReason: 'x' },
        keep,
      );
      const retried = await store.retry(r.id, { now: NOW + 2 });
      expect(retried.type).toBe('retried');
      expect(await store.get(r.id)).toMatchObject({
        gen: 1,
        state: 'waiting',
        attemptsMade: 0,
        ticketPendingSince: NOW + 2,
      });
      expect((await store.get(r.id))!.failedReason).toBeUndefined();
    });

    it('discard (operator remove) deletes any job but a running one, logs included; tenant-checked', async () => {
      const [w, act, done] = [record({ tenantId: 't1' }), record(), record()];
      for (const r of [w, act, done]) await store.create(r);
      expect(await store.discard(w.id, { tenantId: 't2' })).toEqual({ type: 'not_found' });
      expect((await store.discard(w.id, { tenantId: 't1' })).type).toBe('removed');
      expect(await store.get(w.id)).toBeUndefined();
      // Its ticket finds nothing now.
      expect(await store.claim(ref(w), claimAt('a'))).toEqual({ type: 'missing' });
      await store.claim(ref(act), claimAt('a'));
      await store.appendLog(ref(act), 'a', 'line', 10);
      expect(await store.discard(act.id, {})).toEqual({ type: 'active' });
      await store.finish(ref(act), 'a', { ...act, state: 'completed', finishedAt: NOW + 20 }, keep);
      expect((await store.discard(act.id, {})).type).toBe('removed');
      expect(await store.getLogs(act.id)).toEqual([]);
      expect(await store.counts({}, NOW + 100)).toEqual({ waiting: 1, active: 0, completed: 0, failed: 0, delayed: 0 });
      expect(await store.discard('missing', {})).toEqual({ type: 'not_found' });
    });

    it('discard and a claim racing for one job: exactly one wins, never both', async () => {
      for (let round = 0; round < 10; round += 1) {
        const r = record();
        await store.create(r);
        const [discarded, claimed] = await Promise.all([store.discard(r.id, {}), store.claim(ref(r), claimAt('a'))]);
        // Either the removal came first (the ticket finds nothing) or the start did (the removal is refused).
        if (discarded.type === 'removed') expect(claimed).toEqual({ type: 'missing' });
        else expect([discarded.type, claimed.type]).toEqual(['active', 'claimed']);
        expect((await store.get(r.id))?.state).toBe(claimed.type === 'claimed' ? 'active' : undefined);
      }
    });

    it('promote runs a delayed job now as its next generation (attempts kept); the delayed ticket turns stale', async () => {
      const r = record({ state: 'delayed', runAt: NOW + 60_000, ticketPendingSince: undefined, tenantId: 't1' });
      const history = [{ attempt: 1, node: 'a', startedAt: NOW - 5, finishedAt: NOW - 4, outcome: 'failed' as const }];
      await store.create({ ...r, attemptsMade: 1, attemptsStarted: 1, history });
      expect(await store.promote(r.id, { now: NOW + 10, tenantId: 't2' })).toEqual({ type: 'not_found' });
      const promoted = await store.promote(r.id, { now: NOW + 10 });
      expect(promoted.type).toBe('promoted');
      const after = await store.get(r.id);
      expect(after).toMatchObject({ gen: 1, state: 'waiting', runAt: NOW + 10, ticketPendingSince: NOW + 10 });
      expect(after).toMatchObject({ attemptsMade: 1, attemptsStarted: 1, history });
      expect((await store.pendingTickets(NOW + 10, 10)).map((p) => p.id)).toEqual([r.id]);
      expect(await store.counts({}, NOW + 10)).toMatchObject({ waiting: 1, delayed: 0 });
      expect((await store.claim(ref(r), claimAt('a', { now: NOW + 60_000 }))).type).toBe('stale');
      expect(await store.promote(r.id, { now: NOW + 11 })).toEqual({ type: 'waiting' });
      expect((await store.claim({ ...ref(r), gen: 1 }, claimAt('a'))).type).toBe('claimed');
      expect(await store.promote(r.id, { now: NOW + 12 })).toEqual({ type: 'active' });
      expect(await store.promote('missing', { now: NOW })).toEqual({ type: 'not_found' });
      // A delayed job whose time has come reads as waiting: nothing to promote.
      const due = record({ state: 'delayed', runAt: NOW + 5 });
      await store.create(due);
      expect(await store.promote(due.id, { now: NOW + 6 })).toEqual({ type: 'waiting' });
    });

    it('promote and a claim racing for one delayed job: exactly one wins, never both', async () => {
      for (let round = 0; round < 10; round += 1) {
        const r = record({ state: 'delayed', runAt: NOW + 1_000 });
        await store.create(r);
        // The claiming node's clock says the job is due; the promoting node's says it is not yet.
        const [promoted, claimed] = await Promise.all([
          store.promote(r.id, { now: NOW + 10 }),
          store.claim(ref(r), claimAt('a', { now: NOW + 2_000 })),
        ]);
        expect(promoted.type === 'promoted').toBe(claimed.type !== 'claimed');
        expect(await store.get(r.id)).toMatchObject(
          claimed.type === 'claimed' ? { gen: 0, state: 'active' } : { gen: 1, state: 'waiting' },
        );
        if (claimed.type !== 'claimed') expect(promoted.type).toBe('promoted');
        else expect(promoted).toEqual({ type: 'active' });
      }
    });

    it('logs are kept for the owner only, bounded, and removed with the record', async () => {
      const r = record();
      await store.create(r);
      await store.claim(ref(r), claimAt('a'));
      expect(await store.appendLog(ref(r), 'b', 'intruder', 3)).toBe(false);
      for (const line of ['1', '2', '3', '4']) expect(await store.appendLog(ref(r), 'a', line, 3)).toBe(true);
      expect(await store.getLogs(r.id)).toEqual(['2', '3', '4']);
      expect(await store.setProgress(ref(r), 'a', { step: 2 })).toBe(true);
      expect((await store.get(r.id))!.progress).toEqual({ step: 2 });
      expect(await store.remove(r.id)).toBe(true);
      expect(await store.getLogs(r.id)).toEqual([]);
    });

    it('lists newest first with counts by state and per logical queue; clean and sweep delete finished records', async () => {
      const rs = [0, 1, 2, 3].map((i) => record({ enqueuedAt: NOW + i, tenantId: i % 2 ? 'odd' : 'even' }));
      for (const r of rs) await store.create(r);
      await store.create(record({ enqueuedAt: NOW + 9, runAt: NOW + 1_000_000, state: 'delayed', queueName: 'later' }));
      await store.claim(ref(rs[0]!), claimAt('a'));
      await store.finish(ref(rs[0]!), 'a', { ...rs[0]!, state: 'completed', finishedAt: NOW + 50 }, keep);
      const now = NOW + 100;
      expect(await store.counts({}, now)).toEqual({ waiting: 3, active: 0, completed: 1, failed: 0, delayed: 1 });
      expect(await store.counts({ tenantId: 'odd' }, now)).toMatchObject({ waiting: 2 });
      const page = await store.list({ state: 'waiting', offset: 1, limit: 1 }, now);
      expect(page.total).toBe(3);
      expect(page.records.map((r) => r.id)).toEqual([rs[2]!.id]);
      expect((await store.list({ offset: 0, limit: 10 }, now)).total).toBe(5);
      const rows = await store.queueStats({}, now);
      expect(rows.find((row) => row.queueName === 'later')).toMatchObject({ delayed: 1 });
      expect(await store.clean({ state: 'completed', finishedBefore: NOW + 40, limit: 10 })).toBe(0);
      expect(await store.clean({ state: 'completed', finishedBefore: NOW + 60, limit: 10 })).toBe(1);
      await store.claim(ref(rs[1]!), claimAt('a'));
      await store.finish(
        ref(rs[1]!),
        'a',
        { ...rs[1]!, state: 'failed', finishedAt: NOW },
        { remove: false, retentionMs: 1 },
      );
      await store.sweep(Date.now() + 10, 100);
      expect(await store.get(rs[1]!.id)).toBeUndefined();
    });

    it("schedules: another plugin's or tenant's schedule is never replaced (TENANT_MISMATCH); ticks are monotonic", async () => {
      const base = {
        scheduleId: 's1',
        pluginName: 'p',
        queueName: 'q',
        jobName: 'j',
        everyMs: 1000,
        payload: 1,
        createdAt: NOW,
      };
      await store.saveSchedule({ ...base, tenantId: 'A' });
      await expect(store.saveSchedule({ ...base, tenantId: 'B', payload: 2 })).rejects.toMatchObject({
        code: 'TENANT_MISMATCH',
      });
      await expect(store.saveSchedule({ ...base, tenantId: 'A', pluginName: 'other' })).rejects.toMatchObject({
        code: 'TENANT_MISMATCH',
      });
      expect(await store.markTick('s1', 5)).toBe(true);
      expect(await store.markTick('s1', 5)).toBe(false);
      expect(await store.markTick('s1', 4)).toBe(false);
      await store.saveSchedule({ ...base, tenantId: 'A', payload: 3 });
      expect(await store.listSchedules()).toEqual([{ ...base, tenantId: 'A', payload: 3, lastTick: 5 }]);
      expect(await store.removeSchedule('s1', 'B')).toBe(false);
      expect(await store.removeSchedule('s1', 'A')).toBe(true);
      expect(await store.markTick('s1', 6)).toBe(false);
    });
  });
}
