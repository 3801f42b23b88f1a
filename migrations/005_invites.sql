-- Candidate invites: a signed link to one assessment with an expiry and a number of uploads.
-- Only a hash of the link's token is stored; the token itself is shown once, when it is made.
CREATE TABLE invites (
  id               uuid PRIMARY KEY,
  assessment_id    text NOT NULL,
  candidate_name   text NOT NULL,
  candidate_email  text NOT NULL,
  token_sha256     text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[a-f0-9]{64}$'),
  expires_at       timestamptz NOT NULL,
  max_attempts     integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 20),
  -- Reserved before an upload is read, given back when the upload is refused (too large, not an archive).
  attempts_used    integer NOT NULL DEFAULT 0 CHECK (attempts_used >= 0 AND attempts_used <= max_attempts),
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  revoked_at       timestamptz
);
CREATE INDEX invites_assessment_idx ON invites (assessment_id, created_at DESC);
CREATE INDEX submissions_invite_idx ON submissions (invite_id) WHERE invite_id IS NOT NULL;
