/**
 * Memory footprint of waiting messages: N small messages published to a memory-queue channel with
 * no subscriber; heap growth (after a full GC) divided by N. For scale, the same N payload objects
 * held in a plain array are measured alternately.
 */
import type { BenchCase } from '../lib/case.js';
import { benchCluster, startNode } from '../lib/clusterkit-app.js';
import { gc, type RunInput } from '../lib/harness.js';
import { pool } from '../lib/waiting.js';

function heapBytes(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external + usage.arrayBuffers;
}

async function runClusterkit(input: RunInput, count: number) {
  const node = await startNode(benchCluster('memory'));
  try {
    const before = heapBytes();
    await pool(count, 1_000, input.signal, (i) => node.app.eventQueue.publish('bench', { i }));
    const counts = await node.adapters.eventQueue?.counts(`${node.app.name}:bench`);
    if (counts && counts.waiting !== count) throw new Error(`expected ${count} waiting, counted ${counts.waiting}`);
    const after = heapBytes();
    return { bytesPerMessage: (after - before) / count };
  } finally {
    await node.dispose(['bench']);
  }
}

async function runArray(input: RunInput, count: number) {
  const before = heapBytes();
  const items: { i: number }[] = [];
  await pool(count, 1_000, input.signal, async (i) => {
    items.push({ i });
  });
  const after = heapBytes();
  if (items.length !== count) throw new Error('lost items');
  return { bytesPerMessage: (after - before) / count };
}

/** The case. */
export const memoryFootprint: BenchCase = {
  name: 'memory-footprint',
  title: 'Memory queue footprint',
  compareWith: 'the payload objects alone in an array (for scale)',
  targetText: 'report bytes per waiting message',
  budgetMs: 55_000,
  async run(ctx, report) {
    const count = ctx.size(1_000_000, 50_000);
    report.note(
      `${count} messages \`{ i }\` published with no subscriber (all waiting); figure = (heapUsed + external after − ` +
        `before, each after a full GC) / ${count}. The app's own fixed cost is inside "before".`,
    );
    await report.compare('waiting', {
      budgetMs: ctx.deadline - performance.now(),
      runTimeoutMs: 60_000,
      warmup: false,
      sides: {
        clusterkit: (input) => runClusterkit(input, count),
        'array of payloads': (input) => runArray(input, count),
      },
    });
    report.row('waiting', {
      label: `${count.toLocaleString('en-US')} waiting`,
      metric: 'heap per message',
      figure: 'bytesPerMessage',
      unit: 'B',
      higherIsBetter: false,
      ours: 'clusterkit',
      raw: 'array of payloads',
      target: { kind: 'none' },
    });
  },
};
