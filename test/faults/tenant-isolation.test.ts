/**
 * Tenant isolation through the managedQueue API (memory and Redis stores): inside tenant B's
 * context, tenant A's jobs cannot be read, cancelled, retried, listed, counted or waited on, and
 * asking for them explicitly is refused (`TENANT_MISMATCH`). Scoped keys built from crafted
 * tenant/organization/scope values — separators, glob characters, `-` posing as "none" — never
 * reach or prefix another tenant's keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, runWithTenant, type App, type KeyScope } from 'clusterkit';
import { clusterCodeOf } from '../code-of.js';
import { brokerScope, type Backend, type BrokerScope } from './backends.js';
import { figure } from './fault-helpers.js';

const A = { tenantId: 'tenant-a' };
const B = { tenantId: 'tenant-b' };
const asA = <T>(fn: () => T) => runWithTenant(A, fn);
const asB = <T>(fn: () => T) => runWithTenant(B, fn);
const job = (jobName: string, extra: Record<string, unknown> = {}) => ({
  pluginName: 'p',
  queueName: 'q',
  jobName,
  payload: { secret: jobName },
  ...extra,
});

describe.each<Backend>(['memory', 'redis'])('faults: tenant isolation (%s)', (backend) => {
  let scope: BrokerScope;
  let app: App;
  let delayedA: string;
  let failedA: string;
  let doneB: string;

  beforeAll(async () => {
    scope = brokerScope(backend);
    app = scope.app();
    await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'ok' }, () => 'done');
    await app.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'fail' }, () => {
      throw new Error('boom');
    });
    await app.start();
    delayedA = (await asA(() => app.managedQueue.enqueue(job('ok', { delayMs: 600_000 })))).jobId;
    failedA = (await asA(() => app.managedQueue.enqueue(job('fail')))).jobId;
    await asA(() => expect(app.managedQueue.waitForJob(failedA, { timeoutMs: 30_000 })).rejects.toThrow(/boom/));
    doneB = (await asB(() => app.managedQueue.enqueue(job('ok')))).jobId;
    await asB(() => app.managedQueue.waitForJob(doneB, { timeoutMs: 30_000 }));
  }, 60_000);

  afterAll(async () => {
    await scope?.dispose(['managed-queue:plugin-jobs']);
  }, 60_000);

  it("tenant B cannot get, cancel, retry or wait on tenant A's jobs", async () => {
    await asB(async () => {
      expect(await app.managedQueue.getJob(delayedA)).toBeNull();
      expect(await app.managedQueue.getJob(failedA)).toBeNull();
      expect(await app.managedQueue.cancel({ jobId: delayedA })).toEqual({ success: false, reason: 'not_found' });
      expect(await app.managedQueue.cancel({ jobId: delayedA, abortActive: true })).toEqual({
        success: false,
        reason: 'not_found',
      });
      expect(await app.managedQueue.retry(failedA)).toEqual({ success: false, reason: 'not_found' });
      expect(await clusterCodeOf(app.managedQueue.waitForJob(delayedA, { timeoutMs: 2_000 }))).toBe(
        ErrorCodes.NOT_FOUND,
      );
    });
    // Untouched: A still sees its job delayed and its failure retryable.
    await asA(async () => {
      expect((await app.managedQueue.getJob(delayedA))?.state).toBe('delayed');
      expect((await app.managedQueue.getJob(failedA))?.state).toBe('failed');
    });
  });

  it("tenant B's listJobs and getMetrics show only B's jobs; asking for A's is refused", async () => {
    await asB(async () => {
      const listed = await app.managedQueue.listJobs();
      expect(listed.jobs.map((j) => j.id)).toEqual([doneB]);
      expect(listed.total).toBe(1);
      expect(await app.managedQueue.getMetrics()).toEqual({
        waiting: 0,
        active: 0,
        completed: 1,
        failed: 0,
        delayed: 0,
      });
      expect(await clusterCodeOf(app.managedQueue.listJobs({ tenantId: A.tenantId }))).toBe(ErrorCodes.TENANT_MISMATCH);
      expect(await clusterCodeOf(app.managedQueue.getMetrics({ tenantId: A.tenantId }))).toBe(
        ErrorCodes.TENANT_MISMATCH,
      );
      expect(await clusterCodeOf(app.managedQueue.enqueue(job('ok', { tenantId: A.tenantId })))).toBe(
        ErrorCodes.TENANT_MISMATCH,
      );
    });
    await asA(async () => {
      expect(await app.managedQueue.getMetrics()).toEqual({
        waiting: 0,
        active: 0,
        completed: 0,
        failed: 1,
        delayed: 1,
      });
    });
    // Operator code (no tenant context) sees both.
    expect((await app.managedQueue.listJobs()).total).toBe(3);
  });

  it('A can still cancel and retry its own jobs', async () => {
    await asA(async () => {
      expect(await app.managedQueue.cancel({ jobId: delayedA })).toEqual({ success: true });
      expect(await app.managedQueue.retry(failedA)).toEqual({ success: true });
    });
  });

  it("the same caller jobId in two tenants gives two jobs; an id crafted to look like the other tenant's stays B's", async () => {
    const a = await asA(() => app.managedQueue.enqueue(job('ok', { jobId: 'invoice-1' })));
    const b = await asB(() => app.managedQueue.enqueue(job('ok', { jobId: 'invoice-1' })));
    expect(a.jobId).not.toBe(b.jobId);
    // B passes A's full job id as its own caller id: it is namespaced under B again, not deduplicated into A's.
    const forged = await asB(() => app.managedQueue.enqueue(job('ok', { jobId: a.jobId })));
    expect(forged.jobId).not.toBe(a.jobId);
    await asB(async () => expect(await app.managedQueue.getJob(a.jobId)).toBeNull());
    await asA(async () => expect((await app.managedQueue.getJob(a.jobId))?.tenantId).toBe(A.tenantId));
    figure(`tenant-isolation/${backend}`, 'job ids for caller id "invoice-1" (A, B, B forging A)', [
      a.jobId,
      b.jobId,
      forged.jobId,
    ]);
  });

  it('scoped keys with crafted separators never equal or prefix another scope, and kv values stay apart', async () => {
    // Pairs a naive `:`-join would confuse.
    const scopes: KeyScope[] = [
      { pluginName: 'p', tenantId: 'a' },
      { pluginName: 'p', tenantId: 'a:o:b' },
      { pluginName: 'p', tenantId: 'a', organizationId: 'b' },
      { pluginName: 'p', tenantId: 'a', organizationId: 'b:s:c' },
      { pluginName: 'p', tenantId: 'a', organizationId: 'b', scopeKey: 'c' },
      { pluginName: 'p', tenantId: '-' },
      { pluginName: 'p' },
      { pluginName: 'p', tenantId: 'a*' },
      { pluginName: 'p', tenantId: 'a?' },
      { pluginName: 'p', tenantId: 'a[b]' },
      { pluginName: 'p', tenantId: '{a}' },
      { pluginName: 'p', tenantId: 'a%3Ao%3Ab' },
      { pluginName: 'p:t:a', tenantId: 'x' },
      { pluginName: 'p', tenantId: 'a\\' },
    ];
    const keys = scopes.map((s) => app.managedQueue.scopedKey(s, 'k'));
    expect(new Set(keys).size).toBe(scopes.length);
    const prefixes = keys.map((k) => k.slice(0, -'k'.length));
    for (let i = 0; i < prefixes.length; i += 1) {
      for (let j = 0; j < prefixes.length; j += 1) {
        if (i !== j) expect(keys[j]!.startsWith(prefixes[i]!), `${keys[j]} under ${prefixes[i]}`).toBe(false);
      }
      // No glob or hash-tag character survives escaping (SCAN patterns and cluster slots stay exact).
      expect(prefixes[i]).not.toMatch(/[*?[\]{}\\]/);
    }
    for (const [i, s] of scopes.entries()) await app.managedQueue.kv(s).set('k', `value-${i}`);
    for (const [i, s] of scopes.entries()) expect(await app.managedQueue.kv(s).get('k')).toBe(`value-${i}`);
    // Inside a tenant context, a scope naming another tenant is refused.
    await asB(async () => {
      expect(() => app.managedQueue.kv({ pluginName: 'p', tenantId: A.tenantId })).toThrow(
        expect.objectContaining({ code: ErrorCodes.TENANT_MISMATCH }),
      );
    });
    figure(`tenant-isolation/${backend}`, 'crafted scopes, all distinct and prefix-free', scopes.length);
  });
});
