/**
 * `npm run bench` — runs every benchmark case (or `--only a,b`), writes `bench/results/<case>.json`
 * and regenerates the results table of `docs/performance.md`.
 *
 *   npm run bench                       all cases, full sizes (about 15 minutes)
 *   npm run bench -- --only lock-sequential,pubsub
 *   npm run bench -- --quick            tiny sizes, 2 runs: checks the bench works; figures mean nothing
 *   npm run bench -- --runs 7           counted runs per side (default 5)
 *   npm run bench -- --list             list the cases
 *   npm run bench -- --docs-only        regenerate docs/performance.md from bench/results/*.json
 *   npm run bench -- --only pubsub --side clusterkit   one side only (for profiling; results not written)
 *   npm run bench -- --worktree         build the working tree instead of the last commit
 *   npm run bench -- --issue-sizes      the issue's counts where the default is smaller (RabbitMQ prefetch 1; budgets ×3)
 *   npm run bench -- --source           run the working tree's TypeScript through tsx instead of a build
 *
 * Profiling: NODE_OPTIONS='--cpu-prof --cpu-prof-dir=.tmp/prof' npm run bench -- --only <case> --side clusterkit,
 * then `npx tsx bench/tools/profile-summary.ts .tmp/prof/<file>.cpuprofile`.
 */
import { parseArgs } from 'node:util';
import { cases } from './cases/index.js';
import { ReportBuilder, type CaseContext } from './lib/case.js';
import { prepareClusterkit } from './lib/clusterkit-loader.js';
import { libraryVersions, machineInfo, serviceInfo } from './lib/environment.js';
import { writeCaseFile, writePerformanceDoc } from './lib/report.js';
import { BENCH_NAME_ROOT, deleteRabbitObjects, deleteRedisPrefix, listRabbitObjects } from './lib/services.js';
import { printSummary } from './lib/summary-table.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string' },
    list: { type: 'boolean', default: false },
    'docs-only': { type: 'boolean', default: false },
    side: { type: 'string' },
    source: { type: 'boolean', default: false },
    worktree: { type: 'boolean', default: false },
    'issue-sizes': { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const c of cases) console.log(`${c.name.padEnd(28)} ${c.title} (budget ${c.budgetMs / 1000} s)`);
  process.exit(0);
}

const quick = values.quick ?? false;
const issueSizes = values['issue-sizes'] ?? false;
if (values['docs-only']) {
  console.log(
    `wrote ${await writePerformanceDoc(
      quick,
      cases.map((c) => c.name),
    )}`,
  );
  process.exit(0);
}
const runs = values.runs ? Number(values.runs) : quick ? 2 : 5;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((n) => !cases.some((c) => c.name === n)) ?? [];
if (unknown.length) throw new Error(`unknown case(s): ${unknown.join(', ')}; see --list`);
const selected = cases.filter((c) => !only || only.includes(c.name));
const sides = values.side?.split(',').map((s) => s.trim());

// A library's stray rejection (a connection closing mid-teardown) must not end the whole run.
process.on('unhandledRejection', (reason) => console.error('  (unhandled rejection)', reason));

async function cleanupLeftovers(): Promise<void> {
  const keys = await deleteRedisPrefix(BENCH_NAME_ROOT).catch(() => 0);
  const rabbit = await listRabbitObjects(BENCH_NAME_ROOT);
  await deleteRabbitObjects(rabbit).catch(() => undefined);
  if (keys || rabbit.queues.length || rabbit.exchanges.length) {
    console.log(`  cleanup: ${keys} Redis keys, ${rabbit.queues.length} queues, ${rabbit.exchanges.length} exchanges`);
  }
}

const services = await serviceInfo();
const versions = libraryVersions();
try {
  const source = values.source ? 'source' : values.worktree ? 'worktree' : 'head';
  const what = await prepareClusterkit(source);
  // A build of a commit names its commit; otherwise keep HEAD (+dirty) next to what was measured.
  versions.clusterkit = what.startsWith('tsup build of commit')
    ? `${versions.clusterkit.replace(/ \(.*\)$/, '')}, ${what}`
    : `${versions.clusterkit}, ${what}`;
} catch (error) {
  // The raw sides still run; every clusterkit side will report this error as "unavailable".
  console.error(`  clusterkit could not be loaded: ${(error as Error).message}`);
}
console.log(`clusterkit bench: ${selected.length} case(s), ${runs} runs per side${quick ? ', QUICK sizes' : ''}`);
console.log(
  `  versions: ${Object.entries(versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
if (services.errors.length) console.log(`  services: ${services.errors.join('; ')}`);
const benchStart = performance.now();

for (const benchCase of selected) {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  console.log(`\n== ${benchCase.name}: ${benchCase.title} (load ${machine.loadAverage.join(' ')})`);
  const ctx: CaseContext = {
    quick,
    runs,
    size: (full, small, issue) => (quick ? small : issueSizes ? (issue ?? full) : full),
    log: (line) => console.log(line),
    deadline: started + benchCase.budgetMs * (issueSizes ? 3 : 1),
    sides,
  };
  const report = new ReportBuilder(ctx);
  let error: string | undefined;
  try {
    await benchCase.run(ctx, report);
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    console.log(`  case failed: ${error}`);
  }
  // The PostgreSQL cases use neither Redis nor RabbitMQ (and drop their own schemas): sweeping
  // every bench-named key and queue there would only hit other benchmark runs sharing the brokers.
  if (!benchCase.name.startsWith('postgres-')) await cleanupLeftovers();
  if (sides) {
    console.log('  --side given: one-sided run, results not written');
    continue;
  }
  const file = await writeCaseFile({
    name: benchCase.name,
    title: benchCase.title,
    compareWith: benchCase.compareWith,
    targetText: benchCase.targetText,
    quick,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    runsPerSide: runs,
    machine,
    versions,
    services,
    error,
    ...report.build(),
  });
  console.log(`  wrote ${file} (${Math.round((performance.now() - started) / 1000)} s)`);
}

if (!sides) {
  const doc = await writePerformanceDoc(
    quick,
    cases.map((c) => c.name),
  );
  await printSummary(
    selected.map((c) => c.name),
    quick,
  );
  console.log(`\nwrote ${doc}`);
}
console.log(`total ${Math.round((performance.now() - benchStart) / 1000)} s`);
// Libraries may keep sockets half-closed for a while; every run has already cleaned up after itself.
process.exit(0);
