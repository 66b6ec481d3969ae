// A CommonJS plugin loaded by an ESM host (host.mjs): it gets clusterkit's CommonJS build, a second
// copy of the library in the same process (the dual-package hazard).
const ck = require('clusterkit');

class ReportProcessor {
  async handle(job) {
    // The host enqueued the job inside tenant "acme"; the platform (ESM copy) restored that tenant.
    return { tenantSeenByPlugin: ck.currentTenant() ? ck.currentTenant().tenantId : null, month: job.data.month };
  }
}
ck.PluginJobProcessor({ pluginName: 'reports', queueName: 'exports', jobName: 'monthly' })(ReportProcessor);

module.exports = {
  clusterkit: ck,
  ReportProcessor,
  tenantNow: () => ck.currentTenant(),
  fail: () => {
    throw new ck.ClusterError(ck.ErrorCodes.INVALID_ARGUMENT, 'thrown by the CJS copy');
  },
};
