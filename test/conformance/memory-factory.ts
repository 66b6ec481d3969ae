import { createMemoryAdapters, createMemoryBackend } from 'clusterkit';
import { clusterFactory } from './make-cluster.js';

/** Memory clusters: the nodes of one cluster share one in-process backend. */
export const memoryFactory = clusterFactory('memory', () => {
  const backend = createMemoryBackend();
  return { adapters: () => createMemoryAdapters({ backend }) };
});
