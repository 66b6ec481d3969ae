/**
 * The job store's statements (tables of migration 2, schema-v2.ts). Parameters are numbered per
 * statement; `$1` is always the app name. A record's row carries the record as JSON text plus the
 * columns derived from it ({@link rowValues}), written together by every statement that writes.
 */
import { jobStoreKit, type JobRecord } from 'clusterkit/adapter-kit';

/** The derived columns, in the order {@link rowValues} gives them (parameters $3..$15). */
const COLUMNS = [
  'state',
  'nonce',
  'gen',
  'owner',
  'handler',
  'lq',
  'plugin',
  'queue',
  'tenant',
  'enqueued_at',
  'run_at',
  'finished_at',
  'expires_at',
  'ticket_pending',
  'record',
] as const;

/** Values of {@link COLUMNS} for `record`. */
export function rowValues(record: JobRecord): unknown[] {
  return [
    record.state,
    record.nonce,
    record.gen,
    record.owner ?? null,
    jobStoreKit.handlerKeyOf(record),
    jobStoreKit.logicalQueueKey(record.pluginName, record.queueName),
    record.pluginName,
    record.queueName,
    record.tenantId ?? null,
    record.enqueuedAt,
    record.runAt,
    record.finishedAt ?? null,
    record.expiresAt ?? null,
    record.ticketPendingSince ?? null,
    JSON.stringify(record),
  ];
}

/** A row is live unless its retention has ended (`$n` = now). */
export const live = (now: string, alias = '') => `(${alias}expires_at IS NULL OR ${alias}expires_at > ${now})`;

/** Statement texts for one schema. */
export interface JobStoreSql {
  readonly create: string;
  readonly read: string;
  readonly readForClaim: string;
  readonly write: string;
  readonly delete: string;
  readonly get: string;
  readonly logs: string;
  readonly appendLog: string;
  readonly remove: string;
  readonly pending: string;
  readonly sweep: string;
  readonly takeRate: string;
  readonly pause: string;
  readonly unpause: string;
  readonly paused: string;
  readonly saveSchedule: string;
  readonly listSchedules: string;
  readonly removeSchedule: string;
  readonly markTick: string;
  readonly jobs: string;
}

/** Builds the statements for the quoted schema `s`. */
export function jobStoreSql(s: string): JobStoreSql {
  const t = `${s}.mj_jobs`;
  const cols = COLUMNS.join(', ');
  const params = COLUMNS.map((_, i) => `$${i + 3}`).join(', ');
  const sets = COLUMNS.map((c, i) => `${c} = $${i + 3}`).join(', ');
  const excluded = COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  const next = COLUMNS.length + 3;
  return {
    jobs: t,
    // $1 app, $2 id, $3..$17 columns, $18 now. Inserts, or replaces a row whose retention ended (a
    // new incarnation: logs cleared); returns the handler's queued jobs before this one. No row back:
    // a live record has the id (read it).
    create: `INSERT INTO ${t} AS j (app, id, ${cols}) VALUES ($1, $2, ${params})
      ON CONFLICT (app, id) DO UPDATE SET ${excluded}, logs = '{}', version = j.version + 1
        WHERE j.expires_at IS NOT NULL AND j.expires_at <= $${next}
      RETURNING (SELECT count(*) FROM ${t} q
        WHERE q.app = $1 AND q.handler = $7 AND q.state IN ('waiting', 'delayed') AND q.id <> $2)::int AS backlog`,
    // $1 app, $2 id.
    read: `SELECT record, version::text AS version, expires_at FROM ${t} WHERE app = $1 AND id = $2`,
    // $1 app, $2 id, $3 handler, $4 count active?, $5 lock the row? (as text: FOR UPDATE needs a plain statement).
    readForClaim: `SELECT j.record, j.version::text AS version, j.expires_at,
        EXISTS (SELECT 1 FROM ${s}.mj_paused p WHERE p.app = $1 AND p.lq = j.lq) AS paused,
        CASE WHEN $4::boolean THEN (SELECT count(*) FROM ${t} a
          WHERE a.app = $1 AND a.handler = $3 AND a.state = 'active')::int END AS active,
        (SELECT r.win FROM ${s}.mj_rates r WHERE r.app = $1 AND r.handler = $3)::float8 AS win,
        (SELECT r.count FROM ${s}.mj_rates r WHERE r.app = $1 AND r.handler = $3) AS spent
      FROM ${t} j WHERE j.app = $1 AND j.id = $2`,
    // $1 app, $2 id, $3..$17 columns, $18 version read.
    write: `UPDATE ${t} SET ${sets}, version = version + 1 WHERE app = $1 AND id = $2 AND version = $${next}::bigint`,
    // $1 app, $2 id, $3 version read.
    delete: `DELETE FROM ${t} WHERE app = $1 AND id = $2 AND version = $3::bigint`,
    // $1 app, $2 id, $3 now.
    get: `SELECT record FROM ${t} WHERE app = $1 AND id = $2 AND ${live('$3')}`,
    logs: `SELECT logs FROM ${t} WHERE app = $1 AND id = $2`,
    // $1 app, $2 id, $3 nonce, $4 gen, $5 owner, $6 line, $7 max lines. Owner-checked, one statement.
    appendLog: `UPDATE ${t} SET logs = (logs || $6::text)[greatest(1, cardinality(logs) + 2 - $7::int):]
      WHERE app = $1 AND id = $2 AND state = 'active' AND owner = $5 AND gen = $4
        AND ($3 = '' OR nonce = '' OR nonce = $3)`,
    remove: `DELETE FROM ${t} WHERE app = $1 AND id = $2`,
    // $1 app, $2 before, $3 limit, $4 now.
    pending: `SELECT record FROM ${t}
      WHERE app = $1 AND ticket_pending IS NOT NULL AND ticket_pending <= $2 AND ${live('$4')}
      ORDER BY ticket_pending LIMIT $3`,
    // $1 app, $2 now, $3 limit.
    sweep: `DELETE FROM ${t} WHERE app = $1 AND id IN (
      SELECT id FROM ${t} WHERE app = $1 AND expires_at IS NOT NULL AND expires_at <= $2 LIMIT $3)`,
    // $1 app, $2 handler, $3 window.
    takeRate: `INSERT INTO ${s}.mj_rates AS r (app, handler, win, count) VALUES ($1, $2, $3, 1)
      ON CONFLICT (app, handler) DO UPDATE SET win = $3,
        count = CASE WHEN r.win = $3 THEN r.count + 1 ELSE 1 END`,
    pause: `INSERT INTO ${s}.mj_paused (app, lq) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    unpause: `DELETE FROM ${s}.mj_paused WHERE app = $1 AND lq = $2`,
    paused: `SELECT lq FROM ${s}.mj_paused WHERE app = $1 ORDER BY lq`,
    // $1 app, $2 id, $3 plugin, $4 tenant, $5 info. No row back: another owner's schedule.
    saveSchedule: `INSERT INTO ${s}.mj_schedules AS c (app, id, plugin, tenant, info) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (app, id) DO UPDATE SET info = EXCLUDED.info
        WHERE c.plugin = EXCLUDED.plugin AND c.tenant IS NOT DISTINCT FROM EXCLUDED.tenant
      RETURNING 1`,
    listSchedules: `SELECT info, last_tick FROM ${s}.mj_schedules WHERE app = $1 ORDER BY id`,
    // $1 app, $2 id, $3 tenant or null.
    removeSchedule: `DELETE FROM ${s}.mj_schedules WHERE app = $1 AND id = $2 AND ($3::text IS NULL OR tenant = $3)`,
    // $1 app, $2 id, $3 tick.
    markTick: `UPDATE ${s}.mj_schedules SET last_tick = $3
      WHERE app = $1 AND id = $2 AND (last_tick IS NULL OR last_tick < $3)`,
  };
}
