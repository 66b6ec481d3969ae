// An ESM host loading a CommonJS plugin (plugin.cjs): both copies of clusterkit must share the
// tenant context and recognise each other's errors.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as ck from 'clusterkit';

const plugin = createRequire(import.meta.url)('./plugin.cjs');
assert.notEqual(plugin.clusterkit.createApp, ck.createApp, 'expected two copies (ESM and CJS) of clusterkit');

// Tenant context: set by the ESM copy, read by the CJS copy — directly and inside a managed job.
ck.runWithTenant({ tenantId: 'acme' }, () => assert.equal(plugin.tenantNow()?.tenantId, 'acme'));
const app = ck.createApp({ name: 'dual-host', adapters: ck.createMemoryAdapters(), logger: ck.silentLogger });
await app.start();
await app.managedQueue.registerProcessor(new plugin.ReportProcessor());
const { jobId } = await ck.runWithTenant({ tenantId: 'acme' }, () =>
  app.managedQueue.enqueue({
    pluginName: 'reports',
    queueName: 'exports',
    jobName: 'monthly',
    payload: { month: '2026-11' },
  }),
);
const result = await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
assert.deepEqual(result, { tenantSeenByPlugin: 'acme', month: '2026-11' });
await app.stop();

// Errors: a ClusterError from either copy is recognised by the other.
try {
  plugin.fail();
  assert.fail('plugin.fail() did not throw');
} catch (error) {
  assert.ok(ck.isClusterError(error), 'isClusterError (ESM) on a CJS ClusterError');
  assert.ok(error instanceof ck.ClusterError, 'instanceof ClusterError (ESM) on a CJS ClusterError');
  assert.equal(error.code, 'INVALID_ARGUMENT');
}
const esmError = new ck.LockAcquireError('held');
assert.ok(plugin.clusterkit.isClusterError(esmError), 'isClusterError (CJS) on an ESM error');
assert.ok(esmError instanceof plugin.clusterkit.LockAcquireError, 'instanceof LockAcquireError across copies');
assert.ok(!(esmError instanceof plugin.clusterkit.UnrecoverableError), 'a subclass check stays a subclass check');
console.log('dual ok');
