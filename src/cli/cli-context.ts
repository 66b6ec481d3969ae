/**
 * What every `clusterkit` command shares: global flags → environment → adapters (through
 * `adaptersFromEnv()`, so the CLI reads exactly the variables an app does), connecting with a
 * deadline, and errors that end the process with a clear message and a meaningful exit code.
 */
import {
  adaptersFromEnv,
  backendsFromEnv,
  ClusterError,
  isClusterError,
  createApp,
  ErrorCodes,
  type App,
  type Logger,
  type ManagedQueueOptions,
} from 'clusterkit';
import { parseDuration } from 'clusterkit/ops';

/** Flags every command accepts (see `clusterkit --help`). */
export interface GlobalOptions {
  app?: string;
  adapter?: string;
  redisUrl?: string;
  redisPrefix?: string;
  amqpUrl?: string;
  json?: boolean;
  connectTimeout?: string;
  verbose?: boolean;
}

/** Exit codes: scripts can tell "not found" from "broker down" from "bad input". */
export const ExitCodes = {
  FAILURE: 1,
  USAGE: 2,
  BACKEND_UNAVAILABLE: 3,
  NOT_FOUND: 4,
} as const;

/** An error that ends the command with `exitCode` and prints only `message`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCodes.FAILURE,
  ) {
    super(message);
  }
}

/** The environment `adaptersFromEnv()` sees once flags are applied on top of `process.env`. */
export function envFromOptions(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  if (opts.redisUrl) out.CLUSTERKIT_REDIS_URL = opts.redisUrl;
  if (opts.amqpUrl) out.CLUSTERKIT_AMQP_URL = opts.amqpUrl;
  if (opts.redisPrefix) out.CLUSTERKIT_REDIS_PREFIX = opts.redisPrefix;
  if (opts.adapter) {
    out.CLUSTERKIT_ADAPTER = opts.adapter;
    // An explicit --adapter wins over per-primitive variables left in the environment.
    for (const key of ['EVENT_QUEUE', 'LOCK', 'PUBSUB', 'CACHE']) delete out[`CLUSTERKIT_${key}_ADAPTER`];
  } else if (!env.CLUSTERKIT_ADAPTER) {
    // Giving a broker URL on the command line means "use it".
    if (opts.amqpUrl) out.CLUSTERKIT_ADAPTER = 'rabbitmq';
    else if (opts.redisUrl) out.CLUSTERKIT_ADAPTER = 'redis';
  }
  return out;
}

/** The app name: `--app`, else `CLUSTERKIT_APP`, else `main`. */
export function appName(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.app ?? env.CLUSTERKIT_APP ?? 'main';
}

/** A logger for CLI processes: warnings and errors on stderr, the rest with `--verbose`. */
export function cliLogger(verbose = false): Logger {
  const write = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    const error = meta?.error instanceof Error ? `: ${meta.error.message}` : '';
    process.stderr.write(`[clusterkit] ${level} ${message}${error}\n`);
  };
  const skip = () => {};
  return {
    debug: verbose ? write('debug') : skip,
    info: verbose ? write('info') : skip,
    warn: write('warn'),
    error: write('error'),
  };
}

/** Options of {@link openApp}. */
export interface OpenAppOptions {
  /** Warn on stderr when the backend is memory (a one-shot command then sees an empty cluster). */
  warnOnMemory?: boolean;
  logger?: Logger;
  /** Options of the app's managed queue (a one-shot command is not a worker). */
  managedQueue?: ManagedQueueOptions;
}

/** Builds the app from flags/environment and starts it, failing with exit code 3 when the broker does not answer in time. */
export async function openApp(opts: GlobalOptions, options: OpenAppOptions = {}): Promise<App> {
  const app = await buildApp(opts, options);
  await startApp(app, opts);
  return app;
}

const backendsOf = new WeakMap<App, { backends: Record<string, string>; env: NodeJS.ProcessEnv }>();

/** Builds (does not start) the app from flags/environment; loading plugins comes between this and {@link startApp}. */
export async function buildApp(opts: GlobalOptions, options: OpenAppOptions = {}): Promise<App> {
  const env = envFromOptions(opts);
  let backends: ReturnType<typeof backendsFromEnv>;
  let adapters: Awaited<ReturnType<typeof adaptersFromEnv>>;
  try {
    backends = backendsFromEnv(env);
    adapters = await adaptersFromEnv(env);
  } catch (error) {
    throw new CliError(`cannot configure adapters: ${messageOf(error)}`, ExitCodes.USAGE);
  }
  if (options.warnOnMemory && Object.values(backends).every((b) => b === 'memory')) {
    process.stderr.write(
      'note: using the in-process memory backend, which only this process can see; ' +
        'set CLUSTERKIT_ADAPTER=redis and CLUSTERKIT_REDIS_URL (or --redis-url) to reach a cluster\n',
    );
  }
  const app = createApp({
    name: appName(opts),
    adapters,
    logger: options.logger ?? cliLogger(opts.verbose),
    ...(options.managedQueue ? { managedQueue: options.managedQueue } : {}),
  });
  backendsOf.set(app, { backends, env });
  return app;
}

/** Starts the app within `--connect-timeout` (default 10s); an unreachable broker ends the command with exit code 3. */
export async function startApp(app: App, opts: GlobalOptions): Promise<void> {
  const timeoutMs = parseDuration(opts.connectTimeout ?? '10s', '--connect-timeout');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      app.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    const { backends, env } = backendsOf.get(app) ?? { backends: {}, env: process.env };
    throw new CliError(
      `cannot connect to ${describeBackends(backends, env)}: ${messageOf(error)}`,
      ExitCodes.BACKEND_UNAVAILABLE,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Stops the app, bounded so a wedged connection cannot keep a finished command alive. */
export async function closeApp(app: App, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    app.stop().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** Maps any error to the message and exit code the CLI ends with. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isClusterError(error) || typeof (error as { code?: unknown })?.code === 'string') {
    const code = (error as ClusterError).code;
    const exit =
      code === ErrorCodes.NOT_FOUND
        ? ExitCodes.NOT_FOUND
        : code === ErrorCodes.BACKEND_UNAVAILABLE || code === ErrorCodes.NOT_CONNECTED
          ? ExitCodes.BACKEND_UNAVAILABLE
          : code === ErrorCodes.INVALID_ARGUMENT ||
              code === ErrorCodes.INVALID_OPTION ||
              code === ErrorCodes.INVALID_NAME ||
              code === ErrorCodes.INVALID_PAYLOAD ||
              code === ErrorCodes.UNKNOWN_OPTION
            ? ExitCodes.USAGE
            : ExitCodes.FAILURE;
    return new CliError(`${messageOf(error)} (${code})`, exit);
  }
  return new CliError(messageOf(error));
}

function describeBackends(backends: Record<string, string>, env: NodeJS.ProcessEnv): string {
  const used = new Set(Object.values(backends));
  const parts: string[] = [];
  if (used.has('redis')) parts.push(`redis at ${redact(env.CLUSTERKIT_REDIS_URL ?? env.REDIS_URL)}`);
  if (used.has('rabbitmq')) parts.push(`rabbitmq at ${redact(env.CLUSTERKIT_AMQP_URL ?? env.AMQP_URL)}`);
  return parts.length ? parts.join(' and ') : 'the memory backend';
}

/** Hides the password of a broker URL in messages. */
function redact(url: string | undefined): string {
  if (!url) return '(no url)';
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return messageOf(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
