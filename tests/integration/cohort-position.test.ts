import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Db } from '../../services/db/pool.ts';
import { migrate } from '../../services/db/migrate.ts';
import { cohortPosition } from '../../services/web/cohort-position.ts';
import { cohortQuerySchema, listCohort } from '../../services/web/cohort-queries.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';

let tmp: Awaited<ReturnType<typeof throwawayDatabase>>;
let db: Db;

/** Where the money-saved number sits in a stored report: in its check, or only in its measurement. */
type QualityAt = 'check' | 'measurement' | 'none';

async function submission(assessmentId: string): Promise<string> {
  const id = crypto.randomUUID();
  await db.query(`INSERT INTO submissions (id, assessment_id, archive_sha256, archive_bytes, archive_format, file_name) VALUES ($1, $2, $3, 1, 'zip', 'a.zip')`, [
    id,
    assessmentId,
    crypto.randomBytes(32).toString('hex'),
  ]);
  return id;
}

/** A report with just what the position query reads: the automatic score and the quality check. */
async function report(submissionId: string, automaticScore: number, quality: number | null, at: QualityAt = 'check', minutesAgo = 0): Promise<void> {
  const values = { savingsVsReference: quality, cost: 1 };
  const document = {
    automaticScore,
    checks: [{ id: 'cv.used', status: 'pass', values: {} }, ...(at === 'check' ? [{ id: 'quality.business_cost', status: 'pass', values }] : [])],
    measurements: at === 'none' ? {} : { 'quality.business_cost': { ran: true, values } },
  };
  await db.query(
    `INSERT INTO reports (id, submission_id, rubric_id, rubric_version, score, passed, document, created_at)
     VALUES ($1, $2, 'r', 1, $3, true, $4, now() - make_interval(mins => $5))`,
    [crypto.randomUUID(), submissionId, automaticScore, document, minutesAgo],
  );
}

const ids: Record<string, string> = {};

beforeAll(async () => {
  tmp = await throwawayDatabase();
  db = createPool(tmp.url, 2);
  await migrate(db);
  // Assessment "pos": six graded submissions, one queued without a report.
  for (const [name, score, quality, at] of [
    ['low', 50, 0.2, 'check'],
    ['mid', 80, 0.9, 'check'],
    ['target', 70, 1.1, 'check'],
    ['noQuality', 90, null, 'none'],
    ['best', 60, 1.3, 'check'],
    ['measuredOnly', 40, 0.5, 'measurement'],
  ] as const) {
    ids[name] = await submission('pos');
    await report(ids[name]!, score, quality, at);
  }
  // Regraded: only its latest report counts (quality 0.1, score 30), not the earlier 2.0 and 99.
  ids.regraded = await submission('pos');
  await report(ids.regraded, 99, 2.0, 'check', 60);
  await report(ids.regraded, 30, 0.1, 'check', 1);
  ids.queued = await submission('pos');
  // Another assessment's submissions never count.
  await report(await submission('other'), 100, 9, 'check');
});

afterAll(async () => {
  await db?.end();
  await tmp?.drop();
});

describe('cohort position', () => {
  it('is the share of the other graded submissions of the same assessment strictly below, per measure', async () => {
    // Quality: 0.2, 0.9, 0.5 (measurement only) and 0.1 (latest regrade) are below 1.1; 1.3 is above; 6 have a quality.
    // Score: 50, 60, 40 and 30 are below 70; 80 and 90 above; 7 graded.
    expect(await cohortPosition(db, 'pos', ids.target!)).toEqual({ quality: { betterThan: 4 / 5, of: 6 }, score: { betterThan: 4 / 6, of: 7 } });
    expect(await cohortPosition(db, 'pos', ids.best!)).toEqual({ quality: { betterThan: 1, of: 6 }, score: { betterThan: 3 / 6, of: 7 } });
    expect(await cohortPosition(db, 'pos', ids.regraded!)).toEqual({ quality: { betterThan: 0, of: 6 }, score: { betterThan: 0, of: 7 } });
  });

  it('has no quality position without the number, and no position at all before a report', async () => {
    expect(await cohortPosition(db, 'pos', ids.noQuality!)).toEqual({ quality: null, score: { betterThan: 1, of: 7 } });
    expect(await cohortPosition(db, 'pos', ids.queued!)).toEqual({ quality: null, score: null });
    // A submission asked about under another assessment is not in that cohort.
    expect(await cohortPosition(db, 'other', ids.target!)).toEqual({ quality: null, score: null });
  });

  it('the cohort list has the same positions, from its one query, and they do not move with its filters', async () => {
    const all = await listCohort(db, 'pos', cohortQuerySchema.parse({}));
    // Each submission here is a candidate of its own (no invite, no name): 8 rows, the regraded one by its latest report.
    expect(all).toHaveLength(8);
    for (const r of all) expect(r.position, r.id).toEqual(await cohortPosition(db, 'pos', r.id));
    expect(all.find((r) => r.id === ids.target)!.position).toEqual({ quality: { betterThan: 4 / 5, of: 6 }, score: { betterThan: 4 / 6, of: 7 } });
    expect(all.find((r) => r.id === ids.queued)!.position).toEqual({ quality: null, score: null });
    // Sorted and filtered to one row, the percentile is still among all graded submissions.
    const sorted = await listCohort(db, 'pos', cohortQuerySchema.parse({ sort: 'score', dir: 'desc' }), 1);
    expect(sorted.map((r) => [r.id, r.position])).toEqual([[ids.noQuality, { quality: null, score: { betterThan: 1, of: 7 } }]]);
  });

  it('counts ties as not better', async () => {
    const twin = await submission('pos');
    await report(twin, 70, 1.1);
    expect(await cohortPosition(db, 'pos', ids.target!)).toEqual({ quality: { betterThan: 4 / 6, of: 7 }, score: { betterThan: 4 / 7, of: 8 } });
  });
});
