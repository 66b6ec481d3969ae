/**
 * The Redis job store's schedules: one hash `sch:<id>` per schedule (its JSON, owner plugin and
 * tenant, last recorded tick) and the set `schs` of their ids. Saving, ticking and removing are
 * one script each (`JOB_SCHEDULE`), so an owner check and its write are one step.
 */
import { ClusterError, ErrorCodes, type ScheduleInfo } from 'clusterkit/adapter-kit';
import { guard, type RedisClient } from './connection.js';
import type { Hash } from './job-hash.js';
import { pipelined } from './job-store-reads.js';
import { JOB_SCHEDULE } from './lua/job-admin-scripts.js';
import type { LuaScript } from './lua/run-script.js';

/** Runs a job-store script on `key` with the store's prefix first. */
export type RunJobScript = (script: LuaScript, key: string, args: (string | number)[]) => Promise<unknown>;

/** Schedules of one app's job store (`p`: its key prefix). */
export class JobStoreSchedules {
  constructor(
    private readonly client: () => RedisClient,
    private readonly p: string,
    private readonly run: RunJobScript,
  ) {}

  /** See `JobStore.saveSchedule`. */
  async save(info: ScheduleInfo): Promise<void> {
    const { lastTick: _omit, ...stored } = info;
    const reply = await this.run(JOB_SCHEDULE, `${this.p}sch:${info.scheduleId}`, [
      'save',
      info.scheduleId,
      JSON.stringify(stored),
      info.pluginName,
      info.tenantId ?? '',
    ]);
    if (reply === 'mismatch') {
      throw new ClusterError(
        ErrorCodes.TENANT_MISMATCH,
        `schedule "${info.scheduleId}" belongs to another plugin or tenant; it was not replaced`,
        { details: { scheduleId: info.scheduleId } },
      );
    }
  }

  /** See `JobStore.listSchedules`. */
  async list(): Promise<ScheduleInfo[]> {
    const client = this.client();
    const ids = await guard('SMEMBERS', () => client.smembers(`${this.p}schs`));
    const hashes = await guard('HGETALL', () =>
      pipelined(
        client,
        ids.map((id) => ['hgetall', `${this.p}sch:${id}`]),
      ),
    );
    const out: ScheduleInfo[] = [];
    for (const h of hashes as Hash[]) {
      if (h.j === undefined) continue;
      const info = JSON.parse(h.j) as ScheduleInfo;
      if (h.lt !== undefined) info.lastTick = Number(h.lt);
      out.push(info);
    }
    return out;
  }

  /** See `JobStore.removeSchedule`. */
  async remove(scheduleId: string, tenantId?: string): Promise<boolean> {
    return (
      Number(await this.run(JOB_SCHEDULE, `${this.p}sch:${scheduleId}`, ['remove', scheduleId, tenantId ?? ''])) === 1
    );
  }

  /** See `JobStore.markTick`. */
  async markTick(scheduleId: string, tick: number): Promise<boolean> {
    return Number(await this.run(JOB_SCHEDULE, `${this.p}sch:${scheduleId}`, ['tick', scheduleId, tick])) === 1;
  }
}
