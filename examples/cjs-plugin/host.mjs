// An ESM host loading a CommonJS plugin. Build first (`npm run build`), then:
// node examples/cjs-plugin/host.mjs
import { createRequire } from 'node:module';
import { createApp, createMemoryAdapters, isClusterError, runWithTenant, silentLogger } from 'clusterkit';

const { GreetingProcessor } = createRequire(import.meta.url)('./plugin.cjs');

const app = createApp({ name: 'greeter-app', adapters: createMemoryAdapters(), logger: silentLogger });
await app.start();
await app.managedQueue.registerProcessor(new GreetingProcessor());

const enqueue = (payload) =>
  runWithTenant({ tenantId: 'acme' }, () =>
    app.managedQueue.enqueue({ pluginName: 'greeter', queueName: 'greetings', jobName: 'hello', payload }),
  );
const ok = await enqueue({ name: 'Ada' });
console.log(await app.managedQueue.waitForJob(ok.jobId, { timeoutMs: 10_000 }));
const bad = await enqueue({ name: 42 });
try {
  await app.managedQueue.waitForJob(bad.jobId, { timeoutMs: 10_000 });
} catch (error) {
  console.log(`the job failed: ${error.message}`);
}
// An error thrown by the plugin's copy of clusterkit is recognised by the host's copy.
try {
  await new GreetingProcessor().handle({ data: { name: 42 } });
} catch (error) {
  console.log(`isClusterError across copies: ${isClusterError(error)} (${error.code})`);
}
await app.stop();
console.log('cjs plugin example done');
