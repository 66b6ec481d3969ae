// What `clusterkit/adapter-kit` must hold in an installed package, run once on the ESM build
// (kit.mjs) and once on the CommonJS build (kit.cjs) by test/package/pack-install.test.ts.
const assert = require('node:assert/strict');

// Names an adapter needs and an app does not: in the kit, not in the root entry.
const INTERNAL = [
  'assertName',
  'assertOptions',
  'encodeEnvelope',
  'escapeKeyPart',
  'describe',
  'standaloneContext',
  'throttledWarning',
  'jobStoreKit',
  'SharedConnectionAdapter',
];

/** A real class check (the prototype chain), not the cross-copy brand `ClusterError` also accepts. */
const sameClass = (Class, value) => Function.prototype[Symbol.hasInstance].call(Class, value);

function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail(`${fn} did not throw`);
}

module.exports = async function checkAdapterKit({ root, kit, redis, ops, format }) {
  for (const name of INTERNAL) {
    assert.ok(!(name in root), `${format}: the root entry still exports ${name}`);
    assert.ok(kit[name] !== undefined, `${format}: clusterkit/adapter-kit lacks ${name}`);
  }
  // The root entry is the kit's public part: the very same objects, not copies.
  for (const name of Object.keys(root)) assert.equal(root[name], kit[name], `${format}: root ${name} !== kit ${name}`);

  // Errors thrown by the core, by an adapter built on the kit and by clusterkit/ops are instances of
  // the one ClusterError class every entry exports.
  const fromCore = thrown(() => root.createApp({ name: '' }));
  const store = redis.createRedisAdapters({ url: 'redis://127.0.0.1:1', prefix: 'kit' }).cache;
  const adapterError = await Promise.resolve()
    .then(() => store.get('k'))
    .then(
      () => assert.fail('a cache store answered before connect()'),
      (error) => error,
    );
  const fromOps = thrown(() => ops.parseDuration('soon'));
  for (const [where, error] of Object.entries({ fromCore, adapterError, fromOps })) {
    assert.ok(sameClass(root.ClusterError, error), `${format}: ${where} is not a root ClusterError: ${error}`);
    assert.ok(sameClass(kit.ClusterError, error), `${format}: ${where} is not a kit ClusterError`);
    assert.ok(root.isClusterError(error) && kit.isClusterError(error), `${format}: isClusterError(${where})`);
  }
  assert.equal(adapterError.code, 'NOT_CONNECTED');

  // A custom adapter on the kit's base class behaves like the built-in ones.
  class MyStoreBase extends kit.SharedConnectionAdapter {
    constructor() {
      super({ open: async () => {}, release: async () => {} }, 'My store');
    }
    async dropResources() {}
    check() {
      this.assertConnected();
    }
  }
  const mine = new MyStoreBase();
  assert.ok(
    sameClass(
      root.ClusterError,
      thrown(() => mine.check()),
    ),
  );
  await mine.connect();
  mine.check();
  await mine.close();

  // Module-level state is one: the tenant set through the root entry is the tenant the kit reads,
  // and a process-global asked for twice is one object.
  root.runWithTenant({ tenantId: 'acme' }, () => assert.equal(kit.currentTenant()?.tenantId, 'acme'));
  assert.equal(
    kit.processGlobal('test.kitCheck', () => ({})),
    kit.processGlobal('test.kitCheck', () => ({})),
  );
  console.log(`adapter-kit ${format} ok`);
};
