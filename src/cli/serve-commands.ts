/**
 * Long-running commands: `clusterkit worker` (a worker node running plugin processors) and
 * `clusterkit dashboard` (the web dashboard). Both stop gracefully on SIGINT/SIGTERM: the app stops
 * taking work and waits for in-flight jobs before the process exits; a second signal forces the exit.
 */
import type { Command } from 'commander';
import { type App } from 'clusterkit';
import { createJobStatsRecorder, parseDuration, startDashboardServer, type OpsJobInfo } from 'clusterkit/ops';
import { buildApp, closeApp, CliError, ExitCodes, startApp, type GlobalOptions } from './cli-context.js';
import { loadPluginModules } from './plugin-loader.js';
import { integer } from './arg-checks.js';
import { asOpsApp, type CommandOptions } from './run-command.js';

/** Adds `worker` and `dashboard` to `program`. */
export function registerServeCommands(program: Command): void {
  program
    .command('worker')
    .description('run a worker node: load plugin modules that register processors, process jobs until SIGINT/SIGTERM')
    .requiredOption('--plugins <modules...>', 'plugin modules (paths or package names)')
    .option(
      '--concurrency <n>',
      'most jobs this node runs at once across all handlers (also passed to each plugin module)',
      integer('--concurrency'),
    )
    .option('--grace <duration>', 'how long a stop waits for in-flight jobs', '30s')
    .action(async (opts: CommandOptions & Record<string, any>, cmd: Command) => {
      const all = cmd.optsWithGlobals() as CommandOptions & Record<string, any>;
      if (all.concurrency !== undefined && all.concurrency < 1)
        throw new CliError('--concurrency must be >= 1', ExitCodes.USAGE);
      const app = await buildApp(all, {
        ...(all.concurrency !== undefined ? { managedQueue: { workerConcurrency: all.concurrency } } : {}),
      });
      const loaded = await loadPluginModules(app, all.plugins as string[], {
        ...(all.concurrency !== undefined ? { concurrency: all.concurrency } : {}),
      });
      logJobEvents(app, all);
      // Throughput and wait/run times for the dashboard's charts (bounded per-minute counts in the store).
      const stats = createJobStatsRecorder(asOpsApp(app), { onError: () => {} });
      await startApp(app, all);
      say(
        all,
        { event: 'started', app: app.name, node: app.nodeId, plugins: loaded },
        `worker ${app.nodeId} started (${loaded.join('; ')})`,
      );
      await untilSignal(app, all, parseDuration(all.grace as string, '--grace'), () => stats.close());
    });

  program
    .command('dashboard')
    .description('serve the web dashboard (and /metrics) until SIGINT/SIGTERM')
    .option('--port <n>', 'TCP port (0 = any free port)', integer('--port'), 3900)
    .option('--host <host>', 'interface to bind; anything but loopback requires --token or --basic', '127.0.0.1')
    .option('--token <token>', 'access token (or CLUSTERKIT_DASHBOARD_TOKEN)')
    .option('--basic <user:password>', 'basic auth credentials (or CLUSTERKIT_DASHBOARD_BASIC)')
    .option('--read-only', 'hide and refuse every action')
    .option('--redact <fields...>', 'payload fields to redact (replaces the default list)')
    .option('--no-metrics', 'do not serve /metrics')
    .option('--plugins <modules...>', 'also load plugin modules and process jobs in this process')
    .action(async (opts: CommandOptions & Record<string, any>, cmd: Command) => {
      const all = cmd.optsWithGlobals() as CommandOptions & Record<string, any>;
      const token = (all.token as string | undefined) ?? process.env.CLUSTERKIT_DASHBOARD_TOKEN;
      const basicText = (all.basic as string | undefined) ?? process.env.CLUSTERKIT_DASHBOARD_BASIC;
      let basic: { username: string; password: string } | undefined;
      if (basicText) {
        const colon = basicText.indexOf(':');
        if (colon <= 0) throw new CliError('--basic must look like user:password', ExitCodes.USAGE);
        basic = { username: basicText.slice(0, colon), password: basicText.slice(colon + 1) };
      }
      // Without --plugins the dashboard only watches; with them it is a worker node too.
      const app = await buildApp(all, all.plugins ? {} : { managedQueue: { worker: false, schedules: false } });
      if (all.plugins) await loadPluginModules(app, all.plugins as string[], {});
      await startApp(app, all);
      let server;
      try {
        server = await startDashboardServer(asOpsApp(app), {
          port: all.port,
          host: all.host,
          ...(token || basic ? { auth: { ...(token ? { token } : {}), ...(basic ? { basic } : {}) } } : {}),
          readOnly: all.readOnly === true,
          ...(all.redact ? { redact: all.redact as string[] } : {}),
          metrics: all.metrics !== false,
        });
      } catch (error) {
        await closeApp(app);
        throw error;
      }
      // A one-time, expiring login link instead of a reusable token in a URL (see docs/operations.md).
      const loginUrl = token ? server.loginUrl() : undefined;
      say(
        all,
        { event: 'listening', url: server.url, auth: server.handler.hasAuth, ...(loginUrl ? { loginUrl } : {}) },
        `dashboard listening on ${server.url}${loginUrl ? `\nlog in (one-time link, valid 10 min): ${loginUrl}` : ''}`,
      );
      await untilSignal(app, all, 10_000, () => server.close());
    });
}

/** Prints worker job events: one line each, or NDJSON with --json. */
function logJobEvents(app: App, opts: GlobalOptions): void {
  const managed = asOpsApp(app).managedQueue;
  const name = (info: OpsJobInfo) => `${info.pluginName}/${info.queueName}/${info.jobName}`;
  managed.on('job:completed', (info: OpsJobInfo, meta?: { durationMs?: number }) =>
    say(
      opts,
      { event: 'completed', jobId: info.id, job: name(info), durationMs: meta?.durationMs },
      `completed ${name(info)} ${info.id} in ${meta?.durationMs ?? '?'}ms`,
    ),
  );
  managed.on('job:failed', (info: OpsJobInfo, error: Error, meta?: { willRetry?: boolean }) =>
    say(
      opts,
      { event: 'failed', jobId: info.id, job: name(info), error: error?.message, willRetry: meta?.willRetry === true },
      `failed ${name(info)} ${info.id}: ${error?.message}${meta?.willRetry ? ' (will retry)' : ''}`,
    ),
  );
}

/** Waits for SIGINT/SIGTERM, then stops gracefully; a second signal exits at once. */
function untilSignal(app: App, opts: GlobalOptions, graceMs: number, before?: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    // Signal listeners do not keep Node alive, and a memory-backed node may have no other handle.
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting without waiting\n`);
        process.exit(130);
      }
      stopping = true;
      say(opts, { event: 'stopping', signal }, `${signal}: stopping, waiting for in-flight jobs (up to ${graceMs} ms)`);
      (async () => {
        await before?.().catch(() => {});
        await closeApp(app, graceMs + 5_000);
        say(opts, { event: 'stopped' }, 'stopped');
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        clearInterval(keepAlive);
        resolve();
      })().catch(() => resolve());
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function say(opts: GlobalOptions, data: Record<string, unknown>, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify({ at: Date.now(), ...data })}\n` : `${text}\n`);
}
