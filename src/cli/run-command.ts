/**
 * Glue between commander actions and an app: open the app from the global flags, run the command,
 * always close the app, and let errors reach the top level (which prints them and sets the exit code).
 */
import type { Command } from 'commander';
import type { App } from 'clusterkit';
import type { OpsApp } from 'clusterkit/ops';
import { closeApp, openApp, type GlobalOptions } from './cli-context.js';

/** An app as commands use it. */
export type CliApp = App;

/** Global flags plus the command's own flags. */
export type CommandOptions = GlobalOptions & Record<string, unknown>;

/** The ops view of an app (checked at compile time: an `App` is an `OpsApp`). */
export function asOpsApp(app: App): OpsApp {
  return app;
}

/**
 * Wraps a command body: commander calls actions with the positional arguments, then the command's
 * options, then the command itself. `check` validates input before anything connects, so a typo
 * fails at once with exit code 2 instead of after a broker round trip.
 */
export function withApp<O extends CommandOptions>(
  body: (app: CliApp, opts: O, args: unknown[]) => Promise<void>,
  check?: (opts: O, args: unknown[]) => void,
): (...all: unknown[]) => Promise<void> {
  return async (...all) => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as O;
    const args = all.slice(0, -2);
    check?.(opts, args);
    // One-shot commands must never take jobs or fire schedules: this node is only a window onto the cluster.
    const app = await openApp(opts, { warnOnMemory: !opts.json, managedQueue: { worker: false, schedules: false } });
    try {
      await body(app, opts, args);
    } finally {
      await closeApp(app);
    }
  };
}
