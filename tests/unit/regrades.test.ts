import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { orderDiff, summarizeDiff, flipOf, type DiffRow } from '../../services/regrades/regrade-diff.ts';
import { renderJunit, renderRegradeMarkdown, type RenderableRegrade } from '../../services/regrades/regrade-render.ts';
import { reportScores, scoreMeasurements } from '../../services/grading/scoring.ts';
import { parseRubric } from '../../services/rubrics/rubric-schema.ts';
import type { Measurement } from '../../services/checks/check-catalog.ts';
import { ROOT } from '../support/context.ts';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function row(n: number, old: [number, boolean] | null, neu: [number, boolean] | null, extra: Partial<DiffRow> = {}): DiffRow {
  const o = old && { reportId: id(100 + n), rubricVersion: 1, score: old[0], passed: old[1] };
  const w = neu && { reportId: id(200 + n), rubricVersion: 2, score: neu[0], passed: neu[1] };
  return {
    submissionId: id(n),
    candidate: null,
    fileName: `s${n}.zip`,
    path: 'rescore',
    pathReason: 'same harness and dataset: rescored from stored measurements',
    status: 'done',
    old: o,
    new: w,
    flip: flipOf(o?.passed, w?.passed),
    scoreDelta: o && w ? Math.round((w.score - o.score) * 100) / 100 : null,
    error: null,
    ...extra,
  };
}

describe('regrade diff', () => {
  const rows = [
    row(1, [80, true], [80, true]),
    row(2, [70, true], [65, true]),
    row(3, [55, false], [62, true]),
    row(4, [90, true], [40, false]),
    row(5, [61, true], [59, false]),
    row(6, [75, true], null, { status: 'failed', error: 'Docker is down' }),
    row(7, [70, true], [50, true]),
  ];

  it('lists flips first (pass → fail before fail → pass), then failures, then score changes by size', () => {
    expect(orderDiff(rows).map((r) => Number(r.submissionId.slice(-2)))).toEqual([4, 5, 3, 6, 7, 2, 1]);
  });

  it('orders ties by submission id, whatever the input order', () => {
    const ties = [row(9, [60, true], [50, false]), row(8, [60, true], [50, false])];
    expect(orderDiff(ties).map((r) => r.submissionId)).toEqual([id(8), id(9)]);
    expect(orderDiff([...ties].reverse()).map((r) => r.submissionId)).toEqual([id(8), id(9)]);
  });

  it('counts flips, score changes and failures', () => {
    expect(summarizeDiff(rows)).toEqual({ total: 7, flips: 3, passToFail: 2, failToPass: 1, scoreChanged: 2, unchanged: 1, failed: 1, skipped: 0 });
    expect(flipOf(null, true)).toBeNull();
  });
});

const regrade = (rows: DiffRow[], extra: Partial<RenderableRegrade> = {}): RenderableRegrade => ({
  id: id(999),
  assessmentId: 'smoke-binary',
  rubricVersion: 2,
  dryRun: false,
  status: 'completed',
  path: 'rescore',
  rescoreMs: 1234,
  counts: { total: rows.length, rescored: rows.length, rerun: 0 },
  diff: { summary: summarizeDiff(rows), rows: orderDiff(rows) },
  ...extra,
});

describe('JUnit rendering', () => {
  it('has one testcase per submission; a flip is a failure, a failed regrade an error, a left-out one skipped', () => {
    const xml = renderJunit(
      regrade([
        row(1, [80, true], [80, true]),
        row(2, [61, true], [59, false]),
        row(3, [70, true], null, { status: 'failed', error: 'sandbox <crashed> & "gone"' }),
        row(4, [70, true], null, { status: 'skipped', path: 'sandbox', error: 'dry run' }),
      ]),
    );
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toMatch(/<testsuite [^>]*tests="4" failures="1" errors="1" skipped="1" time="1.234"/);
    expect(xml).toContain(`name="${id(2)} s2.zip"`);
    expect(xml).toMatch(/<failure type="verdict_flip" message="verdict flipped: passed -&gt; not passed">61.0 passed \(v1\) -&gt; 59.0 not passed \(v2\)/);
    expect(xml).toContain('message="sandbox &lt;crashed&gt; &amp; &quot;gone&quot;"');
    expect(xml).toContain('<skipped message="dry run"/>');
  });

  it('escapes markup and drops characters XML cannot hold in candidate names', () => {
    const xml = renderJunit(regrade([row(1, [80, true], [40, false], { candidate: 'Ann </testcase><x a="\u0001">' })]));
    expect(xml).toContain('Ann &lt;/testcase&gt;&lt;x a=&quot;\uFFFD&quot;&gt;');
    expect(xml).not.toContain('\u0001');
  });
});

describe('Markdown summary', () => {
  it('leads with the flips and says which path the regrade took', () => {
    const md = renderRegradeMarkdown(regrade([row(1, [80, true], [80, true]), row(2, [70, true], [65, true]), row(4, [90, true], [40, false], { candidate: 'Bob | [x](http://evil)' })]));
    expect(md).toMatch(/^### Rubric regrade: `smoke-binary` → v2/);
    expect(md).toContain('**1 verdict flipped** (1 passed → not passed, 0 not passed → passed) among 3 submissions; path: rescored from stored measurements, no sandbox run.');
    const flips = md.indexOf('#### Verdict flips');
    const changes = md.indexOf('#### Score changes');
    expect(flips).toBeGreaterThan(0);
    expect(changes).toBeGreaterThan(flips);
    expect(md).toContain('Bob \\| \\[x\\]\\(http://evil\\)');
    expect(md).toContain('| 90.0 passed (v1) | 40.0 not passed (v2) | -50.0 |');
  });

  it('says so when nothing flipped, and for a dry run that nothing was published', () => {
    const md = renderRegradeMarkdown(regrade([row(1, [80, true], [80, true])], { dryRun: true }));
    expect(md).toContain('(dry run, nothing published)');
    expect(md).toContain('**No verdict changed**');
    expect(md).not.toContain('#### Verdict flips');
  });
});

describe('rescore patch', () => {
  const rubric = parseRubric(JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/churn-messy-csv/rubric.json'), 'utf8')));
  const ran = (values: Measurement['values']): Measurement => ({ ran: true, values, evidence: [{ label: 'l', detail: 'd' }] });
  const m = {
    'contract.interface': ran({ blocking: false, problem: null, optionalProblems: 0 }),
    'leakage.target': ran({ flipRate: 0.02 }),
    'imbalance.minority_recall': ran({ recall: 0.55, positives: 100, truePositives: 55 }),
  };

  it('equals a fresh scoring of the same measurements, rounded as a grading rounds', () => {
    const patch = reportScores(m, rubric, [], { hadPredictions: true });
    const scored = scoreMeasurements(m, rubric);
    expect(patch.checks).toEqual(scored.checks);
    expect(patch.fields.verdict).toBe(scored.verdict);
    expect(patch.score).toBe(Math.round(scored.score * 100) / 100);
    // Checks of this rubric without a measurement are skipped: the report is partial.
    expect(patch.fields.status).toBe('partial');
  });

  it("applies today's rules to measurements stored before them: no evaluate() fails as not provided, and every check gets its basis", () => {
    // As stored by a grading before measurements recorded a missing part.
    const contract = { ...m['contract.interface'], evidence: [{ label: 'Functions found', detail: 'train: yes, predict: yes, predict_proba: yes, evaluate: no' }] };
    const noEvaluate: Measurement = { ran: false, reason: 'the submission has no evaluate() function', values: {}, evidence: [] };
    const patch = reportScores({ ...m, 'contract.interface': contract, 'cv.used': noEvaluate, 'cv.estimate_calibrated': noEvaluate }, rubric, [], { hadPredictions: true });
    const byId = Object.fromEntries(patch.checks.map((c) => [c.id, c]));
    expect(byId['cv.used']).toMatchObject({ status: 'fail', summary: 'not provided: the submission has no evaluate() function', basis: 'sandbox' });
    expect(byId['cv.estimate_calibrated']).toMatchObject({ status: 'fail', basis: 'mixed', severity: 'critical' });
    expect(patch.passed).toBe(false);
    expect(patch.checks.every((c) => c.basis)).toBe(true);
  });
});
