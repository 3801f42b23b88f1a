-- Core tables: API keys, submissions, gradings (one row per sandboxed grading run) and reports
-- (append-only history; the newest report of a submission is its default view).

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'reviewer', 'ci')),
  key_prefix    text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  -- NULL: every assessment; otherwise the only assessments this key may see.
  assessment_ids text[],
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);

CREATE TABLE submissions (
  id              uuid PRIMARY KEY,
  assessment_id   text NOT NULL,
  archive_sha256  text NOT NULL CHECK (archive_sha256 ~ '^[a-f0-9]{64}$'),
  archive_bytes   bigint NOT NULL,
  archive_format  text NOT NULL CHECK (archive_format IN ('zip', 'tar.gz')),
  file_name       text NOT NULL,
  candidate       text,
  invite_id       uuid,
  -- Client-chosen Idempotency-Key header: the same key returns the same submission.
  idempotency_key text UNIQUE,
  notes_md        text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submissions_assessment_idx ON submissions (assessment_id, created_at DESC);

CREATE TABLE gradings (
  id              uuid PRIMARY KEY,
  submission_id   uuid NOT NULL REFERENCES submissions (id),
  -- Same key, same grading: a repeated enqueue cannot grade twice.
  idempotency_key text NOT NULL UNIQUE,
  reason          text NOT NULL CHECK (reason IN ('initial', 'regrade')),
  status          text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  phase           text NOT NULL,
  queued_at       timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  heartbeat_at    timestamptz,
  worker_host     text,
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text
);
CREATE INDEX gradings_submission_idx ON gradings (submission_id, queued_at DESC);
CREATE INDEX gradings_running_idx ON gradings (status, heartbeat_at) WHERE status = 'running';

CREATE TABLE reports (
  id              uuid PRIMARY KEY,
  submission_id   uuid NOT NULL REFERENCES submissions (id),
  -- NULL for reports made by rescoring stored measurements (no new sandbox run).
  grading_id      uuid REFERENCES gradings (id),
  rubric_id       text NOT NULL,
  rubric_version  integer NOT NULL,
  score           double precision NOT NULL,
  passed          boolean NOT NULL,
  document        jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
-- Exactly one report per sandboxed grading, however often its job is retried.
CREATE UNIQUE INDEX reports_grading_uniq ON reports (grading_id) WHERE grading_id IS NOT NULL;
CREATE INDEX reports_submission_idx ON reports (submission_id, created_at DESC);
