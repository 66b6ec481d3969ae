/**
 * Scoped plugin state: `scopedKey` escapes separators so no tenant reaches another's keys, the
 * portable `kv` works the same on every store, and `getRedis` gives the native client where the
 * store has one (and a clear NOT_SUPPORTED where it does not).
 */
import { runWithTenant } from 'clusterkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { startNode } from './jobs-helpers.js';

interface NativeClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

export function scopedStateSuite(factory: ClusterFactory): void {
  describe(`managed jobs scoped state (${factory.label})`, () => {
    let cluster: TestCluster;
    beforeEach(() => {
      cluster = factory.create();
    });
    afterEach(async () => {
      await cluster.dispose();
    });

    it('builds keys that no tenant, organization or part can forge', async () => {
      const app = await startNode(cluster, { worker: false });
      const mq = app.managedQueue;
      const key = mq.scopedKey({ pluginName: 'crm', tenantId: 'a', organizationId: 'o' }, 'contacts', 42);
      expect(key).toBe(`${app.name}:plugin:crm:t:a:o:o:s:-:contacts:42`);
      // Tenant "a:t:b" must not land inside tenant "a"'s key space, nor parts forge a scope.
      const forged = mq.scopedKey({ pluginName: 'crm', tenantId: 'a:o:x' }, 'k');
      expect(forged.startsWith(`${app.name}:plugin:crm:t:a:`)).toBe(false);
      expect(mq.scopedKey({ pluginName: 'crm', tenantId: 'a' }, 'o:x:k')).not.toBe(
        mq.scopedKey({ pluginName: 'crm', tenantId: 'a', organizationId: 'x' }, 'k'),
      );
      expect(mq.scopedKey({ pluginName: 'crm', tenantId: '-' }, 'k')).not.toBe(
        mq.scopedKey({ pluginName: 'crm' }, 'k'),
      );
      expect(mq.scopedKey({ pluginName: 'p*', tenantId: '{t}' }, 'a?b[c]')).not.toMatch(/[*?[\]{}]/);
      await runWithTenant({ tenantId: 'ctx-tenant', organizationId: 'ctx-org' }, async () => {
        expect(mq.scopedKey({ pluginName: 'crm' }, 'k')).toBe(`${app.name}:plugin:crm:t:ctx-tenant:o:ctx-org:s:-:k`);
        expect(() => mq.scopedKey({ pluginName: 'crm', tenantId: 'other' }, 'k')).toThrow(
          expect.objectContaining({ code: 'TENANT_MISMATCH' }),
        );
      });
      expect(() => mq.scopedKey({ pluginName: 'crm' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => mq.scopedKey({ pluginName: '' }, 'k')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    });

    it('offers a portable scoped KV: set NX/PX, get, incr, expire, del — isolated per tenant', async () => {
      const app = await startNode(cluster, { worker: false });
      const a = app.managedQueue.kv({ pluginName: 'crm', tenantId: 'a' });
      const b = app.managedQueue.kv({ pluginName: 'crm', tenantId: 'b' });
      expect(await a.set('cursor', '10')).toBe(true);
      expect(await a.set('cursor', '11', { nx: true })).toBe(false);
      expect(await a.get('cursor')).toBe('10');
      expect(await b.get('cursor')).toBeUndefined();
      expect(await b.set('cursor', 'b', { nx: true, px: 60_000 })).toBe(true);
      expect(await a.get('cursor')).toBe('10');
      expect(await a.incr('count')).toBe(1);
      expect(await a.incr('count', 5)).toBe(6);
      expect(await b.incr('count')).toBe(1);
      expect(await a.expire('count', 60_000)).toBe(true);
      expect(await a.expire('missing', 60_000)).toBe(false);
      expect(await a.del('cursor')).toBe(true);
      expect(await a.get('cursor')).toBeUndefined();
      expect(await b.get('cursor')).toBe('b');
      await expect(a.set('k', 1 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(a.set('k', 'v', { px: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
      // Another node of the cluster sees the same state.
      const other = await startNode(cluster, { worker: false });
      expect(await other.managedQueue.kv({ pluginName: 'crm', tenantId: 'b' }).get('cursor')).toBe('b');
    });

    it('gives the native client prefixed to the scope where the store has one, NOT_SUPPORTED elsewhere', async () => {
      const app = await startNode(cluster, { worker: false });
      const scope = { pluginName: 'crm', tenantId: 'a' };
      if (typeof app.cacheManager.store.nativeClient !== 'function') {
        expect(() => app.managedQueue.getRedis(scope)).toThrow(expect.objectContaining({ code: 'NOT_SUPPORTED' }));
        return;
      }
      const redis = app.managedQueue.getRedis<NativeClient>(scope);
      await redis.set('native', 'yes');
      expect(await app.managedQueue.kv(scope).get('native')).toBe('yes');
      expect(await app.managedQueue.kv({ pluginName: 'crm', tenantId: 'b' }).get('native')).toBeUndefined();
    });
  });
}
