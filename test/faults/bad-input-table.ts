/**
 * The bad-input table: invalid calls across every primitive, each with the stable error code it
 * must be refused with. Shared by the Redis and RabbitMQ runs of bad-input.test.ts.
 */
import { ErrorCodes, runWithTenant, type App, type ErrorCode } from 'clusterkit';

/** One invalid call. `primitives` says which apps can run it (RabbitMQ has no lock or cache adapter). */
export interface BadCall {
  readonly name: string;
  readonly code: ErrorCode;
  readonly primitive: 'eventQueue' | 'lock' | 'pubSub' | 'cache' | 'managedQueue';
  call(app: App): unknown;
}

/** A valid-looking channel/key: the only names the broker could have seen. */
export const CHANNEL = 'bad-input';

const cycle: Record<string, unknown> = {};
cycle.self = cycle;
const tooBig = 'x'.repeat(1_048_577);
const handler = () => {};
const job = { pluginName: 'p', queueName: 'q', jobName: 'j', payload: { ok: true } };
// Casts below are the point: these calls are what untyped (JS) callers and bad data produce.
const loose = (value: unknown) => value as never;

const {
  INVALID_NAME,
  INVALID_PAYLOAD,
  PAYLOAD_TOO_LARGE,
  INVALID_OPTION,
  UNKNOWN_OPTION,
  INVALID_ARGUMENT,
  TENANT_MISMATCH,
} = ErrorCodes;

/** The table. */
export const BAD_CALLS: BadCall[] = [
  // eventQueue.publish: names
  {
    primitive: 'eventQueue',
    name: 'publish to an empty channel',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish('', 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish to a whitespace channel',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish('   ', 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish to a 513-char channel',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish('c'.repeat(513), 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish to a channel with a newline',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish('bad\nchannel', 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish to a channel with NUL',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish('bad\u0000', 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish to a channel with a leading space',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish(' lead', 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish to a number channel',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish(loose(42), 1),
  },
  // eventQueue.publish: payloads
  {
    primitive: 'eventQueue',
    name: 'publish a function',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, () => 1),
  },
  {
    primitive: 'eventQueue',
    name: 'publish a BigInt',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, { n: 1n }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish a cycle',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, cycle),
  },
  {
    primitive: 'eventQueue',
    name: 'publish NaN inside',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, { x: NaN }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish undefined',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, undefined),
  },
  {
    primitive: 'eventQueue',
    name: 'publish a Map',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, { m: new Map([[1, 2]]) }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish a symbol',
    code: INVALID_PAYLOAD,
    call: (a) => a.eventQueue.publish(CHANNEL, { s: Symbol('x') }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish over the 1 MiB limit',
    code: PAYLOAD_TOO_LARGE,
    call: (a) => a.eventQueue.publish(CHANNEL, tooBig),
  },
  // eventQueue.publish: options
  {
    primitive: 'eventQueue',
    name: 'publish with delay -1',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { delay: -1 }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with delay NaN',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { delay: NaN }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with timeout Infinity',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { timeout: Infinity }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with timeout 0',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { timeout: 0 }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with maxRetries -1',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { maxRetries: -1 }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with maxRetries 1.5',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { maxRetries: 1.5 }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with priority -1',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { priority: -1 }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with an unknown option',
    code: UNKNOWN_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, loose({ retries: 3 })),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with an empty jobId',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { jobId: '' }),
  },
  {
    primitive: 'eventQueue',
    name: 'publish with a transaction that is not a client object',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.publish(CHANNEL, 1, { transaction: loose('BEGIN') }),
  },
  // eventQueue.subscribe
  {
    primitive: 'eventQueue',
    name: 'subscribe with concurrency 0',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.subscribe(`${CHANNEL}-s1`, { process: handler, concurrency: 0 }),
  },
  {
    primitive: 'eventQueue',
    name: 'subscribe with concurrency NaN',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.subscribe(`${CHANNEL}-s2`, { process: handler, concurrency: NaN }),
  },
  {
    primitive: 'eventQueue',
    name: 'subscribe with concurrency Infinity',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.subscribe(`${CHANNEL}-s3`, { process: handler, concurrency: Infinity }),
  },
  {
    primitive: 'eventQueue',
    name: 'subscribe with timeout -5',
    code: INVALID_OPTION,
    call: (a) => a.eventQueue.subscribe(`${CHANNEL}-s4`, { process: handler, timeout: -5 }),
  },
  {
    primitive: 'eventQueue',
    name: 'subscribe without process',
    code: INVALID_ARGUMENT,
    call: (a) => a.eventQueue.subscribe(`${CHANNEL}-s5`, loose({ concurrency: 2 })),
  },
  {
    primitive: 'eventQueue',
    name: 'subscribe with a misspelt option',
    code: UNKNOWN_OPTION,
    call: (a) => a.eventQueue.subscribe(`${CHANNEL}-s6`, loose({ process: handler, concurency: 2 })),
  },
  {
    primitive: 'eventQueue',
    name: 'subscribe to a tab channel',
    code: INVALID_NAME,
    call: (a) => a.eventQueue.subscribe('\t', { process: handler }),
  },
  // lockManager
  { primitive: 'lock', name: 'acquire an empty key', code: INVALID_NAME, call: (a) => a.lockManager.acquire('') },
  {
    primitive: 'lock',
    name: 'acquire with ttl 0',
    code: INVALID_OPTION,
    call: (a) => a.lockManager.acquire(CHANNEL, 0),
  },
  {
    primitive: 'lock',
    name: 'acquire with ttl -1',
    code: INVALID_OPTION,
    call: (a) => a.lockManager.acquire(CHANNEL, -1),
  },
  {
    primitive: 'lock',
    name: 'acquire with ttl NaN',
    code: INVALID_OPTION,
    call: (a) => a.lockManager.acquire(CHANNEL, NaN),
  },
  {
    primitive: 'lock',
    name: 'acquire with ttl Infinity',
    code: INVALID_OPTION,
    call: (a) => a.lockManager.acquire(CHANNEL, Infinity),
  },
  {
    primitive: 'lock',
    name: 'acquire with timeout -1',
    code: INVALID_OPTION,
    call: (a) => a.lockManager.acquire(CHANNEL, 1_000, { timeout: -1 }),
  },
  {
    primitive: 'lock',
    name: 'acquire with an unknown option',
    code: UNKNOWN_OPTION,
    call: (a) => a.lockManager.acquire(CHANNEL, 1_000, loose({ wait: true })),
  },
  {
    primitive: 'lock',
    name: 'tryAcquire a key with a control character',
    code: INVALID_NAME,
    call: (a) => a.lockManager.tryAcquire('k\u0007'),
  },
  {
    primitive: 'lock',
    name: 'runExclusive without a function',
    code: INVALID_ARGUMENT,
    call: (a) => a.lockManager.runExclusive(CHANNEL, loose('not a function')),
  },
  {
    primitive: 'lock',
    name: 'runExclusive with ttl -10',
    code: INVALID_OPTION,
    call: (a) => a.lockManager.runExclusive(CHANNEL, handler, -10),
  },
  // pubSubManager
  {
    primitive: 'pubSub',
    name: 'pub/sub publish to an empty channel',
    code: INVALID_NAME,
    call: (a) => a.pubSubManager.publish('', 1),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub publish a function',
    code: INVALID_PAYLOAD,
    call: (a) => a.pubSubManager.publish(CHANNEL, () => 1),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub publish a BigInt',
    code: INVALID_PAYLOAD,
    call: (a) => a.pubSubManager.publish(CHANNEL, 10n),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub publish over the limit',
    code: PAYLOAD_TOO_LARGE,
    call: (a) => a.pubSubManager.publish(CHANNEL, tooBig),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub publish with a misspelt option',
    code: UNKNOWN_OPTION,
    call: (a) => a.pubSubManager.publish(CHANNEL, 1, loose({ skipself: true })),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub subscribe with debounce -1',
    code: INVALID_OPTION,
    call: (a) => a.pubSubManager.subscribe(CHANNEL, handler, { debounce: -1 }),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub subscribe with a string handler',
    code: INVALID_ARGUMENT,
    call: (a) => a.pubSubManager.subscribe(CHANNEL, loose('nope')),
  },
  {
    primitive: 'pubSub',
    name: 'pub/sub subscribe to a 600-char channel',
    code: INVALID_NAME,
    call: (a) => a.pubSubManager.subscribe('p'.repeat(600), handler),
  },
  // cache
  { primitive: 'cache', name: 'cache set an empty key', code: INVALID_NAME, call: (a) => a.cache.set('', 1) },
  { primitive: 'cache', name: 'cache set with ttl -5', code: INVALID_OPTION, call: (a) => a.cache.set(CHANNEL, 1, -5) },
  {
    primitive: 'cache',
    name: 'cache set with ttl NaN',
    code: INVALID_OPTION,
    call: (a) => a.cache.set(CHANNEL, 1, NaN),
  },
  {
    primitive: 'cache',
    name: 'cache set a function',
    code: INVALID_PAYLOAD,
    call: (a) => a.cache.set(CHANNEL, () => 1),
  },
  { primitive: 'cache', name: 'cache set a cycle', code: INVALID_PAYLOAD, call: (a) => a.cache.set(CHANNEL, cycle) },
  { primitive: 'cache', name: 'cache get a tab key', code: INVALID_NAME, call: (a) => a.cache.get('\t') },
  {
    primitive: 'cache',
    name: 'cache wrap with ttl 0',
    code: INVALID_OPTION,
    call: (a) => a.cache.wrap(CHANNEL, () => 1, 0),
  },
  {
    primitive: 'cache',
    name: 'createCache with an empty name',
    code: INVALID_NAME,
    call: (a) => a.cacheManager.createCache({ name: '' }),
  },
  // managedQueue
  {
    primitive: 'managedQueue',
    name: 'enqueue without pluginName',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.enqueue(loose({ ...job, pluginName: undefined })),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue with a whitespace pluginName',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.enqueue({ ...job, pluginName: ' ' }),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue without payload',
    code: INVALID_ARGUMENT,
    call: (a) => a.managedQueue.enqueue(loose({ pluginName: 'p', queueName: 'q', jobName: 'j' })),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue a BigInt payload',
    code: INVALID_PAYLOAD,
    call: (a) => a.managedQueue.enqueue({ ...job, payload: 5n }),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue a payload over the limit',
    code: PAYLOAD_TOO_LARGE,
    call: (a) => a.managedQueue.enqueue({ ...job, payload: tooBig }),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue with delayMs -1',
    code: INVALID_OPTION,
    call: (a) => a.managedQueue.enqueue({ ...job, delayMs: -1 }),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue with attempts 0',
    code: INVALID_OPTION,
    call: (a) => a.managedQueue.enqueue({ ...job, attempts: 0 }),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue with priority NaN',
    code: INVALID_OPTION,
    call: (a) => a.managedQueue.enqueue({ ...job, priority: NaN }),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue with an unknown key',
    code: UNKNOWN_OPTION,
    call: (a) => a.managedQueue.enqueue(loose({ ...job, queue: 'x' })),
  },
  {
    primitive: 'managedQueue',
    name: 'enqueue with a jobId holding a newline',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.enqueue({ ...job, jobId: 'a\nb' }),
  },
  {
    primitive: 'managedQueue',
    name: "enqueue for tenant B inside tenant A's context",
    code: TENANT_MISMATCH,
    call: (a) =>
      runWithTenant({ tenantId: 'tenant-a' }, () => a.managedQueue.enqueue({ ...job, tenantId: 'tenant-b' })),
  },
  {
    primitive: 'managedQueue',
    name: 'getJob with an empty id',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.getJob(''),
  },
  {
    primitive: 'managedQueue',
    name: 'cancel without jobId',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.cancel(loose({})),
  },
  {
    primitive: 'managedQueue',
    name: 'cancel with an unknown option',
    code: UNKNOWN_OPTION,
    call: (a) => a.managedQueue.cancel(loose({ jobId: 'x', force: true })),
  },
  {
    primitive: 'managedQueue',
    name: 'retry with a control-character id',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.retry('x\u0001'),
  },
  {
    primitive: 'managedQueue',
    name: 'waitForJob with timeoutMs -1',
    code: INVALID_OPTION,
    call: (a) => a.managedQueue.waitForJob('x', { timeoutMs: -1 }),
  },
  {
    primitive: 'managedQueue',
    name: 'kv with an empty pluginName',
    code: INVALID_NAME,
    call: (a) => a.managedQueue.kv({ pluginName: '' }),
  },
  {
    primitive: 'managedQueue',
    name: 'scopedKey without parts',
    code: INVALID_ARGUMENT,
    call: (a) => a.managedQueue.scopedKey({ pluginName: 'p' }),
  },
  {
    primitive: 'managedQueue',
    name: 'process with concurrency 0',
    code: INVALID_OPTION,
    call: (a) => a.managedQueue.process({ pluginName: 'p', queueName: 'q', jobName: 'j', concurrency: 0 }, handler),
  },
  {
    primitive: 'managedQueue',
    name: 'schedule with both cron and everyMs',
    code: INVALID_ARGUMENT,
    call: (a) => a.managedQueue.schedule({ ...job, cron: '* * * * *', everyMs: 1_000 }),
  },
  {
    primitive: 'managedQueue',
    name: 'schedule with an invalid cron',
    code: INVALID_OPTION,
    call: (a) => a.managedQueue.schedule({ ...job, cron: 'every tuesday' }),
  },
];
