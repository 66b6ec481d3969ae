/**
 * The live nodes of an app's cluster, read from their heartbeat keys in the app's cache store
 * (`<app>:managed-queue:node:<nodeId>`, written by the processor registry every third of
 * `heartbeatTtlMs`, expiring after it): which nodes are up, whether they take jobs, and which
 * handlers each runs with how many jobs in hand.
 */
import type { CacheStore } from '../cache/types.js';
import { unescapeKeyPart } from './scoped-key.js';

/** One handler a node runs, as its last heartbeat stated it. */
export interface NodeHandlerInfo {
  pluginName: string;
  queueName: string;
  jobName: string;
  /** LOCAL concurrency of the handler on that node. */
  concurrency: number;
  /** Jobs of this handler running on that node at the heartbeat. */
  running: number;
}

/** A live node (`managedQueue.listNodes()`). */
export interface NodeInfo {
  nodeId: string;
  /** Epoch ms of its last heartbeat. */
  lastSeenAt: number;
  /** False on a producer-only node (`worker: false`). */
  worker: boolean;
  /** Most jobs the node runs at once across its handlers (`workerConcurrency`). */
  workerConcurrency?: number;
  handlers: NodeHandlerInfo[];
}

/** What a heartbeat stores under `node:<nodeId>`. */
export interface NodeBeat {
  at: number;
  worker: boolean;
  workerConcurrency: number;
  handlers: NodeHandlerInfo[];
}

const BATCH = 200;

/** Every node whose heartbeat key (under `prefix`) has not lapsed, sorted by id. SCAN + MGET, never KEYS. */
export async function listNodes(store: CacheStore, prefix: string): Promise<NodeInfo[]> {
  const keys: string[] = [];
  for await (const key of store.scan(prefix)) keys.push(key);
  const nodes: NodeInfo[] = [];
  for (let i = 0; i < keys.length; i += BATCH) {
    const batch = keys.slice(i, i + BATCH);
    const values = await store.mget(batch);
    values.forEach((value, j) => {
      if (value === undefined) return; // lapsed between SCAN and MGET
      nodes.push(nodeOf(unescapeKeyPart(batch[j]!.slice(prefix.length)), value));
    });
  }
  return nodes.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}

function nodeOf(nodeId: string, value: string): NodeInfo {
  try {
    const beat = JSON.parse(value) as NodeBeat | number;
    if (typeof beat === 'number') return { nodeId, lastSeenAt: beat, worker: true, handlers: [] };
    return {
      nodeId,
      lastSeenAt: beat.at,
      worker: beat.worker,
      workerConcurrency: beat.workerConcurrency,
      handlers: Array.isArray(beat.handlers) ? beat.handlers : [],
    };
  } catch {
    return { nodeId, lastSeenAt: 0, worker: true, handlers: [] };
  }
}
