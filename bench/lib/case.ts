/**
 * What a benchmark case is, what it is given, and what it returns: result rows that pair this
 * library's figure with the raw library's, with a target and whether it was met.
 */
import { compare, summarizeSide, type CompareOptions, type CompareOutcome } from './harness.js';
import type { Summary } from './stats.js';

/** How a row's target is judged (on medians over runs). */
export type Target =
  /** ours / raw ≥ value (throughput-like figures). */
  | { readonly kind: 'min-ratio'; readonly value: number }
  /** ours / raw ≤ value (cost-like figures: CPU per job). */
  | { readonly kind: 'max-ratio'; readonly value: number }
  /** ours − raw ≤ value, in the figure's unit (latency-like figures). */
  | { readonly kind: 'max-delta'; readonly value: number }
  /** ours ≤ value. */
  | { readonly kind: 'max'; readonly value: number }
  /** ours ≤ value in every run (judged on the worst run, not the median). */
  | { readonly kind: 'max-every-run'; readonly value: number }
  /** ours ≥ value. */
  | { readonly kind: 'min'; readonly value: number }
  /** Reported, no target. */
  | { readonly kind: 'none' };

/** One line of the results table. */
export interface ResultRow {
  /** Variant, e.g. `concurrency 10` or `Redis`. */
  readonly label: string;
  /** Figure, e.g. `throughput`. */
  readonly metric: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** Side names as used in the comparison. */
  readonly oursName: string;
  readonly rawName?: string;
  readonly ours?: Summary;
  readonly raw?: Summary;
  /** ours / raw on medians. */
  readonly ratio?: number;
  /** ours − raw on medians. */
  readonly delta?: number;
  readonly target: Target;
  /** Null when there is no target or not enough data to judge. */
  readonly met: boolean | null;
  /** Why a side has no figure, how many runs completed, and similar. */
  readonly note?: string;
}

/** What a case is given. */
export interface CaseContext {
  /** Tiny sizes and fewer runs, for developing the bench itself (numbers are meaningless). */
  readonly quick: boolean;
  /** Counted runs per side. */
  readonly runs: number;
  /**
   * `full` in a real run, `quick` with `--quick`, `issue` (default `full`) with `--issue-sizes`: the
   * count named in the issue where it is larger than what fits the 15-minute run.
   */
  size(full: number, quick: number, issue?: number): number;
  /** Progress output. */
  log(line: string): void;
  /** Absolute `performance.now()` past which the case must not start new rounds. */
  readonly deadline: number;
  /** Run only these sides (`--side`, for profiling one side); all when undefined. */
  readonly sides?: readonly string[];
}

/** A case's result. */
export interface CaseReport {
  readonly rows: ResultRow[];
  /** Method notes: sizes, settings, caveats. */
  readonly notes: string[];
  /** Every comparison's raw outcome summarized per side and figure (secondary figures live here). */
  readonly comparisons: Record<string, ComparisonRecord>;
}

/** A comparison as stored in the JSON. */
export interface ComparisonRecord {
  /** Counted runs per side asked for. */
  readonly runsAsked: number;
  readonly rounds: number;
  readonly elapsedMs: number;
  readonly stoppedEarly?: string;
  readonly sides: Record<string, { figures: Record<string, Summary>; errors: string[]; unavailable?: string }>;
}

/** One benchmark case (one file under `bench/cases/`). */
export interface BenchCase {
  /** File name of `bench/results/<name>.json`. */
  readonly name: string;
  readonly title: string;
  /** The raw library it is compared with. */
  readonly compareWith: string;
  /** The target as stated in the issue. */
  readonly targetText: string;
  /** Most wall time the whole case may take in a full run, in ms. */
  readonly budgetMs: number;
  run(ctx: CaseContext, report: ReportBuilder): Promise<void>;
}

/** Collects a case's comparisons, rows and notes. */
export class ReportBuilder {
  readonly rows: ResultRow[] = [];
  readonly notes: string[] = [];
  readonly comparisons: Record<string, ComparisonRecord> = {};

  constructor(private readonly ctx: CaseContext) {}

  /** Runs {@link compare} under `key`, capping its budget at the case deadline, and records the outcome. */
  async compare(
    key: string,
    options: Omit<CompareOptions, 'log' | 'runs'> & { runs?: number },
  ): Promise<CompareOutcome> {
    const remaining = Math.max(0, this.ctx.deadline - performance.now());
    this.ctx.log(`  ${key}`);
    const only = this.ctx.sides;
    const sides = only
      ? Object.fromEntries(Object.entries(options.sides).filter(([name]) => only.includes(name)))
      : options.sides;
    const outcome = await compare({
      ...options,
      sides,
      runs: options.runs ?? this.ctx.runs,
      budgetMs: Math.min(options.budgetMs, remaining),
      log: (line) => this.ctx.log(line),
    });
    const record: ComparisonRecord['sides'] = {};
    for (const [name, side] of Object.entries(outcome.sides)) {
      record[name] = { figures: summarizeSide(side), errors: side.errors, unavailable: side.unavailable };
    }
    this.comparisons[key] = {
      runsAsked: options.runs ?? this.ctx.runs,
      rounds: outcome.rounds,
      elapsedMs: Math.round(outcome.elapsedMs),
      stoppedEarly: outcome.stoppedEarly,
      sides: record,
    };
    return outcome;
  }

  /** Adds a row for figure `metric` of comparison `key`, judging `target` on medians. */
  row(
    key: string,
    spec: {
      label: string;
      metric: string;
      /** Figure name in the runs' metrics; defaults to `metric`. */
      figure?: string;
      unit: string;
      higherIsBetter: boolean;
      ours: string;
      raw?: string;
      target: Target;
    },
  ): ResultRow {
    const record = this.comparisons[key];
    const figure = spec.figure ?? spec.metric;
    const ours = record?.sides[spec.ours]?.figures[figure];
    const raw = spec.raw ? record?.sides[spec.raw]?.figures[figure] : undefined;
    const ratio = ours && raw && raw.median !== 0 ? ours.median / raw.median : undefined;
    const delta = ours && raw ? ours.median - raw.median : undefined;
    const row: ResultRow = {
      label: spec.label,
      metric: spec.metric,
      unit: spec.unit,
      higherIsBetter: spec.higherIsBetter,
      oursName: spec.ours,
      rawName: spec.raw,
      ours,
      raw,
      ratio,
      delta,
      target: spec.target,
      met: judge(spec.target, ours, ratio, delta),
      note: describeGaps(record, spec.ours, spec.raw, record?.runsAsked ?? this.ctx.runs),
    };
    this.rows.push(row);
    return row;
  }

  /** Adds a method note. */
  note(text: string): void {
    this.notes.push(text);
  }

  /** The finished report. */
  build(): CaseReport {
    return { rows: this.rows, notes: this.notes, comparisons: this.comparisons };
  }
}

function judge(target: Target, ours: Summary | undefined, ratio?: number, delta?: number): boolean | null {
  switch (target.kind) {
    case 'min-ratio':
      return ratio === undefined ? null : ratio >= target.value;
    case 'max-ratio':
      return ratio === undefined ? null : ratio <= target.value;
    case 'max-delta':
      return delta === undefined ? null : delta <= target.value;
    case 'max':
      return ours === undefined ? null : ours.median <= target.value;
    case 'max-every-run':
      return ours === undefined ? null : ours.max <= target.value;
    case 'min':
      return ours === undefined ? null : ours.median >= target.value;
    case 'none':
      return null;
  }
}

function describeGaps(
  record: ComparisonRecord | undefined,
  ours: string,
  raw: string | undefined,
  runs: number,
): string | undefined {
  if (!record) return 'not run';
  const parts: string[] = [];
  for (const name of raw ? [ours, raw] : [ours]) {
    const side = record.sides[name];
    if (!side) continue;
    if (side.unavailable) parts.push(`${name} unavailable: ${side.unavailable}`);
    else {
      const n = Object.values(side.figures)[0]?.n ?? 0;
      if (n < runs) parts.push(`${name}: ${n} of ${runs} runs completed`);
    }
  }
  if (record.stoppedEarly) parts.push(record.stoppedEarly);
  return parts.length ? parts.join('; ') : undefined;
}
