import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/api/app.ts';
import { SimilarityRepository } from '../../services/similarity/similarity-repository.ts';
import { clusterPairs } from '../../services/similarity/similarity-clusters.ts';
import { cohortQuerySchema, listCohort } from '../../services/web/cohort-queries.ts';
import { cohortPairs, listThreshold, topMatches } from '../../services/web/similarity-queries.ts';
import { ROOT, testContext, type DockerContext } from '../support/context.ts';
import { reviewerCookie } from '../support/review-session.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';

// The assessment page's similar-code list, the rubric's flag in the cohort list and the report's
// top matches, read from stored rows (documents and pairs saved through the repository, as the
// similarity run saves them; no sandbox, no Dolos).
const A = 'churn-messy-csv';
const NO_TOKENS = { fingerprints: [], tokens: { tokens: '', mapping: Buffer.alloc(0) } };

let ctx: DockerContext;
let db: Awaited<ReturnType<typeof throwawayDatabase>>;
let repo: SimilarityRepository;
const sub: Record<string, string> = {};
const doc: Record<string, string> = {};

async function submission(name: string, candidate: string | null, minutesAgo: number, rubricVersion: number, inviteId: string | null = null, assessmentId = A): Promise<void> {
  const { submission: s } = await ctx.submissions.createSubmission({
    assessmentId,
    archiveSha256: crypto.randomBytes(32).toString('hex'),
    archiveBytes: 1,
    archiveFormat: 'zip',
    fileName: `${name}.zip`,
    candidate,
    inviteId,
  });
  await ctx.db.query(`UPDATE submissions SET created_at = now() - make_interval(mins => $2) WHERE id = $1`, [s.id, minutesAgo]);
  await ctx.db.query(`INSERT INTO reports (id, submission_id, rubric_id, rubric_version, score, passed, document) VALUES ($1, $2, 'churn', $3, 70, true, $4)`, [
    crypto.randomUUID(),
    s.id,
    rubricVersion,
    { automaticScore: 70, checks: [], metrics: { holdout: {} } },
  ]);
  const saved = await repo.saveDocument({ assessmentId, kind: 'submission', submissionId: s.id, name: `${name}.zip` }, { text: `# ${name}\n`, parts: [] }, NO_TOKENS);
  sub[name] = s.id;
  doc[name] = saved.id;
}

const pair = (right: string, similarity: number) => ({ leftId: '', rightId: doc[right]!, similarity, longest: 12, fragments: [], detailed: true });
async function pairs(left: string, ...with_: [string, number][]) {
  await repo.savePairs(
    A,
    doc[left]!,
    with_.map(([r, s]) => ({ ...pair(r, s), leftId: doc[left]! })),
  );
}

beforeAll(async () => {
  db = await throwawayDatabase();
  ctx = await testContext({ DATABASE_URL: db.url });
  repo = new SimilarityRepository(ctx.db);
  const base = JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments', A, 'rubric.json'), 'utf8'));
  await ctx.rubrics.push(base, 'test'); // v1: similarity is information only
  await ctx.rubrics.push({ ...base, similarity: { flagAbove: 0.8 } }, 'test'); // v2: flag at 80%
  const invite = crypto.randomUUID();
  await ctx.db.query(
    `INSERT INTO invites (id, assessment_id, candidate_name, candidate_email, token_sha256, expires_at, max_attempts, created_by) VALUES ($1, $2, 'Ada', 'ada@example.com', $3, now() + interval '1 day', 3, 'test')`,
    [invite, A, crypto.randomBytes(32).toString('hex')],
  );
  await submission('ada1', 'Ada', 60, 2, invite);
  await submission('ada2', 'Ada', 50, 2, invite);
  await submission('bob', 'Bob', 40, 2);
  await submission('cy', 'Cy', 30, 2);
  await submission('dee', 'Dee', 20, 2);
  await submission('upload', null, 15, 2);
  await submission('fay', 'Fay', 10, 1);
  const ref = await repo.saveDocument({ assessmentId: A, kind: 'reference', submissionId: null, name: 'leaked answer' }, { text: '# leak\n', parts: [] }, NO_TOKENS);
  doc.ref = ref.id;
  await pairs('ada2', ['ada1', 0.99]); // the same candidate's attempts: never listed, flagged or shown as a match
  await pairs('bob', ['ada1', 0.9]);
  await pairs('cy', ['bob', 0.6]);
  await pairs('upload', ['dee', 0.7], ['cy', 0.3]);
  await pairs('fay', ['bob', 0.95]);
  await pairs('ref', ['dee', 0.85]);
  await repo
    .saveDocument({ assessmentId: A, kind: 'reference', submissionId: null, name: 'public repo' }, { text: '# public\n', parts: [] }, NO_TOKENS)
    .then((r) => repo.savePairs(A, r.id, [{ ...pair('ref', 0.97), leftId: r.id }])); // two references alike: not a candidate's business
  // Another assessment's pair never shows here.
  await submission('other', 'Otto', 5, 1, null, 'smoke-binary');
}, 120_000);

afterAll(async () => {
  await ctx?.close();
  await db?.drop();
});

describe('similar code across the cohort, filtered by the database', () => {
  it('lists the pairs at or above the bar, leaving out a candidate’s own attempts and reference-to-reference pairs', async () => {
    const listed = await cohortPairs(ctx.db, A, 0.5);
    expect(listed.map((p) => [p.left.label, p.right.label, p.similarity])).toEqual([
      ['Fay', 'Bob', expect.closeTo(0.95, 5)],
      ['Bob', 'Ada', expect.closeTo(0.9, 5)],
      ['leaked answer', 'Dee', expect.closeTo(0.85, 5)],
      ['upload.zip', 'Dee', expect.closeTo(0.7, 5)],
      ['Cy', 'Bob', expect.closeTo(0.6, 5)],
    ]);
    expect(listed[2]!.left).toMatchObject({ kind: 'reference', submissionId: null, node: `ref:${doc.ref}` });
    expect(listed[1]!.right).toMatchObject({ kind: 'submission', submissionId: sub.ada1, node: 'mail:ada@example.com' });
    // The bar is inclusive at the stored precision (a real 0.7 is a hair below the double 0.7).
    expect((await cohortPairs(ctx.db, A, 0.7)).map((p) => p.similarity)).toHaveLength(4);
    expect(await cohortPairs(ctx.db, A, 0.96)).toEqual([]);
  });

  it('groups them into clusters: whoever is linked through pairs above the bar', async () => {
    const clusters = clusterPairs((await cohortPairs(ctx.db, A, 0.5)).map((p) => ({ ...p, a: p.left.node, b: p.right.node })));
    expect(clusters.map((c) => c.members)).toEqual([
      ['name:fay', 'name:bob', 'mail:ada@example.com', 'name:cy'],
      [`ref:${doc.ref}`, 'name:dee', `sub:${sub.upload}`],
    ]);
    // Above 0.8 the chain through Cy and the API upload falls away.
    const strict = clusterPairs((await cohortPairs(ctx.db, A, 0.8)).map((p) => ({ ...p, a: p.left.node, b: p.right.node })));
    expect(strict.map((c) => c.members.length)).toEqual([3, 2]);
  });

  it('takes its bar from the reviewer, else the newest rubric’s flag threshold, else 50%', async () => {
    expect(await listThreshold(ctx.db, A, 0.65)).toBe(0.65);
    expect(await listThreshold(ctx.db, A, undefined)).toBeCloseTo(0.8);
    expect(await listThreshold(ctx.db, 'smoke-binary', undefined)).toBe(0.5);
  });

  it('flags a candidate in the list when the report’s rubric sets a threshold and a match reaches it', async () => {
    const rows = await listCohort(ctx.db, A, cohortQuerySchema.parse({}));
    const flag = Object.fromEntries(rows.map((r) => [r.candidate ?? r.fileName, r.similarityFlag]));
    expect(flag).toEqual({
      Fay: null, // graded under v1: information only, however similar (0.95)
      'upload.zip': null, // 0.7 < 0.8
      Dee: expect.closeTo(0.85, 5), // the leaked reference
      Cy: null,
      Bob: expect.closeTo(0.95, 5),
      Ada: null, // the latest attempt matches only Ada's own earlier one
    });
  });

  it('gives the report its top matches with anyone else’s code, most similar first, and how many there are', async () => {
    const bob = await topMatches(ctx.db, sub.bob!, 2);
    expect(bob.total).toBe(3);
    expect(bob.matches.map((m) => [m.other.label, m.other.submissionId, m.similarity])).toEqual([
      ['Fay', sub.fay, expect.closeTo(0.95, 5)],
      ['Ada', sub.ada1, expect.closeTo(0.9, 5)],
    ]);
    expect(await topMatches(ctx.db, sub.ada2!)).toEqual({ matches: [], total: 0 });
    expect((await topMatches(ctx.db, sub.dee!)).matches.map((m) => m.other.label)).toEqual(['leaked answer', 'upload.zip']);
  });

  it('filters the list to the flagged candidates in SQL, alone or with the other filters; every row knows its highest match', async () => {
    const all = await listCohort(ctx.db, A, cohortQuerySchema.parse({}));
    expect(Object.fromEntries(all.map((r) => [r.candidate ?? r.fileName, r.similarityTop]))).toEqual({
      Fay: expect.closeTo(0.95, 5), // not flagged (rubric v1), but the match is still known
      'upload.zip': expect.closeTo(0.7, 5),
      Dee: expect.closeTo(0.85, 5),
      Cy: expect.closeTo(0.6, 5), // its best match, not the 0.3 with the upload
      Bob: expect.closeTo(0.95, 5),
      Ada: null, // only her own earlier attempt is like her latest
    });
    const flagged = await listCohort(ctx.db, A, cohortQuerySchema.parse({ similarity: 'flagged' }));
    expect(flagged.map((r) => r.id)).toEqual([sub.dee, sub.bob]);
    expect((await listCohort(ctx.db, A, cohortQuerySchema.parse({ similarity: 'flagged', q: 'bo' }))).map((r) => r.id)).toEqual([sub.bob]);
    expect((await listCohort(ctx.db, A, cohortQuerySchema.parse({ similarity: 'flagged', sort: 'candidate', dir: 'asc' }))).map((r) => r.candidate)).toEqual(['Bob', 'Dee']);
    // An unknown value is no filter.
    expect(await listCohort(ctx.db, A, cohortQuerySchema.parse({ similarity: 'maybe' }))).toHaveLength(all.length);
  });

  it('the list page filters by the flag and the CSV export carries the highest match and the flag as its last columns', async () => {
    const app = await buildApp(ctx);
    try {
      const cookie = await reviewerCookie(app);
      const page = await app.inject({ method: 'GET', url: `/review/assessments/${A}?similarity=flagged`, headers: { cookie } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<input type="checkbox" id="f-similarity" name="similarity" value="flagged" checked>');
      expect([...page.body.matchAll(/<tr data-submission="([^"]+)"/g)].map((m) => m[1])).toEqual([sub.dee, sub.bob]);
      expect(page.body).toContain(`href="/review/assessments/${A}/candidates.csv?sort=submitted&amp;dir=desc&amp;similarity=flagged"`);
      // The similar-code form keeps the filter.
      expect(page.body).toContain('<input type="hidden" name="similarity" value="flagged">');
      const unchecked = await app.inject({ method: 'GET', url: `/review/assessments/${A}`, headers: { cookie } });
      expect(unchecked.body).toContain('<input type="checkbox" id="f-similarity" name="similarity" value="flagged" >');

      const csv = async (qs: string) => {
        const res = await app.inject({ method: 'GET', url: `/review/assessments/${A}/candidates.csv${qs}`, headers: { cookie } });
        expect(res.statusCode).toBe(200);
        const [header, ...lines] = res.body.trimEnd().split('\r\n');
        const cols = header!.split(',');
        return { cols, rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))) };
      };
      const everyone = await csv('');
      expect(everyone.cols.slice(-4)).toEqual(['quality_beats_pct', 'score_beats_pct', 'similarity_top_pct', 'similarity_flagged']);
      expect(Object.fromEntries(everyone.rows.map((r) => [r.candidate, [r.similarity_top_pct, r.similarity_flagged]]))).toEqual({
        Fay: ['95', 'no'],
        'API upload': ['70', 'no'],
        Dee: ['85', 'yes'],
        Cy: ['60', 'no'],
        Bob: ['95', 'yes'],
        Ada: ['', 'no'],
      });
      const onlyFlagged = await csv('?similarity=flagged');
      expect(onlyFlagged.rows.map((r) => [r.submission_id, r.similarity_top_pct, r.similarity_flagged])).toEqual([
        [sub.dee, '85', 'yes'],
        [sub.bob, '95', 'yes'],
      ]);
    } finally {
      await app.close();
    }
  });

  it('the assessment page shows the clusters with side-by-side links (any stored pair opens), and the flag in the list', async () => {
    const app = await buildApp(ctx);
    try {
      const cookie = await reviewerCookie(app);
      const page = await app.inject({ method: 'GET', url: `/review/assessments/${A}?similar=60`, headers: { cookie } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('id="f-similar" name="similar" min="20" max="100" step="1" value="60"');
      expect(page.body.match(/data-cluster="/g)).toHaveLength(2);
      expect(page.body.match(/<tr data-pair=/g)).toHaveLength(5);
      // A pair with a reference opens from the submission's side.
      expect(page.body).toContain(`href="/review/submissions/${sub.dee}/similarity?with=${doc.ref}" data-side-by-side`);
      expect(page.body).toContain(`href="/review/submissions/${sub.cy}/similarity?with=${doc.bob}" data-side-by-side`);
      expect(page.body.match(/data-similarity-flag/g)).toHaveLength(2);
      expect(page.body).toContain(`data-similarity-flag href="/review/submissions/${sub.bob}/similarity"`);
      const none = await app.inject({ method: 'GET', url: `/review/assessments/${A}?similar=100`, headers: { cookie } });
      expect(none.body).toContain('data-no-clusters');
      // The list's filters and the bar survive each other's forms; a bar out of range falls back to the rubric's.
      const both = await app.inject({ method: 'GET', url: `/review/assessments/${A}?similar=60&q=bo`, headers: { cookie } });
      expect(both.body).toContain('<input type="hidden" name="similar" value="60">');
      expect(both.body).toContain('<input type="hidden" name="q" value="bo">');
      const odd = await app.inject({ method: 'GET', url: `/review/assessments/${A}?similar=5`, headers: { cookie } });
      expect(odd.body).toContain('id="f-similar" name="similar" min="20" max="100" step="1" value="80"');

      // A cluster can link a pair beyond the 20 a submission's similarity page lists: it still opens.
      for (let i = 0; i < 21; i++) {
        const r = await repo.saveDocument({ assessmentId: A, kind: 'reference', submissionId: null, name: `variant ${i}` }, { text: `# v${i}\n`, parts: [] }, NO_TOKENS);
        await repo.savePairs(A, r.id, [{ ...pair('cy', 0.9), leftId: r.id }]);
      }
      const list = await app.inject({ method: 'GET', url: `/review/submissions/${sub.cy}/similarity`, headers: { cookie } });
      expect(list.body).not.toContain(`data-match="${doc.bob}"`);
      const side = await app.inject({ method: 'GET', url: `/review/submissions/${sub.cy}/similarity?with=${doc.bob}`, headers: { cookie } });
      expect(side.statusCode).toBe(200);
      expect(side.body).toContain('Side by side with Bob');
    } finally {
      await app.close();
    }
  });
});
