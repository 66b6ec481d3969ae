/**
 * `clusterkit/redis` — Redis adapters (BullMQ event queue, lock, pub/sub, cache).
 * PLACEHOLDER until issue 3 lands: the signature is final, the implementation is not there yet.
 */
import { ClusterError, ErrorCodes, type ClusterAdapters } from 'clusterkit';

/** Options of {@link createRedisAdapters}. */
export interface RedisAdaptersOptions {
  /** `redis://` or `rediss://` URL. */
  url?: string;
  /** Key prefix of every key and channel. @default 'ck' */
  prefix?: string;
}

/** Redis adapters for every primitive. */
export function createRedisAdapters(_options: RedisAdaptersOptions = {}): Required<ClusterAdapters> {
  throw new ClusterError(ErrorCodes.NOT_SUPPORTED, 'clusterkit/redis is not implemented yet');
}
