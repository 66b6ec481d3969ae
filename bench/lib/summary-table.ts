/**
 * The console summary printed at the end of `npm run bench`: one line per result row of the cases
 * that just ran, read back from their JSON files.
 */
import Table from 'cli-table3';
import { number, readCaseFiles } from './report.js';

/** Prints the rows of the named cases. */
export async function printSummary(names: readonly string[], quick: boolean): Promise<void> {
  const files = (await readCaseFiles(quick)).filter((f) => names.includes(f.name));
  const table = new Table({ head: ['case', 'variant', 'figure', 'clusterkit', 'raw', 'ratio', 'met'] });
  for (const file of files) {
    for (const row of file.rows) {
      table.push([
        file.name,
        row.label,
        `${row.metric} (${row.unit})`,
        row.ours ? number(row.ours.median) : '—',
        row.raw ? `${number(row.raw.median)} ${row.rawName ?? ''}` : '—',
        row.ratio === undefined ? '—' : row.ratio.toFixed(2),
        row.met === null ? '—' : row.met ? 'met' : 'MISSED',
      ]);
    }
  }
  console.log(`\n${table.toString()}`);
}
