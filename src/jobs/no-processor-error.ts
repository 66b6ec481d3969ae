/** The `NO_PROCESSOR` failure both engines give a job whose handler no live node has had for the grace period. */
import { ClusterError, ErrorCodes } from '../errors.js';

/** `NO_PROCESSOR` for handler `h`, missing on every live node for `graceMs` (`processorGraceMs`). */
export function noProcessorError(
  h: { readonly pluginName: string; readonly queueName: string; readonly jobName: string },
  graceMs: number,
): ClusterError {
  return new ClusterError(
    ErrorCodes.NO_PROCESSOR,
    `no processor registered for ${h.pluginName}/${h.queueName}/${h.jobName} on any live node for ${graceMs} ms`,
    { details: { pluginName: h.pluginName, queueName: h.queueName, jobName: h.jobName } },
  );
}
