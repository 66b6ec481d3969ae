/**
 * Sync messages: `SyncMessageManager` on its own (NocoBase style) and through plugins'
 * `sendSyncMessage()` / `handleSyncMessage()`. A sync message reaches the same channel on every
 * OTHER node; with a transaction it leaves only after the commit.
 */
import {
  createApp,
  createMemoryAdapters,
  createMemoryBackend,
  ErrorCodes,
  MemoryPubSubAdapter,
  Plugin,
  PubSubManager,
  silentLogger,
  standaloneContext,
  SyncMessageManager,
  type App,
  type MemoryBackend,
  type Transaction,
} from 'clusterkit/adapter-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred, randomName, within } from './helpers.js';

const DEADLINE_MS = 5_000;

let backend: MemoryBackend;
let cleanups: (() => Promise<void>)[];
let channel: string;

beforeEach(() => {
  backend = createMemoryBackend();
  cleanups = [];
  channel = randomName('ch');
});
afterEach(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

/** Records messages and waits for them. */
function inbox() {
  const messages: unknown[] = [];
  const waiters: { message: unknown; resolve: () => void }[] = [];
  return {
    messages,
    handler: (message: unknown) => {
      messages.push(message);
      for (const w of waiters.filter((w) => JSON.stringify(w.message) === JSON.stringify(message))) w.resolve();
    },
    receive(message: unknown): Promise<void> {
      if (messages.some((m) => JSON.stringify(m) === JSON.stringify(message))) return Promise.resolve();
      const d = deferred();
      waiters.push({ message, resolve: d.resolve });
      return within(d.promise, DEADLINE_MS, `receive ${JSON.stringify(message)}`);
    },
  };
}

/** A Sequelize-shaped transaction: afterCommit callbacks run on commit, never on rollback. */
function fakeTransaction() {
  const callbacks: (() => unknown)[] = [];
  return {
    afterCommit(callback: () => unknown) {
      callbacks.push(callback);
    },
    async commit() {
      for (const callback of callbacks.splice(0)) await callback();
    },
    rollback() {
      callbacks.length = 0;
    },
  } satisfies Transaction & Record<string, unknown>;
}

/** One standalone node: a pub/sub manager on the shared backend and a sync manager on top. */
async function syncNode() {
  const errors: { error: unknown; meta?: Record<string, unknown> }[] = [];
  const context = standaloneContext({
    appName: 'shop',
    logger: silentLogger,
    reportError: (error, meta) => errors.push({ error, meta }),
  });
  const pubSubManager = new PubSubManager({ adapter: new MemoryPubSubAdapter(backend), context });
  const sync = new SyncMessageManager({ pubSubManager, context });
  await pubSubManager.connect();
  await sync.connect();
  cleanups.push(async () => {
    await sync.close();
    await pubSubManager.close();
  });
  return { sync, pubSubManager, errors };
}

describe('SyncMessageManager', () => {
  it('has a NocoBase lifecycle and refuses to publish unless connected', async () => {
    const sync = new SyncMessageManager();
    expect(sync.isConnected()).toBe(false);
    await expect(sync.publish(channel, 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    await sync.pubSubManager.connect();
    await sync.connect();
    expect(sync.isConnected()).toBe(true);
    await sync.publish(channel, 1);
    await sync.close();
    await sync.pubSubManager.close();
    expect(sync.isConnected()).toBe(false);
    await expect(sync.publish(channel, 1)).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
  });

  it('sends to the other nodes only, on the pub/sub channel sync:<channel>', async () => {
    const a = await syncNode();
    const b = await syncNode();
    const ia = inbox();
    const ib = inbox();
    const raw = inbox();
    await a.sync.subscribe(channel, ia.handler);
    await b.sync.subscribe(channel, ib.handler);
    await b.pubSubManager.subscribe(`sync:${channel}`, raw.handler);
    await a.sync.publish(channel, { changed: 'roles' });
    await Promise.all([ib.receive({ changed: 'roles' }), raw.receive({ changed: 'roles' })]);
    await b.sync.publish(channel, 'marker');
    await ia.receive('marker');
    expect(ia.messages).toEqual(['marker']);
  });

  it('stops delivering to an unsubscribed handler', async () => {
    const a = await syncNode();
    const b = await syncNode();
    const gone = inbox();
    const kept = inbox();
    await b.sync.subscribe(channel, gone.handler);
    await b.sync.subscribe(channel, kept.handler);
    await b.sync.unsubscribe(channel, gone.handler);
    await a.sync.publish(channel, 'x');
    await kept.receive('x');
    expect(gone.messages).toEqual([]);
  });

  it('passes a debounce option through to pub/sub and refuses unknown options', async () => {
    const a = await syncNode();
    const b = await syncNode();
    const ib = inbox();
    await b.sync.subscribe(channel, ib.handler, { debounce: 1 });
    await a.sync.publish(channel, 'debounced');
    await ib.receive('debounced');
    await expect(b.sync.subscribe(channel, ib.handler, { wait: 1 } as never)).rejects.toMatchObject({
      code: ErrorCodes.UNKNOWN_OPTION,
    });
  });

  it('with a transaction: resolves at once, sends a snapshot after commit, nothing on rollback', async () => {
    const a = await syncNode();
    const b = await syncNode();
    const ib = inbox();
    await b.sync.subscribe(channel, ib.handler);
    const tx = fakeTransaction();
    const message = { version: 1 };
    // Awaiting before the commit must not deadlock (the usual order in a request handler).
    await a.sync.publish(channel, message, { transaction: tx });
    message.version = 2;
    await a.sync.publish(channel, 'marker');
    await ib.receive('marker');
    expect(ib.messages).toEqual(['marker']);
    await tx.commit();
    await ib.receive({ version: 1 });

    const rolledBack = fakeTransaction();
    await a.sync.publish(channel, 'never', { transaction: rolledBack });
    rolledBack.rollback();
    await a.sync.publish(channel, 'marker-2');
    await ib.receive('marker-2');
    expect(ib.messages).toEqual(['marker', { version: 1 }, 'marker-2']);
  });

  it('reports NOT_CONNECTED on the error path when the commit comes after close()', async () => {
    const a = await syncNode();
    const tx = fakeTransaction();
    await a.sync.publish(channel, 'late', { transaction: tx });
    await a.sync.close();
    await tx.commit();
    expect(a.errors).toHaveLength(1);
    expect(a.errors[0]!.error).toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    expect(a.errors[0]!.meta).toMatchObject({ source: 'syncMessageManager', channel });
  });

  it('refuses a transaction without afterCommit', async () => {
    const a = await syncNode();
    for (const transaction of [{}, { afterCommit: 1 }, 'tx', null]) {
      await expect(a.sync.publish(channel, 1, { transaction: transaction as never })).rejects.toMatchObject({
        code: ErrorCodes.INVALID_OPTION,
      });
    }
  });
});

describe('plugin sync messages', () => {
  const received = new Map<App, unknown[]>();

  class SettingsPlugin extends Plugin {
    static override pluginName = 'settings';
    override async handleSyncMessage(message: unknown): Promise<void> {
      if (message === 'explode') throw new Error('cannot apply settings');
      const list = received.get(this.app) ?? [];
      list.push(message);
      received.set(this.app, list);
    }
  }

  class OtherPlugin extends Plugin {
    static override pluginName = 'other';
    override async handleSyncMessage(message: unknown): Promise<void> {
      const list = received.get(this.app) ?? [];
      list.push(`other:${String(message)}`);
      received.set(this.app, list);
    }
  }

  function app(): App {
    const node = createApp({ name: 'shop', logger: silentLogger, adapters: createMemoryAdapters({ backend }) });
    cleanups.push(() => node.stop());
    return node;
  }

  async function until(node: App, message: unknown): Promise<void> {
    const has = () => (received.get(node) ?? []).some((m) => JSON.stringify(m) === JSON.stringify(message));
    await vi.waitFor(() => expect(has(), `plugin receives ${JSON.stringify(message)}`).toBe(true), {
      timeout: DEADLINE_MS,
      interval: 5,
    });
  }

  it('reach the same plugin on the other nodes, not the sender, not another plugin', async () => {
    const a = app();
    const b = app();
    for (const node of [a, b]) {
      await node.pm.add(SettingsPlugin);
      await node.pm.add(OtherPlugin);
    }
    await Promise.all([a.start(), b.start()]);
    await a.pm.get<SettingsPlugin>('settings')!.sendSyncMessage({ theme: 'dark' });
    await until(b, { theme: 'dark' });
    await a.pm.get<OtherPlugin>('other')!.sendSyncMessage('for other');
    await until(b, 'other:for other');
    await b.pm.get<SettingsPlugin>('settings')!.sendSyncMessage('marker');
    await until(a, 'marker');
    expect(received.get(a)).toEqual(['marker']);
    expect(received.get(b)).toEqual([{ theme: 'dark' }, 'other:for other']);
  });

  it('use the plugin name given in options as the channel', async () => {
    const a = app();
    const b = app();
    await a.pm.add(SettingsPlugin, { name: 'settings-v2' });
    await b.pm.add(SettingsPlugin, { name: 'settings-v2' });
    await Promise.all([a.start(), b.start()]);
    const sync = inbox();
    await b.syncMessageManager.subscribe('settings-v2', sync.handler);
    await a.pm.get<SettingsPlugin>('settings-v2')!.sendSyncMessage('renamed');
    await Promise.all([until(b, 'renamed'), sync.receive('renamed')]);
  });

  it('reach a plugin added after start, and send after commit with a transaction', async () => {
    const a = app();
    const b = app();
    await Promise.all([a.start(), b.start()]);
    await a.pm.add(SettingsPlugin);
    await b.pm.add(SettingsPlugin);
    const tx = fakeTransaction();
    await a.pm.get<SettingsPlugin>('settings')!.sendSyncMessage('committed', { transaction: tx });
    await tx.commit();
    await until(b, 'committed');
  });

  it('report a failing handleSyncMessage on the app error event', async () => {
    const a = app();
    const b = app();
    await a.pm.add(SettingsPlugin);
    await b.pm.add(SettingsPlugin);
    await Promise.all([a.start(), b.start()]);
    const failed = deferred<Error>();
    b.on('error', failed.resolve);
    await a.pm.get<SettingsPlugin>('settings')!.sendSyncMessage('explode');
    const error = await within(failed.promise, DEADLINE_MS, 'error event');
    expect(error.message).toBe('cannot apply settings');
    await a.pm.get<SettingsPlugin>('settings')!.sendSyncMessage('still works');
    await until(b, 'still works');
  });
});
