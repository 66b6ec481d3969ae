/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by file, so a
 * missed target can be traced to the code that costs the time.
 *
 *   npx tsx bench/tools/profile-summary.ts <file.cpuprofile> [--top 30] [--filter src/] [--callers writeUtf8String]
 *
 * `--callers <name>` shows which call stacks (3 frames up) the self time of functions named `<name>` comes from.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, filter: { type: 'string' }, callers: { type: 'string' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [--top N] [--filter text]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const shortUrl = (url: string) =>
  url.replace(/^file:\/\/.*?\/(node_modules|src|adapters|bench)\//, '$1/').replace(/^node:/, 'node:');
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = byId.get(id)?.callFrame;
  if (!frame) continue;
  const where = shortUrl(frame.url) || '(native)';
  if (values.filter && !where.includes(values.filter)) continue;
  const fn = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const pkg = where.startsWith('node_modules/')
    ? where
        .split('/')
        .slice(0, where.includes('/@') ? 3 : 2)
        .join('/')
    : where;
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
}

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (self time, of ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`);
  }
};
print('By function', byFunction);
print('By file / package', byFile);

if (values.callers) {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (id: number | undefined) => {
    const f = id === undefined ? undefined : byId.get(id)?.callFrame;
    return f ? `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}` : '(root)';
  };
  const stacks = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)?.callFrame.functionName !== values.callers) continue;
    const chain: string[] = [];
    let at = parent.get(id);
    for (let depth = 0; depth < 3 && at !== undefined; depth += 1, at = parent.get(at)) chain.push(label(at));
    const key = chain.join('  <  ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  print(`Callers of ${values.callers}`, stacks);
}
