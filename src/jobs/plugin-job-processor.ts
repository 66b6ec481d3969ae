/**
 * `@PluginJobProcessor({ pluginName, queueName, jobName, concurrency })`: declares that a class
 * handles a managed job. Stack it to handle several jobs with one class (its `handle(job, ctx)`
 * dispatches on `job.name`). One implementation serves both decorator flavours: TypeScript
 * standard decorators call it as `(class, context)`, `experimentalDecorators` (NestJS) as
 * `(class)`; either way the declaration is stored on the class itself, not in a module-level map.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertInteger, assertName, assertOptions, describe } from '../validation.js';
import type { ProcessorOptions } from './types.js';

const PROCESSORS = Symbol.for('clusterkit.pluginJobProcessors');
const PROCESSOR_KEYS = ['pluginName', 'queueName', 'jobName', 'concurrency', 'globalConcurrency', 'rateLimit'] as const;

/** Checks processor options (shared by the decorator and `managedQueue.process`). */
export function checkProcessorOptions(call: string, options: ProcessorOptions): ProcessorOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${call}: options must be an object, got ${describe(options)}`);
  }
  const o = assertOptions(call, options, PROCESSOR_KEYS);
  const checked: ProcessorOptions = {
    pluginName: assertName(`${call}: pluginName`, o.pluginName),
    queueName: assertName(`${call}: queueName`, o.queueName),
    jobName: assertName(`${call}: jobName`, o.jobName),
  };
  if (o.concurrency !== undefined) checked.concurrency = assertInteger('concurrency', o.concurrency, 1, 10_000);
  if (o.globalConcurrency !== undefined) {
    checked.globalConcurrency = assertInteger('globalConcurrency', o.globalConcurrency, 1, 10_000);
  }
  if (o.rateLimit !== undefined) {
    const r = assertOptions(`${call}: rateLimit`, o.rateLimit, ['max', 'durationMs']);
    checked.rateLimit = {
      max: assertInteger('rateLimit.max', r.max, 1),
      durationMs: assertInteger('rateLimit.durationMs', r.durationMs, 1, 2_147_483_647),
    };
  }
  return checked;
}

/**
 * Class decorator marking a processor; stackable. Works with TypeScript standard decorators and
 * with `experimentalDecorators`. The class implements `handle(job, ctx)` (or `process`).
 *
 * ```ts
 * @PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'welcome', concurrency: 4 })
 * @PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'digest' })
 * class MailProcessor {
 *   async handle(job: ManagedQueueJob, ctx: ManagedJobContext) { ... }
 * }
 * await app.managedQueue.registerProcessor(new MailProcessor());
 * ```
 */
export function PluginJobProcessor(options: ProcessorOptions) {
  const checked = checkProcessorOptions('@PluginJobProcessor', options);
  // `Function` (not a constructor type) so the same function also satisfies the legacy `ClassDecorator` type.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  return function decorate(target: Function, _context?: ClassDecoratorContext): void {
    if (typeof target !== 'function') {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, '@PluginJobProcessor decorates classes only');
    }
    const own = Object.prototype.hasOwnProperty.call(target, PROCESSORS)
      ? ((target as unknown as Record<symbol, ProcessorOptions[]>)[PROCESSORS] ?? [])
      : [];
    // Decorators apply bottom-up; unshift keeps the declarations in source order.
    Object.defineProperty(target, PROCESSORS, { value: [checked, ...own], configurable: true });
  };
}

/**
 * The processor declarations of an instance's class (and its base classes, nearest first; a
 * subclass declaration for the same plugin/queue/job wins).
 */
export function processorDeclarations(instance: object): ProcessorOptions[] {
  const found: ProcessorOptions[] = [];
  const seen = new Set<string>();
  let ctor = (instance as { constructor?: unknown }).constructor;
  while (typeof ctor === 'function' && ctor !== Object && ctor !== Function.prototype) {
    if (Object.prototype.hasOwnProperty.call(ctor, PROCESSORS)) {
      for (const declaration of (ctor as unknown as Record<symbol, ProcessorOptions[]>)[PROCESSORS] ?? []) {
        const key = JSON.stringify([declaration.pluginName, declaration.queueName, declaration.jobName]);
        if (seen.has(key)) continue;
        seen.add(key);
        found.push(declaration);
      }
    }
    ctor = Object.getPrototypeOf(ctor);
  }
  return found;
}
