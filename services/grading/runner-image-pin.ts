import type { Queryable } from '../db/pool.ts';

/**
 * A grading is pinned to the runner image its first attempt ran with (gradings.runner_image_digest).
 * A later attempt on a host whose image has another digest (an upgrade rolled out half-way, a host
 * that built its own) must not finish the grading with different code: it refuses, naming both.
 */
export class RunnerImageMismatchError extends Error {
  override name = 'RunnerImageMismatchError';

  constructor(
    readonly gradingId: string,
    readonly pinned: string,
    readonly found: string,
  ) {
    super(`grading ${gradingId} is pinned to runner image ${pinned}, but this host has ${found}; refusing to grade it here`);
  }
}

/** Pins the grading to `digest` if it is not pinned yet; throws RunnerImageMismatchError if it is pinned to another. */
export async function pinRunnerImage(db: Queryable, gradingId: string, digest: string): Promise<void> {
  const { rows } = await db.query<{ pinned: string | null }>(
    `UPDATE gradings SET runner_image_digest = COALESCE(runner_image_digest, $2) WHERE id = $1 RETURNING runner_image_digest AS pinned`,
    [gradingId, digest],
  );
  const pinned = rows[0]?.pinned;
  if (pinned && pinned !== digest) throw new RunnerImageMismatchError(gradingId, pinned, digest);
}
