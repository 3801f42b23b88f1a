-- Regrades: a rubric version applied to every (or a chosen set of) submission(s) of an assessment.
-- Each submission is either rescored from the measurements stored in its latest report (no
-- sandbox) or graded again in the sandbox when those measurements are stale (harness or dataset
-- changed). The items keep old and new score/verdict: the diff is read from them.

CREATE TABLE regrades (
  id               uuid PRIMARY KEY,
  assessment_id    text NOT NULL,
  rubric_version   integer NOT NULL,
  dry_run          boolean NOT NULL,
  -- NULL: every submission of the assessment.
  submission_ids   uuid[],
  status           text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  -- Overall path, known once planned: rescore (no container), sandbox, mixed, none (nothing to do).
  path             text CHECK (path IN ('rescore', 'sandbox', 'mixed', 'none')),
  requested_by     text NOT NULL,
  idempotency_key  text UNIQUE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  planned_at       timestamptz,
  -- Every sandbox re-run has its grading and its job: completion is now up to those gradings.
  dispatched_at    timestamptz,
  finished_at      timestamptz,
  rescore_ms       integer,
  last_error       text,
  FOREIGN KEY (assessment_id, rubric_version) REFERENCES rubrics (assessment_id, version)
);
CREATE INDEX regrades_assessment_idx ON regrades (assessment_id, created_at DESC);

CREATE TABLE regrade_items (
  regrade_id      uuid NOT NULL REFERENCES regrades (id) ON DELETE CASCADE,
  submission_id   uuid NOT NULL REFERENCES submissions (id),
  path            text NOT NULL CHECK (path IN ('rescore', 'sandbox')),
  -- Why this path (e.g. "harness 1.0.0 is not the current 1.1.0").
  path_reason     text NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
  grading_id      uuid REFERENCES gradings (id),
  old_report_id   uuid REFERENCES reports (id),
  old_rubric_version integer,
  old_score       double precision,
  old_passed      boolean,
  new_report_id   uuid REFERENCES reports (id),
  new_score       double precision,
  new_passed      boolean,
  error           text,
  finished_at     timestamptz,
  PRIMARY KEY (regrade_id, submission_id)
);
CREATE INDEX regrade_items_grading_idx ON regrade_items (grading_id) WHERE grading_id IS NOT NULL;
CREATE INDEX regrade_items_pending_idx ON regrade_items (regrade_id, path, submission_id) WHERE status = 'pending';

-- Reports made by a regrade name it; one report per (regrade, submission) however often the
-- regrade job is retried.
ALTER TABLE reports ADD COLUMN regrade_id uuid REFERENCES regrades (id);
CREATE UNIQUE INDEX reports_regrade_uniq ON reports (regrade_id, submission_id) WHERE regrade_id IS NOT NULL;

-- A sandbox re-run for a regrade is scored with the regrade's rubric version, not whatever
-- version is the latest when the job runs. NULL: the latest (initial gradings).
ALTER TABLE gradings ADD COLUMN rubric_version integer;
