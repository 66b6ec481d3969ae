/**
 * Human durations for operators: `7d`, `12h`, `30m`, `45s`, `250ms`, and combinations like `1h30m`.
 * The CLI and the dashboard's clean form both go through {@link parseDuration}, so they agree.
 */
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/**
 * Parses a duration into milliseconds. A bare number is milliseconds. Throws a `ClusterError`
 * (`INVALID_OPTION`) naming `what` for anything else (empty, negative, unknown unit).
 */
export function parseDuration(text: string, what = 'duration'): number {
  const value = String(text).trim().toLowerCase();
  if (/^\d+$/.test(value)) return Number(value);
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(value); m; m = PART.exec(value)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = PART.lastIndex;
  }
  if (value.length === 0 || consumed !== value.length) {
    throw new ClusterError(
      ErrorCodes.INVALID_OPTION,
      `${what} must look like 7d, 12h, 30m, 45s, 250ms or 1h30m, got ${JSON.stringify(text)}`,
      { details: { option: what } },
    );
  }
  return Math.round(total);
}

/** Formats milliseconds the short way operators read them: `850ms`, `4.2s`, `3m 10s`, `2h 5m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0')).join(' ') || '0s';
}
