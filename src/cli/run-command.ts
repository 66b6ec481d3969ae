/**
 * Glue between commander actions and an app: open the app from the global flags, run the command,
 * always close the app, and let errors reach the top level (which prints them and sets the exit code).
 */
import type { Command } from 'commander';
import type { App, OpsApp } from 'clusterkit';
import { closeApp, CliError, openApp, type GlobalOptions } from './cli-context.js';

/** An app as commands use it: the app itself plus the ops view of its managed queue. */
export type CliApp = App & OpsApp;

/** Global flags plus the command's own flags. */
export type CommandOptions = GlobalOptions & Record<string, unknown>;

/** Checks that the app has the managed-job layer and gives it the ops view. */
export function asOpsApp(app: App): CliApp {
  if (!(app as Partial<OpsApp>).managedQueue) {
    throw new CliError('this clusterkit build has no managed job layer (app.managedQueue)');
  }
  return app as CliApp;
}

/**
 * Wraps a command body: commander calls actions with the positional arguments, then the command's
 * options, then the command itself.
 */
export function withApp<O extends CommandOptions>(
  body: (app: CliApp, opts: O, args: unknown[]) => Promise<void>,
): (...all: unknown[]) => Promise<void> {
  return async (...all) => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as O;
    const args = all.slice(0, -2);
    const app = await openApp(opts, { warnOnMemory: !opts.json });
    try {
      await body(asOpsApp(app), opts, args);
    } finally {
      await closeApp(app);
    }
  };
}
