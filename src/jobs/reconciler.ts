/**
 * Repairs what a crash leaves half-done between the job store and the physical queue, and ends
 * retention. A record is written before its ticket and says "ticket pending" until the ticket is
 * confirmed (or claimed); if the writer died in between, no ticket will ever come. A job parked by a
 * busy node (its ticket acknowledged) says "ticket pending, parked by <node>" until it starts; if that
 * node dies, likewise. Every
 * `ticketRepairMs / 2` one node — whichever holds the lock manager's `managed-queue:reconciler` lock —
 * republishes the ticket of every job pending for longer than `ticketRepairMs` and not parked by a
 * live node (its physical id is
 * deterministic, so a ticket that does exist is not duplicated on backends with unique ids), then
 * deletes finished records whose retention ended.
 *
 * Bound: a job whose ticket was lost is republished at most `ticketRepairMs × 1.5` (plus one pass)
 * after its record was written — `× 2.5` if the node holding the reconciler lock died too (its lease
 * is `ticketRepairMs`): 15 s, at worst 25 s, with the default 10 s. A job parked by a node that died
 * is republished within the same bound counted from when that node's heartbeat lapsed.
 */
import type { LockManager } from '../lock/lock-manager.js';
import type { JobRecord } from './envelope.js';
import type { JobStore } from './job-store.js';
import { LockedPass } from './locked-pass.js';

/** Most records one pass repairs or sweeps; the rest wait for the next pass. */
const BATCH = 500;

/** What the reconciler needs. */
export interface ReconcilerDeps {
  readonly store: JobStore;
  readonly locks: LockManager;
  /** A ticket pending longer than this is republished, in ms. */
  readonly ticketRepairMs: number;
  /** Is a node alive (its heartbeat has not lapsed)? Jobs parked by a live node are left to it. */
  nodeAlive(nodeId: string): Promise<boolean>;
  publishRecord(record: JobRecord, delayMs: number): Promise<void>;
  onError(error: unknown): void;
}

/** The periodic repair pass of one node (only one node runs it at a time). */
export class Reconciler extends LockedPass {
  constructor(private readonly deps: ReconcilerDeps) {
    super({
      locks: deps.locks,
      lockName: 'managed-queue:reconciler',
      // The lease bounds how long a reconciler that died mid-pass keeps the others out.
      leaseMs: Math.max(1_000, deps.ticketRepairMs),
      everyMs: Math.max(50, Math.floor(deps.ticketRepairMs / 2)),
      run: (now, signal) => this.repair(now, signal),
      onError: deps.onError,
    });
  }

  /** Republishes lost tickets, then sweeps; returns how many tickets it republished. */
  private async repair(now: number, signal: AbortSignal): Promise<number> {
    const { store, ticketRepairMs } = this.deps;
    const pending = await store.pendingTickets(now - ticketRepairMs, BATCH);
    const alive = new Map<string, Promise<boolean>>();
    let repaired = 0;
    for (const record of pending) {
      if (signal.aborted) break;
      if (record.parkedBy !== undefined) {
        const node = record.parkedBy;
        if (!alive.has(node)) alive.set(node, this.deps.nodeAlive(node));
        if (await alive.get(node)) continue; // parked by a live node: it will run it
      }
      try {
        await this.deps.publishRecord(record, Math.max(0, record.runAt - Date.now()));
        repaired += 1;
      } catch (error) {
        this.deps.onError(error);
      }
    }
    if (!signal.aborted) await store.sweep(Date.now(), BATCH * 2);
    return repaired;
  }
}
