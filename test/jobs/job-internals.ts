/**
 * What the regression tests of the job layer need beyond the public calls: a job claimed by a node
 * that is not alive (the "dead owner" of a takeover) and the wire ticket of a job (to send the
 * duplicates a redelivery or a repair produces).
 */
import type { App } from 'clusterkit';

/** Marks generation 0 of `jobId` as run by `nodeId`, a node with no heartbeat (crashed mid-run). */
export async function claimAsDeadNode(app: App, jobId: string, nodeId: string): Promise<void> {
  const store = app.managedQueue.jobStore;
  const record = await store.get(jobId);
  if (!record) throw new Error(`no job ${jobId}`);
  const result = await store.claim(
    { id: jobId, nonce: record.nonce, gen: record.gen },
    { nodeId, now: record.runAt, handler: 'test' },
  );
  if (result.type !== 'claimed') throw new Error(`claim as dead node failed: ${result.type}`);
}

/** The ticket of generation 0 of a job as it travels on the physical queue (without incarnation nonce). */
export async function ticketOf(app: App, jobId: string): Promise<Record<string, unknown>> {
  const info = await app.managedQueue.getJob(jobId);
  if (!info) throw new Error(`no job ${jobId}`);
  const ticket: Record<string, unknown> = {
    v: 1,
    kind: 'clusterkit.managed-job',
    jobId,
    gen: 0,
    pluginName: info.pluginName,
    queueName: info.queueName,
    jobName: info.jobName,
    enqueuedAt: info.timestamps.enqueuedAt,
    priority: info.priority,
  };
  if (info.tenantId !== undefined) ticket.tenantId = info.tenantId;
  return ticket;
}
