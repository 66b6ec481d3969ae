/**
 * The event queue's statements. Each state change of a message is ONE statement that checks what
 * it must in the same step (DESIGN.md §1b): a settle only touches the row if it is still active,
 * leased to this consumer, and on the same delivery (`deliveries`), so a late ack from a consumer
 * whose lease lapsed and whose message went to someone else changes nothing.
 *
 * Parameters are numbered per statement; `t` is the quoted, schema-qualified table prefix.
 */

/** Statement texts for one schema. */
export interface QueueSql {
  readonly publish: string;
  readonly publishNotify: string;
  readonly fetch: string;
  readonly ack: string;
  readonly ackKeep: string;
  readonly retry: string;
  readonly release: string;
  readonly dead: string;
  readonly heartbeat: string;
  readonly reap: string;
  readonly nextDue: string;
  readonly counts: string;
  readonly listDead: string;
  readonly redriveAll: string;
  readonly redriveIds: string;
  readonly deleteDeadAll: string;
  readonly deleteDeadIds: string;
  readonly releaseUnstarted: string;
}

/** Builds the statements for the quoted schema `s`. */
export function queueSql(s: string): QueueSql {
  const jobs = `${s}.jobs`;
  const seq = `nextval('${`${s}.job_seq`.replace(/'/g, "''")}')`;
  const ms = (p: string) => `clock_timestamp() + ${p} * interval '1 millisecond'`;
  const mine = `queue = $1 AND id = $2 AND state = 1 AND locked_by = $3 AND deliveries = $4`;
  return {
    // $1 queue, $2 id, $3 body, $4 priority, $5 delay ms. Returns a row only when inserted: a
    // repeated id (any state) inserts nothing.
    publish: `INSERT INTO ${jobs} (queue, id, body, priority, seq, run_at)
      VALUES ($1, $2, $3, $4, ${seq}, ${ms('$5')})
      ON CONFLICT (queue, id) DO NOTHING
      RETURNING 1`,
    // The same inside the caller's transaction, with the wake-up ($6 channel, $7 payload) sent on commit.
    publishNotify: `WITH ins AS (
        INSERT INTO ${jobs} (queue, id, body, priority, seq, run_at)
        VALUES ($1, $2, $3, $4, ${seq}, ${ms('$5')})
        ON CONFLICT (queue, id) DO NOTHING
        RETURNING 1)
      SELECT pg_notify($6, $7) FROM ins`,
    // $1 queue, $2 how many, $3 consumer id, $4 lease ms.
    fetch: `WITH next AS (
        SELECT queue, id FROM ${jobs}
        WHERE queue = $1 AND state = 0 AND run_at <= clock_timestamp()
        ORDER BY priority, seq
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
      UPDATE ${jobs} j SET state = 1, locked_by = $3, locked_until = ${ms('$4')}, deliveries = j.deliveries + 1
      FROM next WHERE j.queue = next.queue AND j.id = next.id
      RETURNING j.id, j.body, j.attempt, j.priority, j.seq, j.deliveries`,
    // $1 queue, $2 ids, $3 deliveries, $4 consumer id.
    ack: `DELETE FROM ${jobs} j USING unnest($2::text[], $3::int[]) AS a(id, deliveries)
      WHERE j.queue = $1 AND j.id = a.id AND j.state = 1 AND j.locked_by = $4 AND j.deliveries = a.deliveries`,
    ackKeep: `WITH d AS (
        DELETE FROM ${jobs} j USING unnest($2::text[], $3::int[]) AS a(id, deliveries)
        WHERE j.queue = $1 AND j.id = a.id AND j.state = 1 AND j.locked_by = $4 AND j.deliveries = a.deliveries
        RETURNING j.queue, j.id, j.body, j.attempt)
      INSERT INTO ${s}.completed (queue, id, body, attempt) SELECT queue, id, body, attempt FROM d`,
    // $1 queue, $2 id, $3 consumer, $4 deliveries, $5 delay ms, $6 error, $7 channel, $8 wake payload.
    // Back of its priority line (new seq), one more failed attempt.
    retry: `WITH u AS (
        UPDATE ${jobs} SET state = 0, attempt = attempt + 1, seq = ${seq}, run_at = ${ms('$5')}, error = $6,
          locked_by = NULL, locked_until = NULL
        WHERE ${mine} RETURNING 1)
      SELECT pg_notify($7, $8) FROM u`,
    // $1 queue, $2 id, $3 consumer, $4 deliveries, $5 delay ms, $6 channel, $7 wake payload.
    // Untouched: same attempt, same place in line.
    release: `WITH u AS (
        UPDATE ${jobs} SET state = 0, run_at = ${ms('$5')}, locked_by = NULL, locked_until = NULL
        WHERE ${mine} RETURNING 1)
      SELECT pg_notify($6, $7) FROM u`,
    // $1 queue, $2 id, $3 consumer, $4 deliveries, $5 error.
    dead: `UPDATE ${jobs} SET state = 2, attempt = attempt + 1, error = $5, failed_at = clock_timestamp(),
        locked_by = NULL, locked_until = NULL
      WHERE ${mine}`,
    // $1 queue, $2 consumer, $3 lease ms, $4 ids.
    heartbeat: `UPDATE ${jobs} SET locked_until = ${ms('$3')}
      WHERE queue = $1 AND state = 1 AND locked_by = $2 AND id = ANY($4::text[])`,
    // $1 queue, $2 max stalls, $3 error. Lapsed leases go back (same attempt) or, after too many
    // stalls, to the dead letters.
    reap: `WITH r AS (
        UPDATE ${jobs} SET
          state = CASE WHEN stalls >= $2 THEN 2 ELSE 0 END,
          attempt = CASE WHEN stalls >= $2 THEN attempt + 1 ELSE attempt END,
          error = CASE WHEN stalls >= $2 THEN $3 ELSE error END,
          failed_at = CASE WHEN stalls >= $2 THEN clock_timestamp() ELSE failed_at END,
          stalls = stalls + 1, locked_by = NULL, locked_until = NULL
        WHERE queue = $1 AND state = 1 AND locked_until < clock_timestamp()
        RETURNING state)
      SELECT count(*) FILTER (WHERE state = 0)::int AS back, count(*) FILTER (WHERE state = 2)::int AS dead FROM r`,
    // $1 queue. Ms until the earliest waiting message is due (0: now; null: none).
    nextDue: `SELECT greatest(0, ceil(extract(epoch FROM min(run_at) - clock_timestamp()) * 1000))::float8 AS ms
      FROM ${jobs} WHERE queue = $1 AND state = 0`,
    counts: `SELECT
        count(*) FILTER (WHERE state = 0 AND run_at <= clock_timestamp())::int AS waiting,
        count(*) FILTER (WHERE state = 0 AND run_at > clock_timestamp())::int AS delayed,
        count(*) FILTER (WHERE state = 1)::int AS active,
        count(*) FILTER (WHERE state = 2)::int AS dead
      FROM ${jobs} WHERE queue = $1`,
    // $1 queue, $2 offset, $3 limit.
    listDead: `SELECT id, body, attempt, error, (extract(epoch FROM failed_at) * 1000)::float8 AS failed_at
      FROM ${jobs} WHERE queue = $1 AND state = 2 ORDER BY failed_at, seq OFFSET $2 LIMIT $3`,
    // $1 queue [, $2 ids]. Back in line in failure order, with a fresh budget.
    redriveAll: redrive(jobs, seq, ''),
    redriveIds: redrive(jobs, seq, 'AND id = ANY($2::text[])'),
    deleteDeadAll: `DELETE FROM ${jobs} WHERE queue = $1 AND state = 2`,
    deleteDeadIds: `DELETE FROM ${jobs} WHERE queue = $1 AND state = 2 AND id = ANY($2::text[])`,
    // $1 queue, $2 ids, $3 deliveries, $4 consumer: fetched while closing, handed back untouched.
    releaseUnstarted: `UPDATE ${jobs} j SET state = 0, locked_by = NULL, locked_until = NULL
      FROM unnest($2::text[], $3::int[]) AS a(id, deliveries)
      WHERE j.queue = $1 AND j.id = a.id AND j.state = 1 AND j.locked_by = $4 AND j.deliveries = a.deliveries`,
  };
}

function redrive(jobs: string, seq: string, filter: string): string {
  return `WITH picked AS (
      SELECT id FROM ${jobs} WHERE queue = $1 AND state = 2 ${filter} ORDER BY failed_at, seq FOR UPDATE),
    numbered AS (SELECT id, ${seq} AS s FROM picked)
    UPDATE ${jobs} j SET state = 0, attempt = 0, stalls = 0, error = NULL, failed_at = NULL, seq = numbered.s,
      run_at = clock_timestamp()
    FROM numbered WHERE j.queue = $1 AND j.id = numbered.id`;
}
