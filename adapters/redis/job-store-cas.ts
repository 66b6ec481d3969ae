/**
 * The Redis job store's rarer transitions — release, the no-processor mark, cancel, retry, discard,
 * promote — as read → decide (the shared rules of `jobStoreKit`) → write with a version check
 * (`JOB_WRITE`: the whole hash, only if its version is unchanged), retried when another transition
 * got in between. One transition is still one atomic write: a decision made on a stale read is
 * never written.
 */
import {
  ClusterError,
  ErrorCodes,
  jobStoreKit,
  type JobRecord,
  type JobRef,
  type JobStore,
} from 'clusterkit/adapter-kit';
import { guard, type RedisClient } from './connection.js';
import { fromHash, toHash, type Hash } from './job-hash.js';
import type { RunJobScript } from './job-store-schedules.js';
import { JOB_WRITE } from './lua/job-admin-scripts.js';

const { planCancel, decideRetry, decideDiscard, decidePromote, applyRelease, isTerminal } = jobStoreKit;

const CAS_ROUNDS = 20;

/** Version-checked transitions of one app's job store (`p`: its key prefix). */
export class JobStoreCas {
  constructor(
    private readonly client: () => RedisClient,
    private readonly p: string,
    private readonly run: RunJobScript,
  ) {}

  /** See `JobStore.release`. */
  async release(ref: JobRef, owner: string): Promise<boolean> {
    return this.cas(ref.id, (record) => {
      if (!owns(record, ref, owner)) return { result: false };
      applyRelease(record, Date.now());
      return { write: record, result: true };
    });
  }

  /** Read → decide → write with a version check, retried when another transition got in between. */
  private async cas<T>(
    id: string,
    decide: (record: JobRecord | undefined) => { write?: JobRecord; remove?: boolean; result: T },
  ): Promise<T> {
    for (let round = 0; round < CAS_ROUNDS; round += 1) {
      const client = this.client();
      const h = (await guard('HGETALL', () => client.hgetall(`${this.p}J:${id}`))) as Hash;
      const live = h.r !== undefined && !(h.xa !== undefined && Number(h.xa) <= Date.now());
      const decision = decide(live ? fromHash(h) : undefined);
      if (!decision.write && !decision.remove) return decision.result;
      const written = await this.run(JOB_WRITE, `${this.p}J:${id}`, [
        id,
        h.v ?? '',
        decision.remove ? '1' : '0',
        Date.now(),
        ...(decision.write ? toHash(decision.write) : []),
      ]);
      if (Number(written) >= 1) return decision.result;
    }
    throw new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `job ${id}: too much contention to change it`);
  }

  /** See `JobStore.markNoProcessor`. */
  async markNoProcessor(ref: JobRef, now: number): Promise<number | undefined> {
    return this.cas(ref.id, (record) => {
      if (!jobStoreKit.sameIncarnation(record, ref) || record.gen !== ref.gen || isTerminal(record.state)) {
        return { result: undefined };
      }
      if (record.noProcessorSince !== undefined) return { result: record.noProcessorSince };
      record.noProcessorSince = now;
      return { write: record, result: now };
    });
  }

  /** See `JobStore.cancel`. */
  async cancel(
    id: string,
    options: { abortActive: boolean; now: number; failedRetentionMs: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['cancel']>>> {
    return this.cas<Awaited<ReturnType<JobStore['cancel']>>>(id, (record) => planCancel(record, options));
  }

  /** See `JobStore.retry`. */
  async retry(
    id: string,
    options: { now: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['retry']>>> {
    return this.cas<Awaited<ReturnType<JobStore['retry']>>>(id, (record) => {
      const outcome = decideRetry(record, options);
      return outcome.type === 'retried' ? { write: outcome.record, result: outcome } : { result: outcome };
    });
  }

  /** See `JobStore.discard`. */
  async discard(id: string, options: { tenantId?: string }): Promise<Awaited<ReturnType<JobStore['discard']>>> {
    // The delete is version-checked: a claim in between (it bumps the version) makes it decide again.
    return this.cas<Awaited<ReturnType<JobStore['discard']>>>(id, (record) => {
      const outcome = decideDiscard(record, options);
      return outcome.type === 'removed' ? { remove: true, result: outcome } : { result: outcome };
    });
  }

  /** See `JobStore.promote`. */
  async promote(
    id: string,
    options: { now: number; tenantId?: string },
  ): Promise<Awaited<ReturnType<JobStore['promote']>>> {
    return this.cas<Awaited<ReturnType<JobStore['promote']>>>(id, (record) => {
      const outcome = decidePromote(record, options);
      return outcome.type === 'promoted' ? { write: outcome.record, result: outcome } : { result: outcome };
    });
  }
}

function owns(record: JobRecord | undefined, ref: JobRef, owner: string): record is JobRecord {
  return (
    jobStoreKit.sameIncarnation(record, ref) &&
    record.gen === ref.gen &&
    record.state === 'active' &&
    record.owner === owner
  );
}
