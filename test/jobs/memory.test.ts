/** The managed-job suites on the memory adapters (several apps on one in-process backend). */
import { memoryFactory } from '../conformance/memory-factory.js';
import { managedJobSuites } from './managed-jobs.suite.js';

managedJobSuites(memoryFactory);
