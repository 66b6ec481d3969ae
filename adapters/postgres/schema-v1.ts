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
-- sequence values are logged ahead, and lock statements commit durably), so tokens strictly
-- increase per key. lock_waiters is the cross-node FIFO line: a free lease goes only to the oldest
-- live place, and a release hands the lease straight to it. A place lapses at expires_at unless
-- its waiter renews it. Every function holds a per-key transaction-scoped advisory lock, so each
-- is one atomic step. Times returned are the server clock in epoch ms.
CREATE SEQUENCE ${s}.lock_fencing;
-- Seeded from the clock in microseconds, as the Redis adapter seeds a lost counter: a schema dropped
-- and created again (the counter lost with it) still hands out tokens above every earlier one.
SELECT setval(${seq('lock_fencing')}, floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
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
  ttl_ms     bigint      NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (key, owner)
);
CREATE INDEX lock_waiters_line ON ${s}.lock_waiters (key, seq);

-- Gives the lease on p_key to the first live waiter and announces it ('g <token> <ttl ms> <now ms>
-- <owner>'), or frees it and announces that ('r'). Caller holds the key's advisory lock.
CREATE FUNCTION ${s}.lock_pass_on(p_key text, p_channel text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  now_ts timestamptz := clock_timestamp();
  next_owner text;
  next_ttl bigint;
  tok bigint;
BEGIN
  DELETE FROM ${s}.lock_waiters w WHERE w.key = p_key AND w.expires_at < now_ts;
  DELETE FROM ${s}.lock_waiters w
    WHERE (w.key, w.owner) = (SELECT x.key, x.owner FROM ${s}.lock_waiters x WHERE x.key = p_key ORDER BY x.seq LIMIT 1)
    RETURNING w.owner, w.ttl_ms INTO next_owner, next_ttl;
  IF next_owner IS NULL THEN
    DELETE FROM ${s}.locks l WHERE l.key = p_key;
    PERFORM pg_notify(p_channel, md5(p_key) || ' r');
    RETURN;
  END IF;
  tok := nextval(${seq('lock_fencing')});
  INSERT INTO ${s}.locks AS l (key, owner, token, expires_at)
    VALUES (p_key, next_owner, tok, now_ts + next_ttl * interval '1 millisecond')
    ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at;
  PERFORM pg_notify(p_channel, md5(p_key) || ' g ' || tok || ' ' || next_ttl || ' '
    || floor(extract(epoch FROM now_ts) * 1000)::bigint || ' ' || next_owner);
END
$fn$;

-- One attempt: take a free lease when first in line (or nobody waits); with p_queue_ms > 0 a
-- failed attempt joins the line (or renews the place) for that long. Returns
--   (true, token, remaining ms, now ms)   taken now (remaining = ttl) or handed over earlier
--   (false, retry after ms, null, now ms) held, or someone else is first in line
CREATE FUNCTION ${s}.lock_try(p_key text, p_owner text, p_ttl_ms bigint, p_queue_ms bigint)
RETURNS TABLE (acquired boolean, value bigint, remaining_ms bigint, now_ms bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  now_ts timestamptz := clock_timestamp();
  now_ms bigint := floor(extract(epoch FROM now_ts) * 1000)::bigint;
  cur_owner text;
  cur_token bigint;
  cur_until timestamptz;
  head_owner text;
  head_until timestamptz;
  wait_ms bigint;
  tok bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 7340));
  SELECT l.owner, l.token, l.expires_at INTO cur_owner, cur_token, cur_until FROM ${s}.locks l WHERE l.key = p_key;
  IF cur_until IS NOT NULL AND cur_until > now_ts THEN
    IF cur_owner = p_owner THEN
      RETURN QUERY SELECT true, cur_token, ceil(extract(epoch FROM cur_until - now_ts) * 1000)::bigint, now_ms;
      RETURN;
    END IF;
    wait_ms := greatest(1, ceil(extract(epoch FROM cur_until - now_ts) * 1000))::bigint;
  ELSE
    DELETE FROM ${s}.lock_waiters w WHERE w.key = p_key AND w.expires_at < now_ts;
    SELECT w.owner, w.expires_at INTO head_owner, head_until
      FROM ${s}.lock_waiters w WHERE w.key = p_key ORDER BY w.seq LIMIT 1;
    IF head_owner IS NULL OR head_owner = p_owner THEN
      DELETE FROM ${s}.lock_waiters w WHERE w.key = p_key AND w.owner = p_owner;
      tok := nextval(${seq('lock_fencing')});
      INSERT INTO ${s}.locks AS l (key, owner, token, expires_at)
        VALUES (p_key, p_owner, tok, now_ts + p_ttl_ms * interval '1 millisecond')
        ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at;
      RETURN QUERY SELECT true, tok, p_ttl_ms, now_ms;
      RETURN;
    END IF;
    wait_ms := greatest(1, ceil(extract(epoch FROM head_until - now_ts) * 1000))::bigint;
  END IF;
  IF p_queue_ms > 0 THEN
    INSERT INTO ${s}.lock_waiters AS w (key, owner, seq, ttl_ms, expires_at)
      VALUES (p_key, p_owner, nextval(${seq('lock_waiter_seq')}), p_ttl_ms, now_ts + p_queue_ms * interval '1 millisecond')
      ON CONFLICT (key, owner) DO UPDATE SET ttl_ms = EXCLUDED.ttl_ms, expires_at = EXCLUDED.expires_at;
  END IF;
  RETURN QUERY SELECT false, wait_ms, NULL::bigint, now_ms;
END
$fn$;

-- Ends p_owner's live lease and hands it on (or frees it). Returns whether p_owner held it.
CREATE FUNCTION ${s}.lock_release(p_key text, p_owner text, p_channel text)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 7340));
  PERFORM 1 FROM ${s}.locks l WHERE l.key = p_key AND l.owner = p_owner AND l.expires_at > clock_timestamp();
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM ${s}.lock_pass_on(p_key, p_channel);
  RETURN true;
END
$fn$;

-- A waiter gives up: leaves the line, and passes on a lease handed to it meanwhile.
CREATE FUNCTION ${s}.lock_leave(p_key text, p_owner text, p_channel text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 7340));
  DELETE FROM ${s}.lock_waiters w WHERE w.key = p_key AND w.owner = p_owner;
  PERFORM 1 FROM ${s}.locks l WHERE l.key = p_key AND l.owner = p_owner AND l.expires_at > clock_timestamp();
  IF FOUND THEN
    PERFORM ${s}.lock_pass_on(p_key, p_channel);
  END IF;
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
