#!/usr/bin/env node
/**
 * `clusterkit` — operate a clusterkit cluster from a shell: managed jobs (`queue`), dead letters
 * (`dlq`), a worker node (`worker`) and the web dashboard (`dashboard`). Configured by the same
 * environment variables as `adaptersFromEnv()`, overridden by flags. See docs/operations.md.
 */
import { Command, CommanderError, Option } from 'commander';
import { toCliError } from './cli-context.js';
import { registerDlqCommands } from './dlq-commands.js';
import { registerQueueCommands } from './queue-commands.js';
import { registerServeCommands } from './serve-commands.js';

/** Builds the `clusterkit` program. */
function createProgram(): Command {
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
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'log connection details to stderr')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerQueueCommands(program);
  registerDlqCommands(program);
  registerServeCommands(program);
  for (const group of program.commands) group.exitOverride();
  return program;
}

/** Runs the CLI with `argv` and returns the exit code. */
async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    const cliError = toCliError(error);
    process.stderr.write(`error: ${cliError.message}\n`);
    return cliError.exitCode;
  }
}

// Broker clients can keep sockets open after a one-shot command; the command is done, so exit —
// but only once stdout and stderr have flushed, or a piped table could be cut short.
void main().then((code) => {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
