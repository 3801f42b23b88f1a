-- Rubric versions: immutable, numbered per assessment, deduplicated by content hash.
CREATE TABLE rubrics (
  assessment_id  text NOT NULL,
  version        integer NOT NULL CHECK (version > 0),
  rubric_id      text NOT NULL,
  content_sha256 text NOT NULL,
  document       jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  created_by     text,
  PRIMARY KEY (assessment_id, version),
  UNIQUE (assessment_id, content_sha256)
);
