/**
 * Cost of one uncontended acquire+release pair, on a PRIVATE redis-server (REDIS_URL), per side:
 * wall µs, this process's CPU µs (`process.cpuUsage`, all threads) and main-thread CPU µs
 * (`/proc/thread-self/schedstat`: no GC helper threads), server CPU µs (`INFO cpu`), commands and
 * EVALSHA µs per pair (`INFO commandstats`, which counts the commands scripts run). Sides alternate
 * in one process (the order rotates every round); medians over the rounds are printed at the end.
 *
 *   REDIS_URL=redis://127.0.0.1:6442 npx tsx bench/tools/lock-seq-cost.ts [pairs per round] [rounds]
 *
 * Sides: `new` (`app.lockManager` of a tsup build of the working tree), `adapter` (that build's Redis
 * lock adapter called directly), `redlock` (@sesamecare-oss/redlock, one client) and, with
 * CK_OLD_REF=<git ref>[,<ref>…], `old`, `old2`, … (tsup builds of those commits' sources);
 * CK_SIDES=<name>,… keeps only those sides. Only meaningful while nothing else uses the server.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { redlockLocker } from '../lib/raw-locks.js';
import { serverCost } from '../lib/redis-costs.js';
import { quantile } from '../lib/stats.js';
import { deleteRedisPrefix, randomName, REDIS_URL } from '../lib/services.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PAIRS = Number(process.argv[2] ?? 4000);
const ROUNDS = Number(process.argv[3] ?? 7);
const TTL_MS = 10_000;
const ENTRY = `export * as core from 'clusterkit';\nexport * as redis from 'clusterkit/redis';\n`;

type Modules = { core: typeof import('clusterkit'); redis: typeof import('clusterkit/redis') };

/** Bundles `tree` (its tsconfig maps `clusterkit*` to its sources) into `outDir` and imports it. */
async function bundle(tree: string, outDir: string): Promise<Modules> {
  writeFileSync(path.join(tree, 'lock-seq-entry.ts'), ENTRY);
  const { build } = await import('tsup');
  await build({
    entry: { clusterkit: path.join(tree, 'lock-seq-entry.ts') },
    outDir,
    format: ['esm'],
    target: 'node20',
    splitting: false,
    dts: false,
    clean: true,
    silent: true,
    config: false,
    tsconfig: path.join(tree, 'tsconfig.json'),
  });
  if (tree === ROOT) rmSync(path.join(tree, 'lock-seq-entry.ts'));
  return (await import(pathToFileURL(path.join(outDir, 'clusterkit.js')).href)) as Modules;
}

function mainThreadCpuUs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
}

interface Side {
  name: string;
  pair(): Promise<void>;
  close(): Promise<void>;
}

async function managerSide(name: string, mods: Modules, adapterOnly = false): Promise<Side> {
  const prefix = randomName('ck-lockseq');
  const adapters = mods.redis.createRedisAdapters({ url: REDIS_URL, prefix });
  const app = mods.core.createApp({ name: prefix, logger: mods.core.silentLogger, adapters, stopGracePeriodMs: 2_000 });
  await app.start();
  const close = async () => {
    await app.stop().catch(() => undefined);
    await deleteRedisPrefix(prefix).catch(() => undefined);
  };
  if (adapterOnly) {
    const adapter = adapters.lock!;
    const key = `${app.name}:bench`;
    const owner = `${app.nodeId}:bench`;
    return {
      name,
      async pair() {
        const result = await adapter.tryAcquire(key, owner, TTL_MS);
        if (!result.acquired) throw new Error('held');
        await adapter.release(key, owner, result.fencingToken);
      },
      close,
    };
  }
  return {
    name,
    async pair() {
      const lock = await app.lockManager.acquire('bench', TTL_MS);
      await lock.release();
    },
    close,
  };
}

function redlockSide(): Side {
  const locker = redlockLocker();
  const key = randomName('lock');
  return {
    name: 'redlock',
    async pair() {
      const release = await locker.acquire(key, TTL_MS);
      await release();
    },
    close: () => locker.close(),
  };
}

const fresh = await bundle(ROOT, path.join(ROOT, 'bench', 'results', '.build', 'lockseq-new'));
let sides: Side[] = [await managerSide('new', fresh), await managerSide('adapter', fresh, true), redlockSide()];
for (const [i, ref] of (process.env.CK_OLD_REF ?? '').split(',').filter(Boolean).entries()) {
  const tree = path.join(os.tmpdir(), `lock-seq-old-tree-${i}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  execSync(`git archive ${ref} src adapters tsconfig.json | tar -x -C ${tree}`, { cwd: ROOT });
  const mods = await bundle(tree, path.join(ROOT, 'bench', 'results', '.build', `lockseq-old-${i}`));
  sides.push(await managerSide(i === 0 ? 'old' : `old${i + 1}`, mods));
}

// CK_SIDES=new,old,…: only these sides.
const only = process.env.CK_SIDES?.split(',');
if (only) sides = sides.filter((side) => only.includes(side.name));
type Row = { wall: number; cpu: number; main: number; server: number; commands: number; evalsha: number };
const rows = new Map<string, Row[]>(sides.map((s) => [s.name, []]));

for (const side of sides) for (let i = 0; i < 300; i += 1) await side.pair(); // warm-up
for (let round = 0; round < ROUNDS; round += 1) {
  const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
  for (const side of order) {
    const cpu0 = process.cpuUsage();
    let main0 = 0;
    const cost = await serverCost(PAIRS, async () => {
      main0 = mainThreadCpuUs();
      for (let i = 0; i < PAIRS; i += 1) await side.pair();
    });
    const main = (mainThreadCpuUs() - main0) / PAIRS;
    const cpu = process.cpuUsage(cpu0);
    let commands = 0;
    const detail: string[] = [];
    for (const name of cost.names) {
      const d = cost.delta(name);
      if (name.startsWith('info') || d.calls === 0) continue;
      commands += d.calls;
      detail.push(`${name} ${d.calls.toFixed(2)}`);
    }
    if (process.env.CK_TOP && round === 0) console.log(`  ${side.name}: ${detail.join(', ')}`);
    rows.get(side.name)!.push({
      wall: (cost.ms * 1000) / PAIRS,
      cpu: (cpu.user + cpu.system) / PAIRS,
      main,
      server: (cost.serverCpuSeconds * 1e6) / PAIRS,
      commands,
      evalsha: cost.delta('evalsha').usec,
    });
  }
  const last = [...rows].map(([n, r]) => `${n} ${r.at(-1)!.wall.toFixed(0)}/${r.at(-1)!.main.toFixed(0)}`);
  console.log(`round ${round + 1}: ${last.join('  ')} µs wall/main-thread CPU`);
}

const median = (xs: number[]) => quantile(xs, 0.5);
console.log(`medians over ${ROUNDS} rounds of ${PAIRS} pairs, µs per pair (commands: per pair, incl. in scripts)`);
console.log('side      wall   cpu(all)  cpu(main)  server  evalsha  commands');
for (const [name, r] of rows) {
  const m = (k: keyof Row) => median(r.map((x) => x[k]));
  console.log(
    `${name.padEnd(8)} ${m('wall').toFixed(0).padStart(5)} ${m('cpu').toFixed(1).padStart(9)} ${m('main').toFixed(1).padStart(10)}` +
      ` ${m('server').toFixed(1).padStart(7)} ${m('evalsha').toFixed(1).padStart(8)} ${m('commands').toFixed(2).padStart(9)}`,
  );
}
for (const side of sides) await side.close();
process.exit(0);
