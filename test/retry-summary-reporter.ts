/**
 * A vitest reporter that ends the run with the list of tests that needed a retry. CI retries a
 * failed test once (vitest.config.ts `retry`), so a flaky test does not sink the run; but a retry
 * that happens is a bug to chase (a race, a missed deadline, a leak between tests), so it must not
 * go unseen in a green run. Prints nothing when retries are off (local runs).
 */
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';

/** See the module comment. */
export default class RetrySummaryReporter implements Reporter {
  private retriesAllowed = 0;

  onInit(vitest: Vitest): void {
    const retry: unknown = vitest.config.retry;
    this.retriesAllowed = typeof retry === 'number' ? retry : ((retry as { count?: number } | undefined)?.count ?? 0);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (this.retriesAllowed === 0) return;
    const retried: TestCase[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) if (test.diagnostic()?.retryCount) retried.push(test);
    }
    const lines = [`\n== tests that needed a retry (retry: ${this.retriesAllowed}): ${retried.length || 'none'}`];
    for (const test of retried) {
      const { retryCount = 0 } = test.diagnostic() ?? {};
      const state = test.result().state;
      const outcome = state === 'passed' ? `passed after ${retryCount} retr${retryCount === 1 ? 'y' : 'ies'}` : state;
      lines.push(`  RETRIED ${test.module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName} — ${outcome}`);
      const first = test.result().errors?.[0]?.message;
      if (first) lines.push(`    first error: ${first.split('\n')[0]}`);
    }
    if (retried.length > 0)
      lines.push('  Each retry is a bug to chase: see the test output above for its first failure.');
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
