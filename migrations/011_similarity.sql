-- Source similarity across a cohort (issue 16): one document per graded submission or uploaded
-- reference solution (the compared text, read from the archive as text), its winnowed
-- fingerprints as an inverted index per assessment (a new submission looks up only its own
-- fingerprints), and the pairs that scored above the floor with their shared fragments.
CREATE TABLE similarity_documents (
  id             uuid PRIMARY KEY,
  assessment_id  text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('submission', 'reference')),
  submission_id  uuid UNIQUE REFERENCES submissions (id) ON DELETE CASCADE,
  -- A reference's name (e.g. "public GitHub solution"); for a submission, its file name.
  name           text NOT NULL,
  source         text NOT NULL,
  -- Where each file sits in source: [{name, startRow, rows}].
  parts          jsonb NOT NULL,
  fingerprints   integer NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'submission') = (submission_id IS NOT NULL))
);
CREATE INDEX similarity_documents_assessment_idx ON similarity_documents (assessment_id, kind);

CREATE TABLE similarity_fingerprints (
  assessment_id  text NOT NULL,
  hash           integer NOT NULL,
  document_id    uuid NOT NULL REFERENCES similarity_documents (id) ON DELETE CASCADE,
  PRIMARY KEY (assessment_id, hash, document_id)
);
CREATE INDEX similarity_fingerprints_document_idx ON similarity_fingerprints (document_id);

-- left: the document that was compared when it arrived; right: an earlier submission or a reference.
CREATE TABLE similarity_pairs (
  left_id        uuid NOT NULL REFERENCES similarity_documents (id) ON DELETE CASCADE,
  right_id       uuid NOT NULL REFERENCES similarity_documents (id) ON DELETE CASCADE,
  assessment_id  text NOT NULL,
  similarity     real NOT NULL CHECK (similarity >= 0 AND similarity <= 1),
  longest        integer NOT NULL,
  -- [{left: {startRow, endRow}, right: {startRow, endRow}, kgrams}], longest first.
  fragments      jsonb NOT NULL,
  computed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (left_id, right_id),
  CHECK (left_id <> right_id)
);
CREATE INDEX similarity_pairs_assessment_idx ON similarity_pairs (assessment_id, similarity DESC);
CREATE INDEX similarity_pairs_right_idx ON similarity_pairs (right_id);

-- The similarity run of each submission, so a failure is visible (and retried) like a webhook delivery.
CREATE TABLE similarity_runs (
  submission_id  uuid PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
  status         text NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
  attempts       integer NOT NULL DEFAULT 0,
  last_error     text,
  compared       integer,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
