-- Reviewers' decisions on a submission (advance / hold / reject) with a note. Append-only like
-- manual_scores: the newest row is the current decision, older rows are who decided what and when.
CREATE TABLE decisions (
  id              bigserial PRIMARY KEY,
  submission_id   uuid NOT NULL REFERENCES submissions (id),
  decision        text NOT NULL CHECK (decision IN ('advance', 'hold', 'reject')),
  note            text NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
  decided_by      text NOT NULL,
  decided_by_key  uuid,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_submission_idx ON decisions (submission_id, created_at DESC, id DESC);

CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'decisions is append-only: add a new row instead';
END $$;
CREATE TRIGGER decisions_no_update BEFORE UPDATE OR DELETE ON decisions
  FOR EACH ROW EXECUTE FUNCTION decisions_append_only();

-- Read-only links to one report for people without a key (a hiring manager). The link carries a
-- random token; only its hash is stored. A link ends at its expiry or when a reviewer revokes it.
CREATE TABLE share_links (
  id              uuid PRIMARY KEY,
  submission_id   uuid NOT NULL REFERENCES submissions (id),
  report_id       uuid NOT NULL REFERENCES reports (id),
  token_sha256    text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[a-f0-9]{64}$'),
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  revoked_by      text,
  CHECK (expires_at > created_at)
);
CREATE INDEX share_links_submission_idx ON share_links (submission_id, created_at DESC);
