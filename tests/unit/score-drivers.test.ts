import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckStatus, Measurement } from '../../services/checks/check-catalog.ts';
import { scoreParts, topLine } from '../../services/grading/score-drivers.ts';
import { reportScores, scoreMeasurements } from '../../services/grading/scoring.ts';
import { renderMarkdown } from '../../services/reports/render-markdown.ts';
import { reportDocumentSchema, type ReportDocument } from '../../services/reports/report-schema.ts';
import { parseRubric } from '../../services/rubrics/rubric-schema.ts';
import { candidateView } from '../../services/web/candidate-view.ts';
import { ROOT } from '../support/context.ts';

const STATUS_SCORE: Record<CheckStatus, number | null> = { pass: 1, warn: 0.5, fail: 0, error: 0, skipped: null };
/** A scored check as scoring.ts hands it over: title, status, score (from the status unless given) and weight. */
const check = (title: string, status: CheckStatus, weight = 1, score = STATUS_SCORE[status]) => ({ id: title.toLowerCase().replace(/ /g, '.'), title, status, score, weight });
const noManual = { weight: 0, items: [] };
const line = (checks: ReturnType<typeof check>[], manual: Parameters<typeof scoreParts>[1] = noManual, scores: Parameters<typeof scoreParts>[2] = []) =>
  topLine(scoreParts(checks, manual, scores));

describe('the top line: what most lifted and most lowered the score', () => {
  it('names the part that earned the most points and the one that lost the most', () => {
    // Weights 2 + 1 + 1: worth 50, 25, 25 points of the 100.
    const t = line([check('Target leakage', 'pass', 2), check('Cross validation', 'fail'), check('Calibration', 'warn')]);
    expect(t.sentence).toBe('“Target leakage” lifted the score most (+50 of 50); failing “Cross validation” lowered it most (−25).');
    expect(t.lifted).toEqual([{ kind: 'check', id: 'target.leakage', title: 'Target leakage', points: 50, of: 50 }]);
    expect(t.lowered).toEqual([{ kind: 'check', id: 'cross.validation', title: 'Cross validation', points: 25, of: 25 }]);
  });

  it('a continuous score both lifts and lowers; a warning and an error say so', () => {
    // Quality at 0.74 of 8/10 of the points: +59.2 of 80, −20.8; the warning loses 5, the error 10.
    const t = line([check('Money saved', 'pass', 8, 0.74), check('Decisions', 'warn'), check('Serving', 'error')]);
    expect(t.sentence).toBe('“Money saved” lifted the score most (+59.2 of 80); “Money saved” at 74% lowered it most (−20.8).');
    expect(line([check('Money saved', 'pass', 2, 0.9), check('Decisions', 'warn', 1), check('Serving', 'error', 1)]).sentence).toBe(
      '“Money saved” lifted the score most (+45 of 50); “Serving”, which could not be judged, lowered it most (−25).',
    );
    expect(line([check('A', 'pass', 3), check('Decisions', 'warn', 1)]).sentence).toBe('“A” lifted the score most (+75 of 75); the warning on “Decisions” lowered it most (−12.5).');
  });

  it('lists every part of a tie, in report order, with the points each', () => {
    const t = line([check('A', 'pass'), check('B', 'pass'), check('C', 'pass'), check('D', 'pass'), check('E', 'fail'), check('F', 'fail')]);
    // Six checks of weight 1: 16.7 points each.
    expect(t.sentence).toBe('“A”, “B” and 2 others lifted the score most (+16.7 each); failing “E” and failing “F” lowered it most (−16.7 each).');
    expect(t.lifted.map((d) => d.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(t.lowered.map((d) => d.id)).toEqual(['e', 'f']);
    expect(line([check('A', 'pass'), check('B', 'pass'), check('C', 'pass')]).sentence).toBe('“A”, “B” and “C” lifted the score most (+33.3 each); nothing lowered it.');
  });

  it('ties at the shown precision: 8.66 and 8.74 points both read 8.7', () => {
    // Worths 8.66 / 8.74 of 100 (the rest to a weight-82.6 failing check).
    const t = line([check('A', 'pass', 8.66), check('B', 'pass', 8.74), check('Rest', 'fail', 82.6)]);
    expect(t.lifted.map((d) => d.id)).toEqual(['a', 'b']);
    expect(t.sentence).toBe('“A” and “B” lifted the score most (+8.7 each); failing “Rest” lowered it most (−82.6).');
  });

  it('all passed: nothing lowered it', () => {
    expect(line([check('A', 'pass', 3), check('B', 'pass', 1)]).sentence).toBe('“A” lifted the score most (+75 of 75); nothing lowered it.');
    expect(line([check('A', 'pass', 3), check('B', 'pass', 1)]).lowered).toEqual([]);
  });

  it('all failed: nothing lifted it', () => {
    const t = line([check('A', 'fail', 3), check('B', 'error', 1)]);
    expect(t.sentence).toBe('Nothing lifted the score; failing “A” lowered it most (−75).');
    expect(t.lifted).toEqual([]);
  });

  it('nothing scored: skipped and weight-0 checks are no part of the score', () => {
    expect(line([check('A', 'skipped'), check('B', 'pass', 0)]).sentence).toBe('Nothing was scored, so nothing lifted or lowered the score.');
    expect(line([]).sentence).toBe('Nothing was scored, so nothing lifted or lowered the score.');
    // A skipped check is left out, not counted as lost.
    expect(line([check('A', 'skipped', 5), check('B', 'pass', 1)]).sentence).toBe('“B” lifted the score most (+100 of 100); nothing lowered it.');
  });

  it('no manual item scored: the checks make up the whole score, whatever the manual weight', () => {
    const manual = { weight: 0.3, items: [{ id: 'clarity', title: 'Code clarity', maxPoints: 5 }] };
    expect(line([check('A', 'pass', 1), check('B', 'fail', 1)], manual, []).sentence).toBe('“A” lifted the score most (+50 of 50); failing “B” lowered it most (−50).');
  });

  it('a scored manual item is a part of its own, the checks sharing what the manual weight leaves', () => {
    const manual = {
      weight: 0.3,
      items: [
        { id: 'clarity', title: 'Code clarity', maxPoints: 5 },
        { id: 'eda', title: 'Exploratory analysis', maxPoints: 5 },
      ],
    };
    // 70 points for the checks; 30 for the one scored item (2 of 5: +12, −18).
    const t = line([check('A', 'pass', 1), check('B', 'pass', 1)], manual, [{ itemId: 'clarity', points: 2 }]);
    expect(t.sentence).toBe('“A” and “B” lifted the score most (+35 each); the manual item “Code clarity” at 40% lowered it most (−18).');
    expect(t.lowered).toEqual([{ kind: 'manual', id: 'clarity', title: 'Code clarity', points: 18, of: 30 }]);
    // Full points on an item worth more than any check (40 of 100 against 30 each): it lifts most.
    expect(line([check('A', 'pass', 1), check('B', 'fail', 1)], { ...manual, weight: 0.4 }, [{ itemId: 'eda', points: 5 }]).sentence).toBe(
      'The manual item “Exploratory analysis” lifted the score most (+40 of 40); failing “B” lowered it most (−30).',
    );
  });
});

describe('the top line in scoring and in the report', () => {
  const rubric = parseRubric(JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/churn-messy-csv/rubric.json'), 'utf8')));
  const ran = (values: Measurement['values']): Measurement => ({ ran: true, values, evidence: [] });
  const measurements = {
    'contract.interface': ran({ blocking: false, problem: null, optionalProblems: 0 }),
    'leakage.target': ran({ flipRate: 0.5 }),
    'imbalance.minority_recall': ran({ recall: 0.55, positives: 100, truePositives: 55 }),
    'quality.business_cost': ran({ cost: 1807, nobodyCost: 4410, referenceCost: 2322, savingsVsReference: 1.1 }),
  };

  it('the points earned add up to the final score, with and without manual scores', () => {
    for (const manual of [[], [{ itemId: 'eda', points: 4 }], rubric.manual.items.map((i) => ({ itemId: i.id, points: 1 }))]) {
      const s = scoreMeasurements(measurements, rubric, manual);
      const parts = scoreParts(s.checks, rubric.manual, manual);
      expect(parts.reduce((sum, p) => sum + p.worth * p.score, 0)).toBeCloseTo(s.score, 8);
      expect(parts.reduce((sum, p) => sum + p.worth, 0)).toBeCloseTo(100, 8);
    }
  });

  it('is written into the report fields a rescore replaces, and an older report without it still parses', () => {
    const f = reportScores(measurements, rubric, [], { hadPredictions: true }).fields;
    // Weights 3 + 4 + 2 + 8: quality at (0.5 + 0.5/3) of 8/17; target leakage (failed, weight 4) loses 23.5.
    expect(f.topLine!.sentence).toBe(
      '“Money saved on hidden data” lifted the score most (+31.4 of 47.1); failing “No reliance on information from after the outcome” lowered it most (−23.5).',
    );
    expect(reportDocumentSchema.shape.topLine.safeParse(undefined).success).toBe(true);
    expect(reportDocumentSchema.shape.topLine.safeParse(f.topLine).success).toBe(true);
  });

  it('the Markdown report says it under the verdict; an older report without it renders as before', () => {
    const f = reportScores(measurements, rubric, [], { hadPredictions: true });
    const provenance = {
      submissionSha256: 'a'.repeat(64),
      datasetVersion: 'v1',
      datasetSha256: 'b'.repeat(64),
      rubricId: 'r',
      rubricVersion: 1,
      runnerImageDigest: 'sha256:' + 'c'.repeat(64),
      harnessVersion: 'h',
      seed: 1,
      gradedAt: 'now',
    };
    const doc = { ...f.fields, assessmentId: 'churn-messy-csv', checks: f.checks, metrics: { holdout: null, evaluate: null }, provenance } as unknown as ReportDocument;
    const lines = renderMarkdown(doc).split('\n');
    const verdictAt = lines.findIndex((l) => l.startsWith('**Not passed'));
    expect(lines[verdictAt + 2]).toBe(f.fields.topLine!.sentence);
    expect(renderMarkdown({ ...doc, topLine: undefined })).not.toContain('lifted');
  });

  it('never reaches the candidate: their view has no scores, so no top line', () => {
    const f = reportScores(measurements, rubric, [], { hadPredictions: true });
    const doc = { ...f.fields, checks: f.checks.map((c) => ({ ...c, visibility: 'full' as const })) } as unknown as Parameters<typeof candidateView>[0];
    const view = JSON.stringify(candidateView(doc));
    expect(view).not.toContain('lifted');
    expect(view).not.toContain('topLine');
  });
});
