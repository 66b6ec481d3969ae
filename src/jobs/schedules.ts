/**
 * Repeating jobs. A schedule is stored in the job store; every node runs the same timer over all
 * schedules. A tick's job has a deterministic id (`schedule:<id>:<tickTime>`), so every node that
 * fires the tick enqueues the same job and the id dedupe keeps one; the tick is marked done
 * (`markTick`, monotonic) only once its job exists, so a tick whose enqueue failed, or whose node
 * died, is fired again by the next cycle on any node — exactly once per tick, never zero.
 *
 * Schedule ids are namespaced like job ids (`<plugin>:<tenant>:<id>`), and the store refuses to
 * replace another plugin's or tenant's schedule (`TENANT_MISMATCH`).
 *
 * Only the latest due tick fires: after every node was down for a while, one catch-up run happens,
 * not one per missed tick.
 *
 * A native engine (native-engine.ts) runs this same Scheduler: its tick's enqueue is the engine's
 * one atomic add, which deduplicates the tick's id in the handler's queue (found again waiting,
 * running or completed). BullMQ's own job schedulers were not used there: they live per handler
 * queue, so listing, tenant scoping and the owner check of a schedule id would need an index of
 * their own, and they create a tick's job only when a worker takes the previous one.
 */
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { ClusterError, ErrorCodes } from '../errors.js';
import { assertDuration, assertName, assertOptions, describe, serializePayload } from '../validation.js';
import type { JobStore } from './job-store.js';
import { currentTenant } from '../tenant/tenant-context.js';
import { namespacedJobId, outsideTenant, resolveTenant } from './scoped-key.js';
import type { EnqueueInput, ScheduleInfo, ScheduleInput } from './types.js';

const SCHEDULE_KEYS = [
  'pluginName',
  'queueName',
  'jobName',
  'cron',
  'everyMs',
  'tz',
  'payload',
  'tenantId',
  'organizationId',
  'scopeKey',
  'userId',
  'scheduleId',
  'attempts',
  'maxRetries',
  'backoff',
  'backoffMs',
  'priority',
] as const;

/** The latest tick at or before `now` and the next one after it, epoch ms. */
export function ticksAround(schedule: ScheduleInfo, now: number): { last: number; next: number } {
  if (schedule.everyMs !== undefined) {
    const last = Math.floor(now / schedule.everyMs) * schedule.everyMs;
    return { last, next: last + schedule.everyMs };
  }
  const options = { currentDate: new Date(now + 1), tz: schedule.tz ?? 'UTC' };
  const last = CronExpressionParser.parse(schedule.cron as string, options)
    .prev()
    .getTime();
  const next = CronExpressionParser.parse(schedule.cron as string, { ...options, currentDate: new Date(now) })
    .next()
    .getTime();
  return { last, next };
}

/** Fires schedules on every node; one run per tick cluster-wide. */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private cycle: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobs: JobStore,
    private readonly enqueue: (input: EnqueueInput) => Promise<unknown>,
    /** How often schedules made on other nodes are picked up, in ms. */
    private readonly refreshMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Validates and stores a schedule (replacing one with the same id). `probe` checks the per-run
   * enqueue input now, so a bad `attempts` or `priority` is refused at the call, not at the first tick.
   */
  async add(input: ScheduleInput, probe: (input: EnqueueInput) => unknown): Promise<{ scheduleId: string }> {
    const info = checkSchedule(input);
    probe(runInput(info, Date.now()));
    await this.jobs.saveSchedule(info);
    this.wake();
    return { scheduleId: info.scheduleId };
  }

  async list(): Promise<ScheduleInfo[]> {
    const now = Date.now();
    const tenant = currentTenant();
    const out: ScheduleInfo[] = [];
    for (const info of await this.jobs.listSchedules()) {
      if (tenant !== undefined && info.tenantId !== tenant.tenantId) continue;
      try {
        out.push({ ...info, nextRunAt: ticksAround(info, now).next });
      } catch (error) {
        this.onError(error);
      }
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Removes a schedule; false when there is none visible to the current tenant. */
  async remove(scheduleId: string): Promise<boolean> {
    assertName('scheduleId', scheduleId);
    return this.jobs.removeSchedule(scheduleId, currentTenant()?.tenantId);
  }

  start(): void {
    this.running = true;
    this.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.cycle;
  }

  /** Runs a cycle now (after the current one). */
  private wake(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.cycle = this.cycle.then(() => outsideTenant(() => this.runCycle())).catch(this.onError);
  }

  private async runCycle(): Promise<void> {
    if (!this.running) return;
    const now = Date.now();
    let wakeAt = now + this.refreshMs;
    for (const schedule of await this.list()) {
      try {
        const { last, next } = ticksAround(schedule, now);
        wakeAt = Math.min(wakeAt, next);
        if (last >= schedule.createdAt) await this.fire(schedule, last);
      } catch (error) {
        this.onError(error);
      }
    }
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(1, wakeAt - Date.now()));
    this.timer.unref?.();
  }

  private async fire(schedule: ScheduleInfo, tick: number): Promise<void> {
    if ((schedule.lastTick ?? -Infinity) >= tick) return;
    // The job id is the tick's: every node firing it enqueues the same job, and one exists. Only
    // then is the tick done — an enqueue that throws leaves it due for the next cycle (which finds
    // the record, kept pending, and republishes it; once superseded, the reconciler does).
    await this.enqueue(runInput(schedule, tick));
    await this.jobs.markTick(schedule.scheduleId, tick);
  }
}

/** The enqueue input of one run: job id `schedule:<id>:<tick>` (deduplicated per tick). */
function runInput(schedule: ScheduleInfo, tick: number): EnqueueInput {
  const input: EnqueueInput = {
    pluginName: schedule.pluginName,
    queueName: schedule.queueName,
    jobName: schedule.jobName,
    payload: schedule.payload,
    jobId: `schedule:${schedule.scheduleId}:${tick}`,
  };
  for (const key of [
    'tenantId',
    'organizationId',
    'scopeKey',
    'userId',
    'attempts',
    'maxRetries',
    'backoff',
    'backoffMs',
    'priority',
  ] as const) {
    if (schedule[key] !== undefined) (input as unknown as Record<string, unknown>)[key] = schedule[key];
  }
  return input;
}

/** Validates a schedule input into what is stored. */
function checkSchedule(input: ScheduleInput): ScheduleInfo {
  if (typeof input !== 'object' || input === null) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `schedule: input must be an object, got ${describe(input)}`);
  }
  const i = assertOptions('managedQueue.schedule', input, SCHEDULE_KEYS) as ScheduleInput;
  const pluginName = assertName('schedule: pluginName', i.pluginName);
  const queueName = assertName('schedule: queueName', i.queueName);
  const jobName = assertName('schedule: jobName', i.jobName);
  if ((i.cron === undefined) === (i.everyMs === undefined)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'schedule: give exactly one of cron and everyMs');
  }
  if (!('payload' in i)) throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'schedule: payload is required');
  const payload: unknown = JSON.parse(serializePayload('schedule: payload', i.payload));
  const tenant = resolveTenant('schedule', i);
  const scopeKey = i.scopeKey === undefined ? undefined : assertName('schedule: scopeKey', i.scopeKey);
  const info: ScheduleInfo = {
    scheduleId: '',
    pluginName,
    queueName,
    jobName,
    payload,
    createdAt: Date.now(),
    ...tenant,
    ...(scopeKey === undefined ? {} : { scopeKey }),
  };
  if (i.everyMs !== undefined) info.everyMs = assertDuration('everyMs', i.everyMs);
  if (i.cron !== undefined) {
    if (typeof i.cron !== 'string')
      throw new ClusterError(ErrorCodes.INVALID_OPTION, 'schedule: cron must be a string');
    info.cron = i.cron;
    if (i.tz !== undefined) info.tz = assertName('schedule: tz', i.tz);
    try {
      ticksAround(info, Date.now());
    } catch (cause) {
      throw new ClusterError(ErrorCodes.INVALID_OPTION, `schedule: invalid cron "${i.cron}" or tz: ${String(cause)}`, {
        cause,
        details: { option: 'cron' },
      });
    }
  }
  for (const key of ['attempts', 'maxRetries', 'backoff', 'backoffMs', 'priority'] as const) {
    if (i[key] !== undefined) (info as unknown as Record<string, unknown>)[key] = i[key];
  }
  const localId =
    i.scheduleId === undefined
      ? createHash('sha256')
          .update(JSON.stringify([pluginName, queueName, jobName, tenant.tenantId ?? null, scopeKey ?? null]))
          .digest('hex')
          .slice(0, 24)
      : assertName('scheduleId', i.scheduleId);
  // Namespaced like job ids: the same id in another plugin or tenant is another schedule.
  info.scheduleId = namespacedJobId(pluginName, tenant.tenantId, localId);
  return info;
}
