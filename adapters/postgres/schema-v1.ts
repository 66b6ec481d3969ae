/**
 * Migration 1: every table and function of the PostgreSQL adapters (see docs/postgres.md, "Tables").
 * Released migrations are never edited; later changes are new migrations.
 */

/** The statements of version 1 for the quoted schema `s`. */
export const SCHEMA_V1 = (s: string): string => {
  // A sequence named inside a string literal (nextval's regclass argument).
  const seq = (name: string) => `'${`${s}.${name}`.replace(/'/g, "''")}'`;
  return `
-- Event queue ---------------------------------------------------------------------------------
-- One row per message that still exists: waiting or delayed (state 0, run_at decides), active
-- (state 1, leased to locked_by until locked_until) or dead (state 2). Acknowledged rows are
-- deleted (and copied to completed when retention asks), so an acknowledged id can be used again.
CREATE SEQUENCE ${s}.job_seq;
CREATE TABLE ${s}.jobs (
  queue        text        NOT NULL,
  id           text        NOT NULL,
  body         text        NOT NULL,
  priority     integer     NOT NULL,
  seq          bigint      NOT NULL,
  run_at       timestamptz NOT NULL,
  state        smallint    NOT NULL DEFAULT 0,
  attempt      integer     NOT NULL DEFAULT 0,
  stalls       integer     NOT NULL DEFAULT 0,
  deliveries   integer     NOT NULL DEFAULT 0,
  locked_by    text,
  locked_until timestamptz,
  error        text,
  failed_at    timestamptz,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (queue, id),
  -- A foreign writer cannot park a row where no statement would ever look at it.
  CHECK (state IN (0, 1, 2)),
  CHECK (attempt >= 0 AND stalls >= 0)
) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
        autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0);
CREATE INDEX jobs_ready ON ${s}.jobs (queue, priority, seq) WHERE state = 0;
CREATE INDEX jobs_active ON ${s}.jobs (queue, locked_until) WHERE state = 1;
CREATE INDEX jobs_dead ON ${s}.jobs (queue, failed_at, seq) WHERE state = 2;

CREATE TABLE ${s}.completed (
  seq         bigserial   PRIMARY KEY,
  queue       text        NOT NULL,
  id          text        NOT NULL,
  body        text        NOT NULL,
  attempt     integer     NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT clock_timestamp()
) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
CREATE INDEX completed_queue ON ${s}.completed (queue, seq);

-- Locks ---------------------------------------------------------------------------------------
-- A lease per key; tokens come from one sequence, which never goes back (not even after a crash:
-- sequence values are logged ahead), so tokens strictly increase per key. lock_waiters is the
-- cross-node FIFO line: the lock is granted to the oldest live waiter.
CREATE SEQUENCE ${s}.lock_fencing;
CREATE SEQUENCE ${s}.lock_waiter_seq;
CREATE TABLE ${s}.locks (
  key        text        PRIMARY KEY,
  owner      text        NOT NULL,
  token      bigint      NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE ${s}.lock_waiters (
  key        text        NOT NULL,
  owner      text        NOT NULL,
  seq        bigint      NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (key, owner)
);
CREATE INDEX lock_waiters_line ON ${s}.lock_waiters (key, seq);

-- Tries to take the lease on p_key for p_owner. Serialized per key by a transaction-scoped
-- advisory lock, so the checks and the write are one atomic step. With p_queue the caller joins
-- (or stays in) the FIFO line when it does not get the lease; its place is kept for the time it
-- is told to wait plus p_grace_ms. Returns (true, fencing token) or (false, ms to wait at most).
CREATE FUNCTION ${s}.lock_try(p_key text, p_owner text, p_ttl_ms bigint, p_queue boolean, p_grace_ms bigint)
RETURNS TABLE (acquired boolean, value bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  now_ts timestamptz := clock_timestamp();
  held_until timestamptz;
  head_owner text;
  head_until timestamptz;
  wait_ms bigint;
  tok bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 7340));
  DELETE FROM ${s}.lock_waiters w WHERE w.key = p_key AND w.expires_at <= now_ts;
  SELECT l.expires_at INTO held_until FROM ${s}.locks l WHERE l.key = p_key;
  IF held_until IS NOT NULL AND held_until > now_ts THEN
    wait_ms := greatest(1, ceil(extract(epoch FROM held_until - now_ts) * 1000))::bigint;
  ELSE
    SELECT w.owner, w.expires_at INTO head_owner, head_until
      FROM ${s}.lock_waiters w WHERE w.key = p_key ORDER BY w.seq LIMIT 1;
    IF head_owner IS NULL OR head_owner = p_owner THEN
      tok := nextval(${seq('lock_fencing')});
      INSERT INTO ${s}.locks AS l (key, owner, token, expires_at)
        VALUES (p_key, p_owner, tok, now_ts + p_ttl_ms * interval '1 millisecond')
        ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at;
      DELETE FROM ${s}.lock_waiters w WHERE w.key = p_key AND w.owner = p_owner;
      RETURN QUERY SELECT true, tok;
      RETURN;
    END IF;
    wait_ms := greatest(1, ceil(extract(epoch FROM head_until - now_ts) * 1000))::bigint;
  END IF;
  IF p_queue THEN
    INSERT INTO ${s}.lock_waiters AS w (key, owner, seq, expires_at)
      VALUES (p_key, p_owner, nextval(${seq('lock_waiter_seq')}), now_ts + (wait_ms + p_grace_ms) * interval '1 millisecond')
      ON CONFLICT (key, owner) DO UPDATE SET expires_at = EXCLUDED.expires_at;
  END IF;
  RETURN QUERY SELECT false, wait_ms;
END
$fn$;

-- Frees the lease if p_owner holds it (an expired lease of p_owner is removed too, but reported
-- as not held), and wakes the waiters. Returns whether p_owner held a live lease.
CREATE FUNCTION ${s}.lock_release(p_key text, p_owner text, p_channel text)
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  until timestamptz;
BEGIN
  DELETE FROM ${s}.locks l WHERE l.key = p_key AND l.owner = p_owner RETURNING l.expires_at INTO until;
  IF until IS NULL THEN
    RETURN false;
  END IF;
  PERFORM pg_notify(p_channel, md5(p_key));
  RETURN until > clock_timestamp();
END
$fn$;

-- Pub/sub: payloads over NOTIFY's 8,000-byte limit travel through this table.
CREATE TABLE ${s}.pubsub_payloads (
  id         bigserial   PRIMARY KEY,
  channel    text        NOT NULL,
  payload    text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Cache: unlogged (not crash-safe, not replicated: it is a cache), byte-ordered keys so prefix
-- scans use the primary key.
CREATE UNLOGGED TABLE ${s}.cache (
  key        text COLLATE "C" PRIMARY KEY,
  value      text        NOT NULL,
  expires_at timestamptz
);
CREATE INDEX cache_expiry ON ${s}.cache (expires_at) WHERE expires_at IS NOT NULL;
`;
};
