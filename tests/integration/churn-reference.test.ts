import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../services/context.ts';
import { ROOT, testContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { gradeArchive } from '../support/grade-archive.ts';
import { recordCase } from '../support/security-cases.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';

/**
 * The project's own reference submissions for the churn assessment, each graded through the real
 * pipeline (sandbox, harness, checks, scoring), with the exact status every check must get.
 */
const DIR = path.join(ROOT, 'tests/fixtures/submissions/churn');
const expected: Record<string, { checks: Record<string, string>; rationale: string }> = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8'));

let ctx: Context;
let work: string;
beforeAll(async () => {
  ctx = await testContext({ PHASE_TIMEOUT_CAP_S: 60 });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-ref-'));
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const grade = async (name: string): Promise<ReportDocument> =>
  gradeArchive(ctx, 'churn-messy-csv', name, await tarGzOfFolder(path.join(DIR, name)), work);

describe('churn reference submissions get exactly their expected verdicts', () => {
  it('covers an exemplary submission, one per flaw and contract breakers', () => {
    expect(Object.keys(expected)).toContain('exemplary');
    expect(Object.keys(expected)).toContain('no-evaluate');
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(15);
  });

  it.each(Object.keys(expected))('%s', async (name) => {
    const report = await grade(name);
    const got = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    const summaries = Object.fromEntries(report.checks.map((c) => [c.id, `${c.status}: ${c.summary}`]));
    expect(got, JSON.stringify(summaries, null, 2)).toEqual(expected[name]!.checks);
    for (const c of report.checks.filter((x) => x.status === 'fail')) expect(c.evidence.length + c.summary.length, c.id).toBeGreaterThan(0);
    for (const c of report.checks) expect(c.basis, c.id).toBeDefined();
    if (name === 'exemplary') expect(report.passed).toBe(true);
    // A notebook submission: evidence from the trace points at a cell and quotes the cell's line.
    if (name === 'exemplary-notebook') {
      const located = report.checks.flatMap((c) => c.evidence).filter((e) => e.file !== undefined);
      expect(located.length).toBeGreaterThan(0);
      for (const e of located) {
        expect(e.file).toMatch(/^solution\.ipynb#cell-\d+$/);
        expect(e.code?.length).toBeGreaterThan(0);
      }
    }
    // Leaving out evaluate() is scored: the same model without it does not pass.
    if (name === 'no-evaluate') {
      expect(report.passed).toBe(false);
      const fed = report.checks.filter((c) => c.summary.startsWith('not provided'));
      recordCase(23, 'the exemplary model with evaluate() left out', `${fed.length} checks it feeds failed as "not provided"; ${report.verdict}`);
    }
  });
});
