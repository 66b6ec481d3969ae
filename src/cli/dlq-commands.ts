/**
 * `clusterkit dlq …`: dead letters of event-queue channels (`app.eventQueue`).
 */
import type { Command } from 'commander';
import { physicalChannel } from 'clusterkit/ops';
import { CliError, ExitCodes } from './cli-context.js';
import { formatTime, printJson, printTable, startProgress } from './output.js';
import { integer } from './arg-checks.js';
import { withApp, type CliApp, type CommandOptions } from './run-command.js';

const BATCH = 100;

/** Adds the `dlq` command group to `program`. */
export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('event-queue dead letters: list, redrive, delete');

  dlq
    .command('list [channel]')
    .description('list dead letters, oldest first (channel defaults to the managed-job queue)')
    .option('--limit <n>', 'page size', integer('--limit'), 20)
    .option('--offset <n>', 'skip this many', integer('--offset'), 0)
    .action(
      withApp(async (app, opts: CommandOptions & Record<string, any>, [channelArg]) => {
        const channel = resolveChannel(app, channelArg as string | undefined);
        const [letters, counts] = await Promise.all([
          app.eventQueue.listDeadLetters(channel, { offset: opts.offset, limit: opts.limit }),
          app.eventQueue.counts(channel),
        ]);
        if (opts.json) return printJson({ channel, total: counts.dead, deadLetters: letters });
        printTable(
          ['id', 'attempts', 'failed at', 'error', 'message'],
          letters.map((d) => [
            d.id,
            d.attempt,
            formatTime(d.failedAt),
            typeof d.error === 'string' ? d.error : `${d.error.code ? `${d.error.code}: ` : ''}${d.error.message}`,
            shorten(JSON.stringify(d.message)),
          ]),
          `no dead letters in ${channel}`,
        );
        if (counts.dead > letters.length) {
          process.stdout.write(`showing ${opts.offset + 1}-${opts.offset + letters.length} of ${counts.dead}\n`);
        }
      }),
    );

  for (const verb of ['redrive', 'delete'] as const) {
    dlq
      .command(`${verb} [channel] [ids...]`)
      .description(
        verb === 'redrive'
          ? 'move dead letters back to the queue with a fresh retry budget (all, or the given ids)'
          : 'delete dead letters (all, or the given ids)',
      )
      .option('--all', 'every dead letter of the channel (required when no ids are given)')
      .action(
        withApp(
          async (app, opts: CommandOptions & Record<string, any>, [channelArg, idsArg]) => {
            const channel = resolveChannel(app, channelArg as string | undefined);
            const ids = (idsArg as string[] | undefined) ?? [];
            const run = (batch?: string[]) =>
              verb === 'redrive'
                ? app.eventQueue.redrive(channel, batch)
                : app.eventQueue.deleteDeadLetters(channel, batch);
            const count = ids.length ? await run(ids) : await everything(app, channel, verb, run, opts.json === true);
            if (opts.json) printJson({ channel, [verb === 'redrive' ? 'redriven' : 'deleted']: count });
            else
              process.stdout.write(
                `${verb === 'redrive' ? 'redrove' : 'deleted'} ${count} dead letter(s) of ${channel}\n`,
              );
          },
          (opts, [channelArg, idsArg]) => {
            if (((idsArg as string[] | undefined) ?? []).length === 0 && !opts.all) {
              const of = channelArg ? ` of ${String(channelArg)}` : '';
              throw new CliError(`give dead-letter ids or --all to ${verb} every dead letter${of}`, ExitCodes.USAGE);
            }
          },
        ),
      );
  }
}

/** Processes every dead letter in pages, so a large DLQ shows progress and never loads at once. */
async function everything(
  app: CliApp,
  channel: string,
  verb: string,
  run: (ids: string[]) => Promise<number>,
  json: boolean,
): Promise<number> {
  const total = (await app.eventQueue.counts(channel)).dead;
  const bar = startProgress(`${verb} ${channel}`, total, json);
  let done = 0;
  try {
    for (;;) {
      // Handled letters leave the list, so the first page is always the next batch.
      const page = await app.eventQueue.listDeadLetters(channel, { offset: 0, limit: BATCH });
      if (page.length === 0) break;
      const n = await run(page.map((d) => d.id));
      done += n;
      bar.increment(n);
      if (n === 0) break;
    }
  } finally {
    bar.stop();
  }
  return done;
}

function resolveChannel(app: CliApp, channel: string | undefined): string {
  const resolved = channel ?? physicalChannel(app);
  if (!resolved) throw new CliError('give a channel name', ExitCodes.USAGE);
  return resolved;
}

function shorten(text: string | undefined, max = 80): string {
  const t = text ?? '';
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
