#!/usr/bin/env node
/**
 * `clusterkit` — operate a clusterkit cluster from a shell: managed jobs (`queue`), dead letters
 * (`dlq`), a worker node (`worker`) and the web dashboard (`dashboard`). Configured by the same
 * environment variables as `adaptersFromEnv()`, overridden by flags. See docs/operations.md.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { toCliError } from './cli-context.js';
import { registerDlqCommands } from './dlq-commands.js';
import { registerQueueCommands } from './queue-commands.js';
import { registerServeCommands } from './serve-commands.js';

/** Builds the `clusterkit` program. */
function createProgram(json: boolean): Command {
  const program = new Command('clusterkit')
    .description('operate a clusterkit cluster: managed jobs, dead letters, workers, dashboard')
    .option('--app <name>', 'app name, the namespace of every queue and key (or CLUSTERKIT_APP)', undefined)
    .addOption(
      new Option('--adapter <backend>', 'backend of every primitive (or CLUSTERKIT_ADAPTER)').choices([
        'memory',
        'redis',
        'rabbitmq',
      ]),
    )
    .option('--redis-url <url>', 'Redis URL (or CLUSTERKIT_REDIS_URL / REDIS_URL)')
    .option('--redis-prefix <prefix>', 'Redis key prefix (or CLUSTERKIT_REDIS_PREFIX)')
    .option('--amqp-url <url>', 'RabbitMQ URL (or CLUSTERKIT_AMQP_URL / AMQP_URL)')
    .option('--connect-timeout <duration>', 'give up connecting after this long', '10s')
    .option('--json', 'machine-readable output (errors too: {"error":{"code","message"}} on stderr)')
    .option('--no-redact', 'show secret payload fields (password, token, ...) instead of [redacted]')
    .option('-v, --verbose', 'log connection details to stderr')
    .version(packageVersion(), '--version', 'print the clusterkit version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  if (json) {
    // Scripts parse stderr: commander's usage errors come out as JSON below, not as text here.
    program.configureOutput({ writeErr: () => {} });
    program.showHelpAfterError(false);
  }
  registerQueueCommands(program);
  registerDlqCommands(program);
  registerServeCommands(program);
  for (const group of program.commands) {
    group.exitOverride();
    if (json) group.configureOutput({ writeErr: () => {} });
    for (const command of group.commands) if (json) command.configureOutput({ writeErr: () => {} });
  }
  return program;
}

/** The version of the installed package (dist/cli.js and src/cli/index.ts both find package.json above them). */
function packageVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'clusterkit' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/** `--json` anywhere before a `--`. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function printError(json: boolean, code: string, message: string): void {
  process.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `error: ${message}\n`);
}

/** Runs the CLI with `argv` and returns the exit code. */
async function main(argv: string[] = process.argv): Promise<number> {
  const json = wantsJson(argv.slice(2));
  try {
    await createProgram(json).parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander (as text).
      if (error.exitCode === 0) return 0;
      if (json) printError(true, 'USAGE', error.message.replace(/^error: /, ''));
      return 2;
    }
    const cliError = toCliError(error);
    printError(json, cliError.code, cliError.message);
    return cliError.exitCode;
  }
}

// Broker clients can keep sockets open after a one-shot command; the command is done, so exit —
// but only once stdout and stderr have flushed, or a piped table could be cut short.
void main().then((code) => {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
