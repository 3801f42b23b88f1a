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
import { reportScores } from '../../services/grading/scoring.ts';
import { parseRubric } from '../../services/rubrics/rubric-schema.ts';
import type { CheckId, Measurement } from '../../services/checks/check-catalog.ts';

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

const reports = new Map<string, ReportDocument>();
const grade = async (name: string): Promise<ReportDocument> => {
  const report = await gradeArchive(ctx, 'churn-messy-csv', name, await tarGzOfFolder(path.join(DIR, name)), work);
  reports.set(name, report);
  return report;
};

/**
 * What the continuous quality score must show on these submissions (issue 13): two passing ones of
 * clearly different holdout cost, and a rubric with another quality formula, with the submissions
 * whose verdict it flips.
 */
const quality: { distinct: [string, string]; minScoreGap: number; rubricChange: Record<string, unknown>; flips: string[] } = JSON.parse(
  fs.readFileSync(path.join(DIR, 'quality-rescore.json'), 'utf8'),
);

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
      // (A note about the whole notebook, such as the IPython lines dropped, names the file and no line.)
      const located = report.checks.flatMap((c) => c.evidence).filter((e) => e.file !== undefined && e.line !== undefined);
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

describe('the quality score ranks what the checks cannot (issue 13)', () => {
  const saved = (r: ReportDocument) => r.checks.find((c) => c.id === 'quality.business_cost')!;

  it('two passing submissions of clearly different holdout cost get clearly different scores', () => {
    const [better, worse] = quality.distinct.map((n) => reports.get(n));
    if (!better || !worse) return expect.fail(`grade ${quality.distinct.join(' and ')} first (run the whole file)`);
    expect(better.passed && worse.passed).toBe(true);
    expect(saved(better).values.cost as number).toBeLessThan(saved(worse).values.cost as number);
    expect(better.score - worse.score).toBeGreaterThanOrEqual(quality.minScoreGap);
  });

  it('a rubric with another quality formula flips exactly the expected verdicts, and no check status', () => {
    expect(reports.size, 'run the whole file: every reference submission is rescored').toBe(Object.keys(expected).length);
    const base = JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/churn-messy-csv/rubric.json'), 'utf8'));
    const changed = parseRubric({ ...base, checks: { ...base.checks, 'quality.business_cost': { ...base.checks['quality.business_cost'], ...quality.rubricChange } } });
    const flipped: string[] = [];
    for (const [name, report] of reports) {
      const rescored = reportScores(report.measurements as Partial<Record<CheckId, Measurement>>, changed, [], { hadPredictions: report.metrics.holdout !== null });
      expect(
        rescored.checks.map((c) => c.status),
        name,
      ).toEqual(report.checks.map((c) => c.status));
      if (rescored.passed !== report.passed) flipped.push(name);
    }
    expect(flipped.sort()).toEqual([...quality.flips].sort());
  });
});
