-- Blobs in Postgres (BLOB_STORE=postgres, services/storage/postgres-blob-store.ts): content-addressed
-- by sha256, split into bytea chunks so neither side ever holds a whole archive in memory. A blob
-- row and its chunks are written in one transaction; readers verify size and hash.
CREATE TABLE blobs (
  sha256 text PRIMARY KEY CHECK (sha256 ~ '^[a-f0-9]{64}$'),
  bytes bigint NOT NULL CHECK (bytes >= 0),
  chunk_bytes integer NOT NULL CHECK (chunk_bytes > 0),
  chunks integer NOT NULL CHECK (chunks >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunks (
  sha256 text NOT NULL REFERENCES blobs (sha256) ON DELETE CASCADE,
  seq integer NOT NULL CHECK (seq >= 0),
  data bytea NOT NULL,
  PRIMARY KEY (sha256, seq)
);
-- Archives are compressed already: storing them compressed again costs CPU for nothing.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
