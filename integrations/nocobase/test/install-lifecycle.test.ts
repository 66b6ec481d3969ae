/**
 * The installation's life: `PluginClusterkit` clusters an app from the environment alone (and does
 * nothing without `CLUSTERKIT_ADAPTER`); the bridge survives NocoBase's reload, which rebuilds every
 * manager; `uninstall()` gives NocoBase its own adapters back; misuse is refused.
 */
import { Application, MemoryEventQueueAdapter } from '@nocobase/server';
import { ErrorCodes } from 'clusterkit';
import {
  ClusterkitEventQueueAdapter,
  ClusterkitPubSubAdapter,
  ClusterkitWorkerIdAllocator,
  clusterkitForEveryApplication,
  clusterkitInstallation,
  installClusterkit,
  PluginClusterkit,
} from 'clusterkit/nocobase';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanBrokers } from './broker-state.js';
import { nocobaseOptions, redisBackend, startNode, SyncProbe, type TestNode } from './nocobase-node.js';
import { randomName, REDIS_URL, useDatabase } from './services.js';

const DEADLINE = { timeout: 20_000, interval: 20 };
type Internals = {
  eventQueue: { adapter: unknown };
  pubSubManager: { adapter: unknown };
  workerIdAllocator: { adapter: unknown };
  lockManager: { options: { defaultAdapter?: string } };
};
const internals = (app: Application) => app as unknown as Internals;

describe('installing, reloading and uninstalling the bridge', () => {
  const db = useDatabase();
  let prefix = '';
  const apps: Application[] = [];
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await Promise.allSettled([...apps.map((app) => app.stop()), ...nodes.map((node) => node.stop())]);
    apps.length = 0;
    nodes.length = 0;
    vi.unstubAllEnvs();
    await cleanBrokers(prefix, false);
  });

  const pluginApp = () => {
    const app = new Application(nocobaseOptions(db().name, [PluginClusterkit, [SyncProbe, { name: 'sync-probe' }]]));
    apps.push(app);
    return app;
  };

  it('PluginClusterkit clusters two apps from CLUSTERKIT_ADAPTER and REDIS_URL alone', async () => {
    prefix = randomName('ckn');
    vi.stubEnv('CLUSTERKIT_ADAPTER', 'redis');
    vi.stubEnv('REDIS_URL', REDIS_URL);
    vi.stubEnv('CLUSTERKIT_REDIS_PREFIX', prefix);
    vi.stubEnv('CLUSTERKIT_NAME', prefix);
    const [a, b] = [pluginApp(), pluginApp()];
    for (const app of [a, b]) {
      await app.load();
      await app.start();
    }
    expect(internals(a).eventQueue.adapter).toBeInstanceOf(ClusterkitEventQueueAdapter);
    expect(internals(a).pubSubManager.adapter).toBeInstanceOf(ClusterkitPubSubAdapter);
    expect(internals(a).lockManager.options.defaultAdapter).toBe('clusterkit');
    expect(clusterkitInstallation(a)!.clusterkit.name).toBe(prefix);
    expect(a.instanceId).not.toBe(b.instanceId);
    // Installed in afterAdd: early enough for NocoBase's worker id to come from the cluster's pool.
    expect([clusterkitInstallation(a)!.workerId, clusterkitInstallation(b)!.workerId]).toEqual([
      a.instanceId,
      b.instanceId,
    ]);
    const [probeA, probeB] = [a, b].map((app) => app.pm.get('sync-probe') as SyncProbe);
    await probeA!.sendSyncMessage({ hello: 'B' });
    await vi.waitFor(() => expect(probeB!.received).toEqual([{ hello: 'B' }]), DEADLINE);
    expect(probeA!.received).toEqual([]);
  });

  it('without CLUSTERKIT_ADAPTER the plugin leaves NocoBase on its in-process adapters', async () => {
    vi.stubEnv('CLUSTERKIT_ADAPTER', '');
    const app = pluginApp();
    await app.load();
    expect(clusterkitInstallation(app)).toBeUndefined();
    expect(internals(app).eventQueue.adapter).toBeInstanceOf(MemoryEventQueueAdapter);
    expect(internals(app).pubSubManager.adapter).toBeUndefined();
  });

  it('survives a NocoBase reload (every manager rebuilt) and keeps clustering', async () => {
    prefix = randomName('ckn');
    const a = await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix });
    const b = await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix });
    nodes.push(a, b);
    const before = a.app.eventQueue;
    await a.app.restart();
    expect(a.app.eventQueue).not.toBe(before);
    expect(internals(a.app).eventQueue.adapter).toBeInstanceOf(ClusterkitEventQueueAdapter);
    expect(internals(a.app).workerIdAllocator.adapter).toBeInstanceOf(ClusterkitWorkerIdAllocator);
    expect(a.app.instanceId).not.toBe(b.app.instanceId);
    const runs: string[] = [];
    a.app.eventQueue.subscribe('after-reload', { idle: () => true, process: async () => void runs.push('A') });
    b.app.eventQueue.subscribe('after-reload', { idle: () => true, process: async () => void runs.push('B') });
    await b.app.eventQueue.publish('after-reload', { n: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(1), DEADLINE);
    const probeA = a.app.pm.get('sync-probe') as SyncProbe;
    await b.probe.sendSyncMessage({ n: 1 });
    await vi.waitFor(() => expect(probeA.received).toEqual([{ n: 1 }]), DEADLINE);
  });

  it('stop then start again (no reload): clusterkit restarts and the worker id NocoBase kept is leased again', async () => {
    prefix = randomName('ckn');
    const node = await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix });
    nodes.push(node);
    const id = node.app.instanceId;
    expect(node.installation.workerId).toBe(id);
    await node.app.stop();
    expect(node.installation.clusterkit.started).toBe(false);
    expect(node.installation.workerId).toBeUndefined();
    await node.app.start();
    expect(node.app.instanceId).toBe(id);
    expect(node.installation.workerId).toBe(id);
    const runs: number[] = [];
    node.app.eventQueue.subscribe('again', {
      idle: () => true,
      process: async (m: { n: number }) => void runs.push(m.n),
    });
    await node.app.eventQueue.publish('again', { n: 1 });
    await vi.waitFor(() => expect(runs).toEqual([1]), DEADLINE);
  });

  it('uninstall() gives NocoBase its own adapters back; it is refused while the app runs', async () => {
    prefix = randomName('ckn');
    const node = await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix });
    nodes.push(node);
    await expect(node.installation.uninstall()).rejects.toMatchObject({ code: ErrorCodes.INVALID_STATE });
    await node.stop();
    await node.installation.uninstall();
    const app = node.app;
    expect(internals(app).eventQueue.adapter).toBeInstanceOf(MemoryEventQueueAdapter);
    expect(internals(app).pubSubManager.adapter).toBeUndefined();
    expect(internals(app).workerIdAllocator.adapter).toBeUndefined();
    expect(internals(app).lockManager.options.defaultAdapter).toBeUndefined();
    expect(clusterkitInstallation(app)).toBeUndefined();
    expect(node.installation.clusterkit.started).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(app.eventQueue, 'publish')).toBe(false);
    // It can be installed again.
    const again = installClusterkit(app, { adapters: redisBackend.adapters(prefix), name: prefix });
    expect(internals(app).eventQueue.adapter).toBeInstanceOf(ClusterkitEventQueueAdapter);
    await again.uninstall();
  });

  it('clusterkitForEveryApplication clusters apps that other code constructs (NocoBase’s own test helpers)', async () => {
    prefix = randomName('ckn');
    const undo = clusterkitForEveryApplication(Application, (app) =>
      app.name === 'main' ? { adapters: redisBackend.adapters(prefix), name: prefix } : undefined,
    );
    let hooked: Application;
    try {
      hooked = pluginApp();
    } finally {
      undo();
    }
    expect(clusterkitInstallation(hooked)).toBeDefined();
    expect(internals(hooked).eventQueue.adapter).toBeInstanceOf(ClusterkitEventQueueAdapter);
    const later = pluginApp();
    expect(clusterkitInstallation(later)).toBeUndefined();
    await hooked.load();
    await hooked.start();
    const runs: number[] = [];
    hooked.eventQueue.subscribe('hooked', {
      idle: () => true,
      process: async (m: { n: number }) => void runs.push(m.n),
    });
    await hooked.eventQueue.publish('hooked', { n: 7 });
    await vi.waitFor(() => expect(runs).toEqual([7]), DEADLINE);
  });

  it('refuses misuse: not a NocoBase app, no adapters, twice, after start', async () => {
    prefix = randomName('ckn');
    expect(() => installClusterkit({} as never, { adapters: {} })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    const node = await startNode({ database: db().name, backend: redisBackend, prefix, cluster: prefix, start: false });
    nodes.push(node);
    expect(() => installClusterkit(node.app, undefined as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    expect(() => installClusterkit(node.app, { adapters: {} })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
    await node.installation.uninstall();
    await node.app.load();
    await node.app.start();
    expect(() => installClusterkit(node.app, { adapters: {} })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_STATE }),
    );
  });
});
