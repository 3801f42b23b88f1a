/**
 * A stored blob whose bytes no longer match its address (a damaged chunk, a missing row). A system
 * failure, not the candidate's: retrying the same read gives the same answer, so callers fail the
 * job for good and say which blob.
 */
export class BlobCorruptError extends Error {
  override name = 'BlobCorruptError';

  constructor(
    readonly sha256: string,
    detail: string,
  ) {
    super(`stored blob ${sha256} is corrupt: ${detail}`);
  }
}
