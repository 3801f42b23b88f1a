-- Reviewer web sessions: an API key exchanged for a cookie. The cookie holds a random id; the
-- table holds its hash, who signed in and the per-session CSRF token.
CREATE TABLE web_sessions (
  id_sha256       text PRIMARY KEY CHECK (id_sha256 ~ '^[a-f0-9]{64}$'),
  -- NULL for the configured admin key (it has no api_keys row).
  api_key_id      uuid REFERENCES api_keys (id),
  name            text NOT NULL,
  role            text NOT NULL CHECK (role IN ('admin', 'reviewer', 'ci')),
  assessment_ids  text[],
  csrf_token      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  ended_at        timestamptz
);
CREATE INDEX web_sessions_expiry_idx ON web_sessions (expires_at);

-- Manual rubric items scored by reviewers. Append-only: the newest row per (submission, item)
-- is the current score; older rows are the history of who changed what and when.
CREATE TABLE manual_scores (
  id              bigserial PRIMARY KEY,
  submission_id   uuid NOT NULL REFERENCES submissions (id),
  report_id       uuid NOT NULL REFERENCES reports (id),
  rubric_version  integer NOT NULL,
  item_id         text NOT NULL,
  points          double precision NOT NULL CHECK (points >= 0),
  comment         text NOT NULL DEFAULT '',
  scored_by       text NOT NULL,
  scored_by_key   uuid,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX manual_scores_submission_idx ON manual_scores (submission_id, item_id, created_at DESC, id DESC);

CREATE FUNCTION manual_scores_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'manual_scores is append-only: add a new row instead';
END $$;
CREATE TRIGGER manual_scores_no_update BEFORE UPDATE OR DELETE ON manual_scores
  FOR EACH ROW EXECUTE FUNCTION manual_scores_append_only();
