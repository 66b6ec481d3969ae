/** Every managed-job suite, for one backend. */
import type { ClusterFactory } from '../conformance/cluster.js';
import { adminSuite } from './admin.suite.js';
import { basicsSuite } from './basics.suite.js';
import { busyLaneSuite } from './busy-lane.suite.js';
import { clusterSuite } from './cluster.suite.js';
import { controlSuite } from './control.suite.js';
import { scopedStateSuite } from './scoped-state.suite.js';
import { transitionsSuite } from './transitions.suite.js';

/** Runs every managed-job suite against `factory`. */
export function managedJobSuites(factory: ClusterFactory): void {
  basicsSuite(factory);
  controlSuite(factory);
  clusterSuite(factory);
  busyLaneSuite(factory);
  scopedStateSuite(factory);
  transitionsSuite(factory);
  adminSuite(factory);
}
