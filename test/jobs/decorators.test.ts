/**
 * `@PluginJobProcessor` as the TypeScript compiler really emits it: the same source compiled with
 * standard decorators (the project's setting) and with `experimentalDecorators` (NestJS), then run
 * against a memory app. Stacked declarations dispatch on `job.name`; `process` is the fallback.
 */
import * as clusterkit from 'clusterkit';
import { createApp, silentLogger, type App } from 'clusterkit';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';

const SOURCE = `
import { PluginJobProcessor } from 'clusterkit';
@PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'welcome', concurrency: 2 })
@PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'digest' })
export class MailProcessor {
  calls: string[] = [];
  async handle(job: { name: string; data: number }) {
    this.calls.push(job.name);
    return job.name + ':' + job.data;
  }
}
@PluginJobProcessor({ pluginName: 'shop', queueName: 'mail', jobName: 'legacy-process' })
export class ProcessOnly {
  async process(job: { data: number }) {
    return job.data + 1;
  }
}
`;

/** Compiles SOURCE with the given decorator flavour and evaluates it with `clusterkit` injected. */
function compile(experimentalDecorators: boolean): {
  MailProcessor: new () => { calls: string[] };
  ProcessOnly: new () => object;
} {
  const { outputText } = ts.transpileModule(SOURCE, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators },
  });
  expect(outputText).toContain(experimentalDecorators ? '__decorate' : '__esDecorate');
  const module = { exports: {} as Record<string, unknown> };
  const require = (name: string) => {
    if (name !== 'clusterkit') throw new Error(`unexpected import ${name}`);
    return clusterkit;
  };
  new Function('require', 'module', 'exports', outputText)(require, module, module.exports);
  return module.exports as never;
}

describe('@PluginJobProcessor', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
  });

  for (const flavour of ['standard decorators', 'experimentalDecorators'] as const) {
    it(`works with ${flavour}, stacked, dispatching on job.name`, async () => {
      const { MailProcessor, ProcessOnly } = compile(flavour === 'experimentalDecorators');
      app = createApp({ name: `dec-${flavour === 'standard decorators' ? 's' : 'l'}`, logger: silentLogger });
      await app.start();
      const mail = new MailProcessor();
      await app.managedQueue.registerProcessor(mail);
      await app.managedQueue.registerProcessor(new ProcessOnly());
      const mq = app.managedQueue;
      const welcome = await mq.enqueue({ pluginName: 'shop', queueName: 'mail', jobName: 'welcome', payload: 1 });
      const digest = await mq.enqueue({ pluginName: 'shop', queueName: 'mail', jobName: 'digest', payload: 2 });
      const fallback = await mq.enqueue({
        pluginName: 'shop',
        queueName: 'mail',
        jobName: 'legacy-process',
        payload: 41,
      });
      expect(await mq.waitForJob(welcome.jobId, { timeoutMs: 5_000 })).toBe('welcome:1');
      expect(await mq.waitForJob(digest.jobId, { timeoutMs: 5_000 })).toBe('digest:2');
      expect(await mq.waitForJob(fallback.jobId, { timeoutMs: 5_000 })).toBe(42);
      expect(mail.calls.sort()).toEqual(['digest', 'welcome']);
    });
  }

  it('refuses bad declarations at decoration time', () => {
    expect(() => clusterkit.PluginJobProcessor({ pluginName: '', queueName: 'q', jobName: 'j' })).toThrow(/pluginName/);
    expect(() =>
      clusterkit.PluginJobProcessor({ pluginName: 'p', queueName: 'q', jobName: 'j', concurrency: 0 }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
