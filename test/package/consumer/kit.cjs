// clusterkit/adapter-kit under CommonJS (see kit-checks.cjs; run by test/package/pack-install.test.ts).
const checkAdapterKit = require('./kit-checks.cjs');

checkAdapterKit({
  root: require('clusterkit'),
  kit: require('clusterkit/adapter-kit'),
  redis: require('clusterkit/redis'),
  ops: require('clusterkit/ops'),
  format: 'cjs',
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
