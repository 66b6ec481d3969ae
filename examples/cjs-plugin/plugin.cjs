// A plugin written in CommonJS. It `require`s clusterkit, so it gets the package's CommonJS build —
// a second copy of the library next to the ESM host's. Tenant context and error checks still work
// across the two copies (clusterkit keeps them process-wide).
const { ClusterError, ErrorCodes, currentTenant, PluginJobProcessor } = require('clusterkit');

class GreetingProcessor {
  async handle(job) {
    if (typeof job.data.name !== 'string') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'name must be a string', { retryable: false });
    }
    return `hello ${job.data.name} (tenant ${currentTenant()?.tenantId})`;
  }
}
// Decorators are TypeScript/ESM syntax; in plain CommonJS apply the decorator as a function.
PluginJobProcessor({ pluginName: 'greeter', queueName: 'greetings', jobName: 'hello' })(GreetingProcessor);

module.exports = { GreetingProcessor };
