/**
 * Argument checks and small helpers of the `clusterkit` commands. Checks run before the command
 * connects, so bad input ends at once with exit code 2.
 */
import { LIST_STATES, parseDuration, type JobState } from 'clusterkit/ops';
import { CliError, ExitCodes, type GlobalOptions } from './cli-context.js';
import { printJson } from './output.js';
import type { CommandOptions } from './run-command.js';

/** `queue retry`: a job id or `--all-failed`, not both. */
export function checkRetryArgs(opts: CommandOptions & Record<string, any>, [jobId]: unknown[]): void {
  if (!jobId && !opts.allFailed) throw new CliError('give a job id or --all-failed', ExitCodes.USAGE);
  if (jobId && opts.allFailed) throw new CliError('give a job id or --all-failed, not both', ExitCodes.USAGE);
}

/** `queue cleanup`: a valid `--before` duration and a finished `--state`. */
export function checkCleanupArgs(opts: CommandOptions & Record<string, any>): void {
  parseDuration(opts.before as string, '--before');
  if (opts.state !== 'completed' && opts.state !== 'failed' && opts.state !== 'cancelled') {
    throw new CliError('--state must be completed, failed or cancelled', ExitCodes.USAGE);
  }
}

/** `queue list`: a known `--state`. */
export function checkListState(opts: CommandOptions & Record<string, any>): void {
  if (opts.state && !LIST_STATES.includes(opts.state as JobState)) {
    throw new CliError(
      `--state must be one of ${LIST_STATES.join(', ')}, got ${JSON.stringify(opts.state)}`,
      ExitCodes.USAGE,
    );
  }
}

/** Prints an action's `{ success, reason }`; a refusal ends the command (exit 4 for not_found, else 1). */
export function reportAction(opts: GlobalOptions, what: string, result: { success: boolean; reason?: string }): void {
  if (opts.json) printJson(result);
  if (!result.success) {
    const exit = result.reason === 'not_found' ? ExitCodes.NOT_FOUND : ExitCodes.FAILURE;
    throw new CliError(`could not ${what}: ${result.reason ?? 'refused'}`, exit);
  }
  if (!opts.json) process.stdout.write(`${what}: ok\n`);
}

/** Parses a job payload given on the command line (JSON; `{}` when omitted). */
export function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`payload is not valid JSON: ${(error as Error).message}`, ExitCodes.USAGE);
  }
}

/** A commander argument parser for integers (exit 2 on anything else). */
export function integer(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n))
      throw new CliError(`${flag} must be an integer, got ${JSON.stringify(value)}`, ExitCodes.USAGE);
    return n;
  };
}

/** The first `count` lines of a text, with a note of how many were left out. */
export function firstLines(text: string | undefined, count: number): string | undefined {
  if (!text) return undefined;
  const lines = text.split('\n');
  return lines.length > count
    ? [...lines.slice(0, count), `    … ${lines.length - count} more line(s) (--json for all)`].join('\n')
    : text;
}

/** Cuts a text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
