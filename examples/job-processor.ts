// A NestJS-style plugin job processor: the platform owns the queue, the plugin declares what it
// handles with @PluginJobProcessor, and each job runs inside the tenant that enqueued it.
// Run: npx tsx examples/job-processor.ts
import {
  createApp,
  createMemoryAdapters,
  currentTenant,
  PluginJobProcessor,
  runWithTenant,
  silentLogger,
  type ManagedJobHandlerContext,
  type ManagedQueueJob,
} from 'clusterkit';

@PluginJobProcessor({ pluginName: 'billing', queueName: 'invoices', jobName: 'render', concurrency: 2 })
@PluginJobProcessor({ pluginName: 'billing', queueName: 'invoices', jobName: 'email' })
class InvoiceProcessor {
  async handle(job: ManagedQueueJob<{ invoiceId: number }>, ctx: ManagedJobHandlerContext) {
    await job.progress(50);
    await ctx.log(`working on invoice ${job.data.invoiceId}`);
    return { job: job.name, invoiceId: job.data.invoiceId, tenant: currentTenant()?.tenantId };
  }
}

const app = createApp({ name: 'billing-app', adapters: createMemoryAdapters(), logger: silentLogger });
await app.start();
await app.managedQueue.registerProcessor(new InvoiceProcessor());

for (const tenantId of ['acme', 'globex']) {
  const { jobId } = await runWithTenant({ tenantId }, () =>
    app.managedQueue.enqueue({
      pluginName: 'billing',
      queueName: 'invoices',
      jobName: 'render',
      payload: { invoiceId: 7 },
    }),
  );
  const result = await app.managedQueue.waitForJob(jobId, { timeoutMs: 10_000 });
  console.log(`tenant ${tenantId}: ${JSON.stringify(result)}`);
}

await app.stop();
console.log('job processor example done');
