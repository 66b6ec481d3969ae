/**
 * Output of the `clusterkit` CLI: tables for people (cli-table3), JSON for scripts (`--json`), and a
 * progress bar on stderr for long operations (only on a terminal, so pipes and logs stay clean).
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { formatDuration } from 'clusterkit/ops';

/** Prints JSON (one document, pretty when stdout is a terminal). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, process.stdout.isTTY ? 2 : undefined)}\n`);
}

/** Prints rows as a table; `empty` when there are none. */
export function printTable(head: string[], rows: unknown[][], empty = '(none)'): void {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const table = new Table({ head, style: { ...plainStyle(), compact: true } });
  // Counts read best right-aligned, like any spreadsheet.
  for (const row of rows)
    table.push(row.map((v) => (typeof v === 'number' ? { content: String(v), hAlign: 'right' as const } : cell(v))));
  process.stdout.write(`${table.toString()}\n`);
}

/** Prints `[label, value]` pairs as a two-column table (job detail). */
export function printFacts(facts: [string, unknown][]): void {
  const table = new Table({ style: { ...plainStyle(), compact: true } });
  for (const [label, value] of facts) {
    if (value === undefined || value === '') continue;
    table.push({ [label]: cell(value) });
  }
  process.stdout.write(`${table.toString()}\n`);
}

/** A date as operators read it in a table (local ISO-like, seconds precision). */
export function formatTime(ms: number | undefined): string {
  if (!ms) return '';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** How long ago, e.g. `3m 10s ago`. */
export function ago(ms: number | undefined, now = Date.now()): string {
  return ms ? `${formatDuration(Math.max(0, now - ms))} ago` : '';
}

/** A progress bar on stderr that renders only on a terminal and never with `--json`. */
export interface Progress {
  increment(by?: number): void;
  setTotal(total: number): void;
  stop(): void;
}

/** Starts a progress bar of `total` steps labelled `label`. */
export function startProgress(label: string, total: number, json = false): Progress {
  if (json || !process.stderr.isTTY) return { increment() {}, setTotal() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0);
  let value = 0;
  let max = Math.max(total, 1);
  return {
    increment(by = 1) {
      value += by;
      if (value > max) bar.setTotal((max = value));
      bar.update(value);
    },
    setTotal(t) {
      bar.setTotal((max = Math.max(t, value, 1)));
    },
    stop() {
      bar.stop();
    },
  };
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}

function plainStyle() {
  // Colour only on a terminal: ANSI codes in a pipe break grep and tests alike.
  return process.stdout.isTTY ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}
