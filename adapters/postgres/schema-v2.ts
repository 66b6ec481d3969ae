/**
 * Migration 2: the managed-job store's tables (see postgres-job-store.ts and docs/postgres.md,
 * "Tables"). Every statement is `IF NOT EXISTS`, so the migration is idempotent on its own too (the
 * migration lock already serializes nodes starting at once). Released migrations are never edited.
 */

/** The statements of version 2 for the quoted schema `s`. */
export const SCHEMA_V2 = (s: string): string => `
-- Managed jobs ---------------------------------------------------------------------------------
-- One row per job record of one app: the record itself (JSON text, the source of truth) and the
-- columns the statements select and index on, always written together with it. version is bumped
-- by every write: a transition reads, decides, and writes only if the version is still the one it
-- read (compare-and-set), so no other transition can fall between its check and its write.
CREATE TABLE IF NOT EXISTS ${s}.mj_jobs (
  app            text    NOT NULL,
  id             text    NOT NULL,
  version        bigint  NOT NULL DEFAULT 0,
  state          text    NOT NULL,
  nonce          text    NOT NULL,
  gen            integer NOT NULL,
  owner          text,
  handler        text    NOT NULL,
  lq             text    NOT NULL,
  plugin         text    NOT NULL,
  queue          text    NOT NULL,
  tenant         text,
  enqueued_at    float8  NOT NULL,
  run_at         float8  NOT NULL,
  finished_at    float8,
  expires_at     float8,
  ticket_pending float8,
  record         text    NOT NULL,
  logs           text[]  NOT NULL DEFAULT '{}',
  PRIMARY KEY (app, id),
  CHECK (state IN ('waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'))
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
CREATE INDEX IF NOT EXISTS mj_jobs_handler ON ${s}.mj_jobs (app, handler, state);
CREATE INDEX IF NOT EXISTS mj_jobs_newest ON ${s}.mj_jobs (app, enqueued_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS mj_jobs_combo ON ${s}.mj_jobs (app, plugin, queue, tenant, state);
CREATE INDEX IF NOT EXISTS mj_jobs_finished ON ${s}.mj_jobs (app, state, finished_at)
  WHERE state IN ('completed', 'failed', 'cancelled');
CREATE INDEX IF NOT EXISTS mj_jobs_pending ON ${s}.mj_jobs (app, ticket_pending) WHERE ticket_pending IS NOT NULL;
CREATE INDEX IF NOT EXISTS mj_jobs_expiring ON ${s}.mj_jobs (app, expires_at) WHERE expires_at IS NOT NULL;

-- Paused logical queues (<plugin>:<queue>, escaped) of one app.
CREATE TABLE IF NOT EXISTS ${s}.mj_paused (
  app text NOT NULL,
  lq  text NOT NULL,
  PRIMARY KEY (app, lq)
);

-- Schedules: the owner (plugin, tenant) in columns, so a save by another owner is refused in the
-- same statement; last_tick only ever grows.
CREATE TABLE IF NOT EXISTS ${s}.mj_schedules (
  app       text   NOT NULL,
  id        text   NOT NULL,
  plugin    text   NOT NULL,
  tenant    text,
  info      text   NOT NULL,
  last_tick float8,
  PRIMARY KEY (app, id)
);

-- Fixed-window rate budgets per handler (window number and starts counted in it).
CREATE TABLE IF NOT EXISTS ${s}.mj_rates (
  app     text    NOT NULL,
  handler text    NOT NULL,
  win     bigint  NOT NULL,
  count   integer NOT NULL,
  PRIMARY KEY (app, handler)
);
`;
