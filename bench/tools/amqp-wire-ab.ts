/**
 * Alternating A/B of clusterkit against raw amqplib on one RabbitMQ case, with load-robust figures
 * beside the throughput: the client's CPU per message (`process.cpuUsage`), the broker's CPU per
 * message (beam.smp's utime+stime from /proc), the broker's Erlang reductions per message (a count
 * of work that does not depend on how busy the machine is), and what crosses the wire per message
 * (socket writes and reads, bytes, and with `--frames` the AMQP methods by class.method id,
 * `basic.ack` (60.80) split into `multiple` or not; `>` client to broker, `<` broker to client).
 *
 *   npx tsx --expose-gc bench/tools/amqp-wire-ab.ts --case queue --prefetch 500 --count 20000 --rounds 6 [--frames]
 *   npx tsx --expose-gc bench/tools/amqp-wire-ab.ts --case pubsub --count 30000 --rounds 8
 *
 * Sides (`--sides`, comma-separated, alternated, the first round a warm-up): `ck` (the working tree,
 * built with tsup like the bench's `--worktree`), `raw`, and for the queue `raw-ck-shaped` (raw
 * amqplib sending clusterkit-shaped messages). `ck+flag+flag` sets `globalThis.__ckExp.flag` for the
 * run: a temporary experiment switch in the library code compares two variants in one build (two
 * builds in one process are not comparable: an A/A test of two copies of one build differed by
 * 0.82× in client CPU). A private broker keeps other people's traffic out of the broker figures:
 * `AMQP_URL=amqp://guest:guest@127.0.0.1:<port> BROKER_PID=<its beam.smp> BROKER_NODE=<node>
 * BROKER_HOME=<dir with its cookie>` (docs/performance.md, RabbitMQ section, says how to start one).
 * `DUMP=1` prints the first frames.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { benchCluster, startNode, type BenchApp } from '../lib/clusterkit-app.js';
import { prepareClusterkit } from '../lib/clusterkit-loader.js';
import { startRawWorkQueue, type MessageShape } from '../lib/raw-amqp.js';
import { startRawAmqpPubSub } from '../lib/raw-pubsub.js';
import { quantile } from '../lib/stats.js';
import { countdown, deferred, pool, quiet, until } from '../lib/waiting.js';

const { values: args } = parseArgs({
  options: {
    case: { type: 'string', default: 'queue' },
    prefetch: { type: 'string', default: '500' },
    count: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '4' },
    window: { type: 'string', default: '500' },
    frames: { type: 'boolean', default: false },
    sides: { type: 'string' },
  },
});
const COUNT = Number(args.count);
const PREFETCH = Number(args.prefetch);
const WINDOW = Number(args.window);

/** Wire counters of the sockets opened during one run. */
interface Wire {
  writes: number;
  outBytes: number;
  reads: number;
  inBytes: number;
  methods: Map<string, number>;
}
let wire: Wire = freshWire();
function freshWire(): Wire {
  return { writes: 0, outBytes: 0, reads: 0, inBytes: 0, methods: new Map() };
}

let dumped = 0;
/** Counts methods of one direction (`>` client to broker, `<` broker to client). */
function frameCounter(direction: string) {
  let rest: Buffer = Buffer.alloc(0);
  let header = direction === '>';
  return (chunk: Buffer) => {
    rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    if (header) {
      if (rest.length < 8) return;
      rest = rest.subarray(8);
      header = false;
    }
    while (rest.length >= 8) {
      const size = rest.readUInt32BE(3);
      if (rest.length < size + 8) break;
      if (process.env.DUMP && dumped < 40 && rest[0] !== 8) {
        dumped += 1;
        console.log(direction, rest[0], JSON.stringify(rest.subarray(7, size + 7).toString('latin1')));
      }
      if (rest[0] === 1) {
        let name = `${rest.readUInt16BE(7)}.${rest.readUInt16BE(9)}`;
        if (name === '60.80') name += rest[19]! & 1 ? ' ack multiple' : ' ack';
        const key = `${direction} ${name}`;
        wire.methods.set(key, (wire.methods.get(key) ?? 0) + 1);
      }
      rest = rest.subarray(size + 8);
    }
  };
}

/** The broker's port (from AMQP_URL) and, for its CPU, its pid (BROKER_PID, else the first beam.smp). */
const AMQP_PORT = new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672').port || '5672';
const BROKER_PID = process.env.BROKER_PID;
const connect = net.connect;
(net as unknown as { connect: typeof net.connect }).connect = function (this: unknown, ...a: unknown[]) {
  const socket = (connect as (...x: unknown[]) => net.Socket).apply(this, a);
  const options = a[0] as { port?: number } | undefined;
  if (String(options?.port) !== AMQP_PORT) return socket;
  const out = args.frames ? frameCounter('>') : undefined;
  const inn = args.frames ? frameCounter('<') : undefined;
  const s = socket as unknown as Record<string, (...x: unknown[]) => unknown>;
  const write = s.write!;
  s.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, 'latin1');
    wire.outBytes += b.length;
    out?.(b);
    return write.call(this, chunk, ...rest);
  };
  for (const name of ['_write', '_writev'] as const) {
    const original = s[name]!;
    s[name] = function (this: unknown, ...x: unknown[]) {
      wire.writes += 1;
      return original.apply(this, x);
    };
  }
  const read = s.read!;
  s.read = function (this: unknown, ...x: unknown[]) {
    const chunk = read.apply(this, x) as Buffer | null;
    if (chunk) {
      wire.reads += 1;
      wire.inBytes += chunk.length;
      inn?.(chunk);
    }
    return chunk;
  };
  return socket;
} as typeof net.connect;

/** beam.smp CPU time so far, in ms (0 when it cannot be read). */
function brokerCpuMs(): number {
  try {
    for (const pid of BROKER_PID ? [BROKER_PID] : readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      if (!stat.includes('(beam.smp)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    }
  } catch {
    // no /proc
  }
  return 0;
}

type Run = () => Promise<{ messages: number; seconds: number }>;

function queueSide(side: string): Run {
  const signal = AbortSignal.timeout(180_000);
  if (side.startsWith('ck')) {
    return async () => {
      (globalThis as Record<string, unknown>).__ckExp = Object.fromEntries(
        side
          .split('+')
          .slice(1)
          .map((k) => [k, true]),
      );
      const done = countdown(COUNT);
      const node = await startNode(benchCluster('rabbitmq'), (app) =>
        app.eventQueue.subscribe('bench', { concurrency: PREFETCH, process: async () => done.hit() }),
      );
      try {
        return await measured(COUNT, async () => {
          const start = performance.now();
          await pool(COUNT, WINDOW, signal, (i) => node.app.eventQueue.publish('bench', { i }));
          await until(done.done, signal, 'handlers');
          return (done.lastAt - start) / 1000;
        });
      } finally {
        await node.dispose(['bench']);
      }
    };
  }
  const shape: MessageShape = side === 'raw-ck-shaped' ? 'clusterkit' : 'plain';
  return async () => {
    const done = countdown(COUNT);
    const raw = await startRawWorkQueue(PREFETCH, async () => done.hit(), shape);
    try {
      return await measured(COUNT, async () => {
        const start = performance.now();
        await pool(COUNT, WINDOW, signal, (i) => raw.publish(Buffer.from(JSON.stringify({ i }))));
        await until(done.done, signal, 'handlers');
        return (done.lastAt - start) / 1000;
      });
    } finally {
      await raw.close();
    }
  };
}

function pubsubSide(side: string): Run {
  const signal = AbortSignal.timeout(180_000);
  return async () => {
    const ready = deferred();
    const received = countdown(COUNT);
    const onMessage = (message: unknown) => {
      if ((message as { probe?: boolean }).probe) ready.resolve();
      else received.hit();
    };
    let publish: (m: unknown) => Promise<void>;
    let close: () => Promise<void>;
    if (side.startsWith('ck')) {
      (globalThis as Record<string, unknown>).__ckExp = Object.fromEntries(
        side
          .split('+')
          .slice(1)
          .map((k) => [k, true]),
      );
      const cluster = benchCluster('rabbitmq');
      const publisher = await startNode(cluster);
      const subscriber: BenchApp = await startNode(cluster, (app) => app.pubSubManager.subscribe('bench', onMessage));
      publish = (m) => publisher.app.pubSubManager.publish('bench', m);
      close = async () => {
        await subscriber.dispose();
        await publisher.dispose();
      };
    } else {
      const raw = await startRawAmqpPubSub(onMessage);
      publish = (m) => raw.publish(m);
      close = () => raw.close();
    }
    try {
      const probing = setInterval(() => void publish({ probe: true }).catch(() => undefined), 50);
      await until(ready.promise, signal, 'subscription').finally(() => clearInterval(probing));
      return await measured(COUNT, async () => {
        const start = performance.now();
        await pool(COUNT, WINDOW, signal, (i) => publish({ i }));
        await until(Promise.race([received.done, quiet(() => received.lastAt, 2000)]), signal, 'messages');
        return (received.lastAt - start) / 1000;
      });
    } finally {
      await close();
    }
  };
}

/**
 * The broker's Erlang reductions so far (BROKER_NODE, e.g. a private node, and BROKER_HOME holding
 * its cookie): a count of work done that does not depend on how busy the machine is. 0 if unset.
 */
function brokerReductions(): number {
  const node = process.env.BROKER_NODE;
  if (!node) return 0;
  const out = execFileSync(
    '/usr/lib/rabbitmq/bin/rabbitmqctl',
    ['-n', node, 'eval', 'element(1, erlang:statistics(reductions)).'],
    { env: { ...process.env, HOME: process.env.BROKER_HOME ?? process.env.HOME }, encoding: 'utf8' },
  );
  return Number(out.trim().split('\n').pop());
}

let last: { cpu: NodeJS.CpuUsage; broker: number; reductions: number } | undefined;
let reductions = 0;
/** Runs the measured part with fresh wire counters and CPU baselines. */
async function measured(messages: number, body: () => Promise<number>) {
  global.gc?.();
  wire = freshWire();
  const before = brokerReductions();
  last = { cpu: process.cpuUsage(), broker: brokerCpuMs(), reductions: 0 };
  const seconds = await body();
  const cpu = process.cpuUsage(last.cpu);
  last.broker = brokerCpuMs() - last.broker;
  reductions = brokerReductions() - before;
  last.cpu = cpu;
  return { messages, seconds };
}

const sides = args.sides?.split(',') ?? (args.case === 'queue' ? ['ck', 'raw'] : ['ck', 'raw']);
const results = new Map<string, Record<string, number>[]>();
console.log(`clusterkit: ${await prepareClusterkit('worktree')}`);
const make = args.case === 'queue' ? queueSide : pubsubSide;
const rounds = Number(args.rounds);
for (let round = 0; round <= rounds; round += 1) {
  const order = round % 2 === 0 ? sides : [...sides].reverse();
  for (const side of order) {
    const outcome = await make(side)();
    const cpu = last!.cpu;
    const broker = last!.broker;
    const n = outcome.messages;
    const row: Record<string, number> = {
      rate: n / outcome.seconds,
      cpuUs: (cpu.user + cpu.system) / n,
      brokerUs: (broker * 1000) / n,
      brokerRed: reductions / n,
      writes: wire.writes / n,
      outB: wire.outBytes / n,
      reads: wire.reads / n,
      inB: wire.inBytes / n,
    };
    for (const [k, v] of wire.methods) if (v / n >= 0.001) row[k] = v / n;
    if (round === 0) continue; // warm-up
    const list = results.get(side) ?? [];
    list.push(row);
    results.set(side, list);
    console.log(
      `round ${round} ${side.padEnd(14)} ${Object.entries(row)
        .map(([k, v]) => `${k}=${v >= 100 ? v.toFixed(0) : v.toFixed(3)}`)
        .join(' ')}`,
    );
  }
}
const median = (xs: number[]) => quantile(xs, 0.5);
console.log('--- medians');
for (const [side, rows] of results) {
  const keys = Object.keys(rows[0]!);
  console.log(
    `${side.padEnd(14)} ${keys
      .map((k) => {
        const v = median(rows.map((r) => r[k] ?? 0));
        return `${k}=${v >= 100 ? v.toFixed(0) : v.toFixed(3)}`;
      })
      .join(' ')}`,
  );
}
const raw = results.get('raw');
for (const [side, rows] of results) {
  if (side === 'raw' || !raw) continue;
  const ratios = rows.map((r, i) => r.rate! / raw[i]!.rate!);
  console.log(
    `${side}/raw per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(2)}`,
  );
}
process.exit(0);
