/**
 * Type-level check (compiled by `tsc --noEmit`, never run): `@PluginJobProcessor` type-checks as a
 * TypeScript standard class decorator (the project's setting) and is assignable to the legacy
 * `ClassDecorator` type that `experimentalDecorators` (NestJS) uses. Runtime behaviour of both
 * emissions is tested in decorators.test.ts.
 */
import { PluginJobProcessor, type ManagedQueueJob } from 'clusterkit';

@PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'welcome', concurrency: 2 })
@PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'digest' })
export class StandardDecorated {
  async handle(job: ManagedQueueJob<string>): Promise<string> {
    return job.data;
  }
}

export const legacy: ClassDecorator = PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'x' });
