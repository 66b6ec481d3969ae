/**
 * Pub/sub and sync-message conformance: the public API of `app.pubSubManager`,
 * `app.syncMessageManager` and plugins' sync messages, run unchanged on every backend.
 *
 * No fixed sleeps. To prove a message was NOT delivered, a later "marker" is sent on a path that
 * is ordered after it (same channel, sent once the message was seen elsewhere), the marker is
 * awaited, and only then is the absence asserted.
 */
import { ErrorCodes, Plugin, type App, type PluginOptions, type Transaction } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counter, deferred, randomName, within } from '../helpers.js';
import type { ClusterFactory, TestCluster } from './cluster.js';
import { startNodes } from './start-nodes.js';

const DEADLINE_MS = 10_000;
/** Long enough that back-to-back publishes land inside one quiet period on any backend. */
const DEBOUNCE_MS = 400;

/** Records what a handler receives and waits for what it should receive. */
class Inbox {
  readonly messages: unknown[] = [];
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];

  /** The handler to subscribe. */
  readonly handler = (message: unknown): void => {
    this.messages.push(message);
    for (const waiter of [...this.waiters]) {
      if (waiter.test()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  /** Resolves once a received message deep-equals `message`. */
  receive(message: unknown, what = `receive ${JSON.stringify(message)}`): Promise<void> {
    return this.until(() => this.messages.some((m) => equal(m, message)), what);
  }

  /** Resolves once `n` messages have arrived. */
  count(n: number, what = `receive ${n} messages`): Promise<void> {
    return this.until(() => this.messages.length >= n, what);
  }

  has(message: unknown): boolean {
    return this.messages.some((m) => equal(m, message));
  }

  private until(test: () => boolean, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    const d = deferred();
    this.waiters.push({ test, resolve: d.resolve });
    return within(d.promise, DEADLINE_MS, what);
  }
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A transaction in the shape Sequelize gives: callbacks registered with afterCommit run on commit only. */
function fakeTransaction() {
  const callbacks: (() => unknown)[] = [];
  const tx: Transaction & { commit(): Promise<void>; rollback(): void } = {
    afterCommit(callback) {
      callbacks.push(callback);
    },
    async commit() {
      for (const callback of callbacks.splice(0)) await callback();
    },
    rollback() {
      callbacks.length = 0;
    },
  };
  return tx;
}

/** A plugin that records the sync messages it receives. */
class NotesPlugin extends Plugin<PluginOptions & { inbox: Inbox }> {
  static override pluginName = 'notes';
  override async handleSyncMessage(message: unknown): Promise<void> {
    this.options.inbox.handler(message);
  }
}

/** A plugin that records sync messages and tells when its `beforeStop` hook has run. */
class StoppingPlugin extends Plugin<PluginOptions & { inbox: Inbox; stopped: () => void }> {
  static override pluginName = 'stopping';
  override async handleSyncMessage(message: unknown): Promise<void> {
    this.options.inbox.handler(message);
  }
  override async beforeStop(): Promise<void> {
    this.options.stopped();
  }
}

/** Runs the pub/sub conformance cases against `factory`'s backend. */
export function pubSubSuite(factory: ClusterFactory): void {
  describe(`pub/sub conformance (${factory.label})`, () => {
    let cluster: TestCluster;
    let channel: string;

    beforeEach(() => {
      cluster = factory.create();
      channel = randomName('ch');
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    /** Starts `n` nodes of the cluster. */
    const nodes = (n: number): Promise<App[]> => startNodes(cluster, n);

    /** Subscribes a fresh inbox on each app. */
    async function inboxes(apps: App[], ch = channel): Promise<Inbox[]> {
      return Promise.all(
        apps.map(async (app) => {
          const inbox = new Inbox();
          await app.pubSubManager.subscribe(ch, inbox.handler);
          return inbox;
        }),
      );
    }

    it('fans a message out to every other node', async () => {
      const [a, b, c] = await nodes(3);
      const [, ib, ic] = await inboxes([a!, b!, c!]);
      await a!.pubSubManager.publish(channel, { hello: 'world' });
      await Promise.all([ib!.receive({ hello: 'world' }), ic!.receive({ hello: 'world' })]);
    });

    it('skips the publisher by default (skipSelf: true)', async () => {
      const [a, b, c] = await nodes(3);
      const [ia, ib, ic] = await inboxes([a!, b!, c!]);
      await a!.pubSubManager.publish(channel, 'x');
      await Promise.all([ib!.receive('x'), ic!.receive('x')]);
      // B saw 'x', so its marker is ordered after 'x' on the channel: once A has the marker,
      // A would already have had 'x'.
      await b!.pubSubManager.publish(channel, 'marker');
      await ia!.receive('marker');
      expect(ia!.messages).toEqual(['marker']);
    });

    it('delivers to the publisher too with skipSelf: false', async () => {
      const [a, b] = await nodes(2);
      const [ia, ib] = await inboxes([a!, b!]);
      await a!.pubSubManager.publish(channel, 'x', { skipSelf: false });
      await Promise.all([ia!.receive('x'), ib!.receive('x')]);
      // Exactly once on the publisher: the local copy, not the local copy plus the broker's echo.
      await b!.pubSubManager.publish(channel, 'marker');
      await ia!.receive('marker');
      expect(ia!.messages).toEqual(['x', 'marker']);
    });

    it('delivers only to the publisher with onlySelf: true', async () => {
      const [a, b, c] = await nodes(3);
      const [ia, ib, ic] = await inboxes([a!, b!, c!]);
      await a!.pubSubManager.publish(channel, 'mine', { onlySelf: true });
      await ia!.receive('mine');
      await a!.pubSubManager.publish(channel, 'marker');
      await Promise.all([ib!.receive('marker'), ic!.receive('marker')]);
      expect(ib!.messages).toEqual(['marker']);
      expect(ic!.messages).toEqual(['marker']);
    });

    it('calls every handler subscribed on a channel, once per handler', async () => {
      const [a, b] = await nodes(2);
      const first = new Inbox();
      const second = new Inbox();
      await b!.pubSubManager.subscribe(channel, first.handler);
      await b!.pubSubManager.subscribe(channel, second.handler);
      await b!.pubSubManager.subscribe(channel, first.handler); // the same handler again: still one subscription
      await a!.pubSubManager.publish(channel, 1);
      await a!.pubSubManager.publish(channel, 2);
      await Promise.all([first.receive(2), second.receive(2)]);
      expect(first.messages).toEqual([1, 2]);
      expect(second.messages).toEqual([1, 2]);
    });

    it("delivers one publisher's awaited publishes on a channel in publish order", async () => {
      // On a Redis Cluster, PUBLISH reached a random master per call and the other masters forwarded
      // it over the cluster bus, so a later publish could overtake an earlier one.
      const [a, b] = await nodes(2);
      const inbox = new Inbox();
      await b!.pubSubManager.subscribe(channel, inbox.handler);
      const sent = Array.from({ length: 60 }, (_, i) => i);
      for (const i of sent) await a!.pubSubManager.publish(channel, i);
      await inbox.count(sent.length);
      expect(inbox.messages).toEqual(sent);
    });

    it('stops delivering to an unsubscribed handler', async () => {
      const [a, b] = await nodes(2);
      const gone = new Inbox();
      const kept = new Inbox();
      await b!.pubSubManager.subscribe(channel, gone.handler);
      await b!.pubSubManager.subscribe(channel, kept.handler);
      await a!.pubSubManager.publish(channel, 'before');
      await Promise.all([gone.receive('before'), kept.receive('before')]);
      await b!.pubSubManager.unsubscribe(channel, gone.handler);
      await a!.pubSubManager.publish(channel, 'after');
      await kept.receive('after');
      expect(gone.messages).toEqual(['before']);
    });

    it('stops delivering to a node once its last handler is unsubscribed', async () => {
      const [a, b, c] = await nodes(3);
      const [, ib, ic] = await inboxes([a!, b!, c!]);
      const other = randomName('ch');
      const [bOther] = await inboxes([b!], other);
      await b!.pubSubManager.unsubscribe(channel, ib!.handler);
      await a!.pubSubManager.publish(channel, 'after');
      await ic!.receive('after');
      await c!.pubSubManager.publish(other, 'marker');
      await bOther!.receive('marker');
      expect(ib!.messages).toEqual([]);
    });

    it('debounces identical messages into one call at the end of the quiet period', async () => {
      const [a, b] = await nodes(2);
      const debounced = new Inbox();
      const plain = new Inbox();
      await b!.pubSubManager.subscribe(channel, debounced.handler, { debounce: DEBOUNCE_MS });
      await b!.pubSubManager.subscribe(channel, plain.handler);
      for (const message of [{ id: 1 }, { id: 1 }, { id: 2 }, { id: 1 }, { id: 2 }]) {
        await a!.pubSubManager.publish(channel, message);
      }
      await plain.count(5);
      // Every message has arrived and the quiet period has only just begun.
      expect(debounced.messages).toEqual([]);
      await Promise.all([debounced.receive({ id: 1 }), debounced.receive({ id: 2 })]);
      // A later burst proves no second call for ids 1 and 2 was still pending.
      await a!.pubSubManager.publish(channel, { id: 3 });
      await debounced.receive({ id: 3 });
      expect(debounced.messages).toHaveLength(3);
      expect(debounced.messages).toEqual(expect.arrayContaining([{ id: 1 }, { id: 2 }, { id: 3 }]));
    });

    it('keeps apps with different names apart on the same backend', async () => {
      const otherName = randomName('ck');
      const [a1, a2] = await nodes(2);
      const z1 = cluster.node({ name: otherName });
      const z2 = cluster.node({ name: otherName });
      await Promise.all([z1.start(), z2.start()]);
      const [ia2, iz1] = await inboxes([a2!, z1]);
      await a1!.pubSubManager.publish(channel, 'for-app-a');
      await ia2!.receive('for-app-a');
      await z2.pubSubManager.publish(channel, 'for-app-z');
      await iz1!.receive('for-app-z');
      expect(iz1!.messages).toEqual(['for-app-z']);
      expect(ia2!.messages).toEqual(['for-app-a']);
    });

    it('activates subscriptions made before start() when the app starts', async () => {
      const a = cluster.node();
      const b = cluster.node();
      const ib = new Inbox();
      await b.pubSubManager.subscribe(channel, ib.handler);
      expect(b.pubSubManager.isConnected()).toBe(false);
      await Promise.all([a.start(), b.start()]);
      await a.pubSubManager.publish(channel, 'hello');
      await ib.receive('hello');
    });

    it('round-trips every JSON message type', async () => {
      const [a, b] = await nodes(2);
      const [, ib] = await inboxes([a!, b!]);
      const values = [{ nested: { list: [1, 'two', null] } }, [1, [2, 3]], 'text', '', 42, -1.5, 0, null, true, false];
      for (const value of values) await a!.pubSubManager.publish(channel, value);
      await ib!.count(values.length);
      expect(ib!.messages).toHaveLength(values.length);
      expect(ib!.messages).toEqual(expect.arrayContaining(values));
    });

    it('refuses bad input at the call with a stable code', async () => {
      const app = cluster.node({ maxPayloadBytes: 1024 });
      const handler = () => {};
      await expect(app.pubSubManager.publish(channel, 'early')).rejects.toMatchObject({
        code: ErrorCodes.NOT_CONNECTED,
      });
      await app.start();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const psm = app.pubSubManager;
      const cases: [string, () => Promise<unknown>, string][] = [
        ['empty channel', () => psm.publish('', 1), ErrorCodes.INVALID_NAME],
        ['whitespace channel', () => psm.subscribe('  ', handler), ErrorCodes.INVALID_NAME],
        ['non-string channel', () => psm.publish(42 as never, 1), ErrorCodes.INVALID_NAME],
        ['control character', () => psm.unsubscribe('a\nb', handler), ErrorCodes.INVALID_NAME],
        ['function message', () => psm.publish(channel, () => 1), ErrorCodes.INVALID_PAYLOAD],
        ['BigInt message', () => psm.publish(channel, { n: 1n }), ErrorCodes.INVALID_PAYLOAD],
        ['cyclic message', () => psm.publish(channel, cyclic), ErrorCodes.INVALID_PAYLOAD],
        ['undefined message', () => psm.publish(channel, undefined), ErrorCodes.INVALID_PAYLOAD],
        ['NaN message', () => psm.publish(channel, NaN), ErrorCodes.INVALID_PAYLOAD],
        ['oversized message', () => psm.publish(channel, 'x'.repeat(2048)), ErrorCodes.PAYLOAD_TOO_LARGE],
        [
          'unknown publish option',
          () => psm.publish(channel, 1, { skipself: true } as never),
          ErrorCodes.UNKNOWN_OPTION,
        ],
        ['non-boolean skipSelf', () => psm.publish(channel, 1, { skipSelf: 'no' as never }), ErrorCodes.INVALID_OPTION],
        ['non-boolean onlySelf', () => psm.publish(channel, 1, { onlySelf: 1 as never }), ErrorCodes.INVALID_OPTION],
        ['handler not a function', () => psm.subscribe(channel, 'h' as never), ErrorCodes.INVALID_ARGUMENT],
        ['negative debounce', () => psm.subscribe(channel, handler, { debounce: -5 }), ErrorCodes.INVALID_OPTION],
        ['NaN debounce', () => psm.subscribe(channel, handler, { debounce: NaN }), ErrorCodes.INVALID_OPTION],
        [
          'unknown subscribe option',
          () => psm.subscribe(channel, handler, { wait: 5 } as never),
          ErrorCodes.UNKNOWN_OPTION,
        ],
        ['sync: empty channel', () => app.syncMessageManager.publish('', 1), ErrorCodes.INVALID_NAME],
        ['sync: bad message', () => app.syncMessageManager.publish(channel, 1n), ErrorCodes.INVALID_PAYLOAD],
        [
          'sync: transaction without afterCommit',
          () => app.syncMessageManager.publish(channel, 1, { transaction: {} as never }),
          ErrorCodes.INVALID_OPTION,
        ],
        [
          'sync: unknown option',
          () => app.syncMessageManager.publish(channel, 1, { tx: 1 } as never),
          ErrorCodes.UNKNOWN_OPTION,
        ],
      ];
      for (const [what, call, code] of cases) {
        await expect(call(), what).rejects.toMatchObject({ name: 'ClusterError', code });
      }
      await app.stop();
      await expect(psm.publish(channel, 'late')).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
      await expect(app.syncMessageManager.publish(channel, 'late')).rejects.toMatchObject({
        code: ErrorCodes.NOT_CONNECTED,
      });
    });

    it('reports a failing handler on the error event and still delivers to the others', async () => {
      const [a, b, c] = await nodes(3);
      const errors = counter(2);
      const seen: Error[] = [];
      b!.on('error', (error) => {
        seen.push(error);
        errors.hit();
      });
      await b!.pubSubManager.subscribe(channel, () => {
        throw new Error('sync boom');
      });
      await b!.pubSubManager.subscribe(channel, async () => {
        throw new Error('async boom');
      });
      const [ib, ic] = await inboxes([b!, c!]);
      await a!.pubSubManager.publish(channel, 'first');
      await a!.pubSubManager.publish(channel, 'second');
      await Promise.all([ib!.receive('second'), ic!.receive('second'), within(errors.done, DEADLINE_MS, 'errors')]);
      expect(ib!.messages).toEqual(['first', 'second']);
      expect(seen.map((e) => e.message)).toEqual(expect.arrayContaining(['sync boom', 'async boom']));
    });

    it('stops calling handlers right after beforeStop, while the event queue still drains (pending debounces dropped)', async () => {
      // As NocoBase's "debounced handler should not be called after app stopped", with a node whose
      // stop is held open by an in-flight job: t stops, s sends, w witnesses.
      const [s, w] = await nodes(2);
      const t = cluster.node();
      const tSync = new Inbox();
      const wSync = new Inbox();
      const beforeStopRan = deferred();
      await t.pm.add(StoppingPlugin, { inbox: tSync, stopped: () => beforeStopRan.resolve() });
      await w!.pm.add(StoppingPlugin, { inbox: wSync, stopped: () => {} });
      await s!.pm.add(StoppingPlugin, { inbox: new Inbox(), stopped: () => {} });
      const tDebounced = new Inbox();
      const tProbe = new Inbox();
      const jobRunning = deferred();
      const releaseJob = deferred();
      const jobChannel = randomName('job');
      await t.pubSubManager.subscribe(channel, tDebounced.handler, { debounce: DEBOUNCE_MS });
      await t.pubSubManager.subscribe(channel, tProbe.handler);
      await t.eventQueue.subscribe(jobChannel, {
        async process() {
          jobRunning.resolve();
          await releaseJob.promise;
          // Publishing still works while the queue drains.
          await t.pubSubManager.publish(channel, 'from the draining job');
        },
      });
      await t.start();
      const [wDebounced, wPlain] = [new Inbox(), new Inbox()];
      await w!.pubSubManager.subscribe(channel, wDebounced.handler, { debounce: DEBOUNCE_MS });
      await w!.pubSubManager.subscribe(channel, wPlain.handler);

      // 1. A message arrives before the stop: t's debounce timer is pending when the stop begins.
      await s!.pubSubManager.publish(channel, 'before stop');
      await tProbe.receive('before stop');
      await s!.eventQueue.publish(jobChannel, 'hold the stop open');
      await within(jobRunning.promise, DEADLINE_MS, 'job running on t');
      const stopping = t.stop();
      await within(beforeStopRan.promise, DEADLINE_MS, "t's beforeStop");

      // 2. Sent after beforeStop while t drains: w hears everything, t nothing.
      await s!.pubSubManager.publish(channel, 'during drain');
      await s!.pm.get<StoppingPlugin>('stopping')!.sendSyncMessage('sync during drain');
      await wPlain.receive('during drain');
      await wSync.receive('sync during drain');
      await wDebounced.receive('during drain');
      await wDebounced.receive('before stop');
      releaseJob.resolve();
      await wPlain.receive('from the draining job');
      await within(stopping, DEADLINE_MS, 't stopped');
      expect(tDebounced.messages).toEqual([]);
      expect(tProbe.messages).toEqual(['before stop']);
      expect(tSync.messages).toEqual([]);
    });

    describe('sync messages', () => {
      async function syncInboxes(apps: App[]): Promise<Inbox[]> {
        return Promise.all(
          apps.map(async (app) => {
            const inbox = new Inbox();
            await app.syncMessageManager.subscribe(channel, inbox.handler);
            return inbox;
          }),
        );
      }

      it('reach the other nodes and never the sender', async () => {
        const [a, b, c] = await nodes(3);
        const [ia, ib, ic] = await syncInboxes([a!, b!, c!]);
        await a!.syncMessageManager.publish(channel, { reload: 'settings' });
        await Promise.all([ib!.receive({ reload: 'settings' }), ic!.receive({ reload: 'settings' })]);
        await b!.syncMessageManager.publish(channel, 'marker');
        await ia!.receive('marker');
        expect(ia!.messages).toEqual(['marker']);
      });

      it('with a transaction: sent after commit, never before, never on rollback', async () => {
        const [a, b] = await nodes(2);
        const [, ib] = await syncInboxes([a!, b!]);
        const committed = fakeTransaction();
        const message = { step: 'committed' };
        await a!.syncMessageManager.publish(channel, message, { transaction: committed });
        message.step = 'mutated after publish';
        await a!.syncMessageManager.publish(channel, 'marker-1');
        await ib!.receive('marker-1');
        expect(ib!.messages).toEqual(['marker-1']);
        await committed.commit();
        await ib!.receive({ step: 'committed' });

        const rolledBack = fakeTransaction();
        await a!.syncMessageManager.publish(channel, 'rolled back', { transaction: rolledBack });
        rolledBack.rollback();
        await a!.syncMessageManager.publish(channel, 'marker-2');
        await ib!.receive('marker-2');
        expect(ib!.has('rolled back')).toBe(false);
        expect(ib!.messages).toEqual(['marker-1', { step: 'committed' }, 'marker-2']);
      });

      it("carry a plugin's sendSyncMessage to the same plugin's handleSyncMessage on the other nodes", async () => {
        const apps = [cluster.node(), cluster.node(), cluster.node()];
        const boxes = apps.map(() => new Inbox());
        await Promise.all(apps.map((app, i) => app.pm.add(NotesPlugin, { inbox: boxes[i]! })));
        await Promise.all(apps.map((app) => app.start()));
        const [ia, ib, ic] = boxes;
        const sender = apps[0]!.pm.get<NotesPlugin>('notes')!;
        await sender.sendSyncMessage({ note: 'changed' });
        await Promise.all([ib!.receive({ note: 'changed' }), ic!.receive({ note: 'changed' })]);
        const tx = fakeTransaction();
        await sender.sendSyncMessage('after-commit', { transaction: tx });
        await apps[1]!.pm.get<NotesPlugin>('notes')!.sendSyncMessage('marker');
        await Promise.all([ia!.receive('marker'), ic!.receive('marker')]);
        expect(ib!.has('after-commit')).toBe(false);
        await tx.commit();
        await Promise.all([ib!.receive('after-commit'), ic!.receive('after-commit')]);
        expect(ia!.messages).toEqual(['marker']);
      });
    });
  });
}
