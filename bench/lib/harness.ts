/**
 * The comparison harness: runs each side of a comparison (this library and the raw library beneath
 * it) alternately in the same process, round after round, so drift in machine load hits both alike.
 * Every run has a time limit (its AbortSignal fires and its waits give up) and every comparison a
 * time budget (no new round starts when the budget would be exceeded; what completed is reported).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { summarize, type Summary } from './stats.js';

/** Figures one run measured, by name (`throughput`, `p50`, ...). */
export type Metrics = Record<string, number>;

/** What a run is told. */
export interface RunInput {
  /** Fires when the run's time limit passes: stop waiting, clean up, throw. */
  readonly signal: AbortSignal;
  /** A warm-up run (not counted): JIT, connections, scripts loaded. Cases may use a smaller size. */
  readonly warmup: boolean;
  /** Round number, from 0. */
  readonly round: number;
}

/** One side's run: sets up, measures, tears down, returns the figures. */
export type RunFn = (input: RunInput) => Promise<Metrics>;

/** Options of {@link compare}. */
export interface CompareOptions {
  /** The sides by name, e.g. `{ clusterkit, bullmq }`. Their order rotates every round. */
  readonly sides: Readonly<Record<string, RunFn>>;
  /** Counted runs per side. */
  readonly runs: number;
  /** Wall-time budget of the whole comparison in ms (warm-ups included). */
  readonly budgetMs: number;
  /** Time limit of one run in ms. */
  readonly runTimeoutMs: number;
  /** One uncounted warm-up run per side first. @default true */
  readonly warmup?: boolean;
  /** Progress output. */
  readonly log?: (line: string) => void;
}

/** What happened to one side. */
export interface SideOutcome {
  /** Figures of each counted run that completed. */
  readonly runs: Metrics[];
  /** Messages of runs that failed. */
  readonly errors: string[];
  /** Set when the side stopped being run (failed warm-up, repeated failures). */
  unavailable?: string;
}

/** Result of {@link compare}. */
export interface CompareOutcome {
  readonly sides: Record<string, SideOutcome>;
  /** Rounds that started. */
  rounds: number;
  elapsedMs: number;
  /** Why fewer rounds than asked ran, if they did. */
  stoppedEarly?: string;
}

let collectGarbage: (() => void) | undefined;

/** A full GC between runs so one side's garbage is not collected on the other side's clock. */
export function gc(): void {
  if (!collectGarbage) {
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  collectGarbage();
}

async function runOnce(fn: RunFn, input: Omit<RunInput, 'signal'>, timeoutMs: number): Promise<Metrics> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fn({ ...input, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}

/** Runs the sides alternately (see the module comment) and collects each run's figures. */
export async function compare(options: CompareOptions): Promise<CompareOutcome> {
  const log = options.log ?? (() => {});
  const names = Object.keys(options.sides);
  const started = performance.now();
  const outcome: CompareOutcome = { sides: {}, rounds: 0, elapsedMs: 0 };
  for (const name of names) outcome.sides[name] = { runs: [], errors: [] };
  const elapsed = () => performance.now() - started;

  const attempt = async (name: string, input: Omit<RunInput, 'signal'>): Promise<Metrics | undefined> => {
    const side = outcome.sides[name]!;
    gc();
    try {
      return await runOnce(options.sides[name]!, input, options.runTimeoutMs);
    } catch (error) {
      const message = describeError(error);
      side.errors.push(message);
      log(`    ${name} ${input.warmup ? 'warm-up' : `run ${input.round + 1}`} failed: ${message}`);
      // A side that cannot warm up, or fails twice, would only burn the other side's budget.
      if (input.warmup || side.errors.length >= 2) side.unavailable = message;
      return undefined;
    }
  };

  if (options.warmup ?? true) {
    for (const name of names) await attempt(name, { warmup: true, round: -1 });
  }

  let longestRound = 0;
  for (let round = 0; round < options.runs; round += 1) {
    const live = names.filter((n) => !outcome.sides[n]!.unavailable);
    if (live.length === 0) break;
    if (round > 0 && elapsed() + longestRound > options.budgetMs) {
      outcome.stoppedEarly = `time budget of ${Math.round(options.budgetMs / 1000)} s reached after ${round} rounds`;
      log(`    ${outcome.stoppedEarly}`);
      break;
    }
    const roundStart = performance.now();
    outcome.rounds = round + 1;
    // Rotate the order every round so neither side always runs first (warmer caches, fresher heap).
    const order = live.map((_, i) => live[(i + round) % live.length]!);
    const figures: string[] = [];
    for (const name of order) {
      const metrics = await attempt(name, { warmup: false, round });
      if (metrics) {
        outcome.sides[name]!.runs.push(metrics);
        figures.push(`${name} ${formatMetrics(metrics)}`);
      }
    }
    log(`    round ${round + 1}: ${figures.join(' | ')}`);
    longestRound = Math.max(longestRound, performance.now() - roundStart);
  }
  outcome.elapsedMs = elapsed();
  return outcome;
}

function formatMetrics(metrics: Metrics): string {
  return Object.entries(metrics)
    .slice(0, 6)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(v < 10 ? 3 : 1)}`)
    .join(' ');
}

/** Median/spread of every figure of one side, by figure name. */
export function summarizeSide(side: SideOutcome | undefined): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  if (!side) return out;
  const keys = new Set(side.runs.flatMap((m) => Object.keys(m)));
  for (const key of keys) {
    const summary = summarize(side.runs.map((m) => m[key] ?? Number.NaN));
    if (summary) out[key] = summary;
  }
  return out;
}
