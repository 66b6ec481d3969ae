/**
 * `clusterkit queue …`: submit, inspect and steer managed plugin jobs (`app.managedQueue`).
 */
import type { Command } from 'commander';
import { LIST_STATES, parseDuration, type JobState } from 'clusterkit/ops';
import {
  checkCleanupArgs,
  checkListState,
  checkRetryArgs,
  firstLines,
  integer,
  parsePayload,
  reportAction,
  truncate,
} from './arg-checks.js';
import { CliError, ExitCodes } from './cli-context.js';
import { ago, formatTime, printFacts, printJson, printTable, startProgress } from './output.js';
import { withApp, type CommandOptions } from './run-command.js';

const BATCH = 100;

/** Adds the `queue` command group to `program`. */
export function registerQueueCommands(program: Command): void {
  const queue = program
    .command('queue')
    .description('managed plugin jobs: submit, inspect, retry, cancel, clean, pause');

  queue
    .command('submit <plugin> <queue> <job> [payload]')
    .description('enqueue a job; payload is JSON (default {})')
    .option('--tenant <id>', 'tenant id')
    .option('--organization <id>', 'organization id')
    .option('--priority <n>', '0 urgent, 1 high, 2 normal, 3 low', integer('--priority'))
    .option('--delay <duration>', 'earliest start from now, e.g. 30s, 5m')
    .option('--attempts <n>', 'total attempts, the first included', integer('--attempts'))
    .option('--job-id <id>', 'idempotency id (namespaced by plugin and tenant)')
    .action(
      withApp(
        async (app, opts: CommandOptions & Record<string, any>, [pluginName, queueName, jobName, payloadText]) => {
          const payload = parsePayload(payloadText as string | undefined);
          const { jobId } = await app.managedQueue.enqueue({
            pluginName: pluginName as string,
            queueName: queueName as string,
            jobName: jobName as string,
            payload,
            ...(opts.tenant ? { tenantId: opts.tenant } : {}),
            ...(opts.organization ? { organizationId: opts.organization } : {}),
            ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
            ...(opts.delay ? { delayMs: parseDuration(opts.delay, '--delay') } : {}),
            ...(opts.attempts !== undefined ? { attempts: opts.attempts } : {}),
            ...(opts.jobId ? { jobId: opts.jobId } : {}),
          });
          if (opts.json) printJson({ jobId });
          else process.stdout.write(`enqueued ${pluginName}/${queueName}/${jobName} as job ${jobId}\n`);
        },
        (opts, [, , , payloadText]) => {
          parsePayload(payloadText as string | undefined);
          if (opts.delay) parseDuration(opts.delay as string, '--delay');
        },
      ),
    );

  queue
    .command('status <jobId>')
    .description('show one job: state, attempts, progress, failure, timestamps, payload')
    .action(
      withApp(async (app, opts, [jobId]) => {
        const job = await app.managedQueue.getJob(jobId as string);
        if (!job) throw new CliError(`job ${JSON.stringify(jobId)} not found`, ExitCodes.NOT_FOUND);
        if (opts.json) return printJson(job);
        printFacts([
          ['id', job.id],
          ['job', `${job.pluginName}/${job.queueName}/${job.jobName}`],
          ['state', job.state],
          ['tenant', job.tenantId],
          ['organization', job.organizationId],
          ['scope', job.scopeKey],
          ['user', job.userId],
          ['attempts', `${job.attemptsMade}${job.maxAttempts ? ` of ${job.maxAttempts}` : ''} finished`],
          ['running on', job.owner],
          ['progress', job.progress],
          ['priority', job.priority],
          ['enqueued', formatTime(job.timestamps.enqueuedAt)],
          ['started', formatTime(job.timestamps.startedAt)],
          ['finished', formatTime(job.timestamps.finishedAt)],
          ['failed reason', job.failedReason],
          // The latest attempt's stack, trimmed: --json has every attempt's in full.
          [
            'stack',
            firstLines(Array.isArray(job.stacktrace) ? job.stacktrace[job.stacktrace.length - 1] : job.stacktrace, 8),
          ],
          ['return value', job.returnValue],
          ['payload', job.payload],
          ['log lines', job.logs?.length ? `${job.logs.length} (clusterkit queue logs ${job.id})` : undefined],
        ]);
        if (job.history?.length) {
          process.stdout.write('attempts:\n');
          printTable(
            ['#', 'node', 'started', 'ended', 'outcome', 'error'],
            job.history.map((h) => [
              h.attempt,
              h.node,
              formatTime(h.startedAt),
              formatTime(h.finishedAt),
              h.outcome ?? 'running',
              truncate(h.error ? `${h.error.code ? `${h.error.code}: ` : ''}${h.error.message}` : '', 60),
            ]),
          );
        }
      }),
    );

  queue
    .command('logs <jobId>')
    .description("print a job's handler log lines (job.log / ctx.log), oldest first")
    .action(
      withApp(async (app, opts, [jobId]) => {
        const logs = await app.managedQueue.getJobLogs(jobId as string);
        if (logs === null) throw new CliError(`job ${JSON.stringify(jobId)} not found`, ExitCodes.NOT_FOUND);
        if (opts.json) return printJson({ jobId, logs });
        if (logs.length === 0) process.stdout.write('(no log lines)\n');
        for (const line of logs) process.stdout.write(`${line}\n`);
      }),
    );

  queue
    .command('list')
    .description('list jobs, newest first')
    .option('--plugin <name>', 'only this plugin')
    .option('--queue <name>', 'only this logical queue')
    .option('--tenant <id>', 'only this tenant')
    .option('--state <state>', `one of ${LIST_STATES.join('|')}`)
    .option('--limit <n>', 'page size', integer('--limit'), 20)
    .option('--offset <n>', 'skip this many', integer('--offset'), 0)
    .action(
      withApp(async (app, opts: CommandOptions & Record<string, any>) => {
        const { jobs, total } = await app.managedQueue.listJobs({
          ...(opts.state ? { state: opts.state as JobState } : {}),
          ...(opts.plugin ? { pluginName: opts.plugin } : {}),
          ...(opts.queue ? { queueName: opts.queue } : {}),
          ...(opts.tenant ? { tenantId: opts.tenant } : {}),
          offset: opts.offset,
          limit: opts.limit,
        });
        if (opts.json) return printJson({ jobs, total });
        printTable(
          ['id', 'plugin/queue/job', 'tenant', 'state', 'attempts', 'enqueued', 'reason'],
          jobs.map((j) => [
            j.id,
            `${j.pluginName}/${j.queueName}/${j.jobName}`,
            j.tenantId ?? '-',
            j.state,
            j.attemptsMade,
            ago(j.timestamps.enqueuedAt),
            truncate(j.failedReason ?? '', 60),
          ]),
          'no jobs match',
        );
        if (total > jobs.length)
          process.stdout.write(`showing ${opts.offset + 1}-${opts.offset + jobs.length} of ${total}\n`);
      }, checkListState),
    );

  queue
    .command('retry [jobId]')
    .description('retry a failed job, or every failed job with --all-failed')
    .option('--all-failed', 'retry every failed job (filtered by --plugin/--queue/--tenant)')
    .option('--plugin <name>', 'with --all-failed: only this plugin')
    .option('--queue <name>', 'with --all-failed: only this logical queue')
    .option('--tenant <id>', 'with --all-failed: only this tenant')
    .action(
      withApp(async (app, opts: CommandOptions & Record<string, any>, [jobId]) => {
        if (jobId) {
          const result = await app.managedQueue.retry(jobId as string);
          return reportAction(opts, `retry job ${jobId}`, result);
        }
        const filter = {
          ...(opts.plugin ? { pluginName: opts.plugin } : {}),
          ...(opts.queue ? { queueName: opts.queue } : {}),
          ...(opts.tenant ? { tenantId: opts.tenant } : {}),
        };
        const total = (await app.managedQueue.getMetrics(filter)).failed;
        const bar = startProgress('retrying failed jobs', total, opts.json);
        let retried = 0;
        const skipped: string[] = [];
        try {
          // Retried jobs leave the failed list, so keep reading past the ones that could not be retried.
          for (;;) {
            const { jobs } = await app.managedQueue.listJobs({
              ...filter,
              state: 'failed',
              offset: skipped.length,
              limit: BATCH,
            });
            if (jobs.length === 0) break;
            for (const job of jobs) {
              if ((await app.managedQueue.retry(job.id)).success) retried++;
              else skipped.push(job.id);
              bar.increment();
            }
            if (jobs.length < BATCH) break;
          }
        } finally {
          bar.stop();
        }
        if (opts.json) printJson({ retried, skipped });
        else
          process.stdout.write(
            `retried ${retried} failed job(s)${skipped.length ? `, ${skipped.length} could not be retried` : ''}\n`,
          );
      }, checkRetryArgs),
    );

  queue
    .command('cancel <jobId>')
    .description('cancel a waiting or delayed job (--abort also aborts a running one)')
    .option('--abort', 'abort the job if it is running (its handler sees signal.aborted)')
    .action(
      withApp(async (app, opts: CommandOptions & Record<string, any>, [jobId]) => {
        const result = await app.managedQueue.cancel({ jobId: jobId as string, abortActive: opts.abort === true });
        reportAction(opts, `cancel job ${jobId}`, result);
      }),
    );

  queue
    .command('cleanup')
    .description('delete finished jobs older than a duration')
    .requiredOption('--before <duration>', 'age, e.g. 7d, 12h, 30m')
    .option('--state <state>', 'completed|failed|cancelled', 'completed')
    .option('--batch <n>', 'jobs deleted per round trip', integer('--batch'), 1000)
    .action(
      withApp(async (app, opts: CommandOptions & Record<string, any>) => {
        const olderThanMs = parseDuration(opts.before, '--before');
        const state = opts.state as 'completed' | 'failed' | 'cancelled';
        const counts = (await app.managedQueue.getMetrics()) as unknown as Record<string, number>;
        const bar = startProgress(`cleaning ${state} jobs`, counts[state] ?? 0, opts.json);
        let removed = 0;
        try {
          for (;;) {
            const n = await app.managedQueue.clean({ state, olderThanMs, limit: opts.batch });
            removed += n;
            bar.increment(n);
            if (n < opts.batch) break;
          }
        } finally {
          bar.stop();
        }
        if (opts.json) printJson({ removed, state, olderThanMs });
        else process.stdout.write(`removed ${removed} ${state} job(s) older than ${opts.before}\n`);
      }, checkCleanupArgs),
    );

  for (const verb of ['pause', 'resume'] as const) {
    queue
      .command(`${verb} <plugin> <queue>`)
      .description(`${verb} a logical queue on every node`)
      .action(
        withApp(async (app, opts, [pluginName, queueName]) => {
          const ref = { pluginName: pluginName as string, queueName: queueName as string };
          await (verb === 'pause' ? app.managedQueue.pause(ref) : app.managedQueue.resume(ref));
          const paused = await app.managedQueue.isPaused(ref);
          if (opts.json) printJson({ ...ref, paused });
          else process.stdout.write(`${pluginName}/${queueName} is ${paused ? 'paused' : 'running'}\n`);
        }),
      );
  }

  queue
    .command('stats')
    .description('job counts per plugin/queue/tenant')
    .action(
      withApp(async (app, opts) => {
        const stats = await app.managedQueue.getQueueStats();
        if (opts.json) return printJson(stats);
        printTable(
          ['plugin', 'queue', 'tenant', 'waiting', 'active', 'delayed', 'completed', 'failed', 'paused'],
          stats.map((s) => [
            s.pluginName,
            s.queueName,
            s.tenantId ?? '-',
            s.waiting,
            s.active,
            s.delayed,
            s.completed,
            s.failed,
            s.paused ? 'yes' : 'no',
          ]),
          'no jobs',
        );
      }),
    );
}
