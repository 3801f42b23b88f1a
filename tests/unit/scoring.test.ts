import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRubric, RubricError } from '../../services/rubrics/rubric-schema.ts';
import { scoreMeasurements } from '../../services/grading/scoring.ts';
import type { Measurement } from '../../services/grading/check-catalog.ts';
import { ROOT } from '../support/context.ts';

const churnRubric = () => JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/churn-messy-csv/rubric.json'), 'utf8'));
const ran = (values: Measurement['values']): Measurement => ({ ran: true, values, evidence: [] });

describe('rubric validation', () => {
  it('accepts the shipped rubrics', () => {
    for (const a of ['churn-messy-csv', 'smoke-binary']) expect(() => parseRubric(JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments', a, 'rubric.json'), 'utf8')))).not.toThrow();
  });
  it.each([
    [(r: any) => (r.checks['leakage.target'].thresholds = { failFlipRate: 3 }), 'checks.leakage.target.thresholds.failFlipRate'],
    [(r: any) => (r.checks['cv.stratified'].thresholds = { bogus: 1 }), 'checks.cv.stratified.thresholds'],
    [(r: any) => (r.checks['no.such.check'] = { weight: 1 }), 'checks.no.such.check'],
    [(r: any) => (r.checks['cv.used'].weight = -1), 'checks.cv.used.weight'],
    [(r: any) => (r.passMark = 140), 'passMark'],
    [(r: any) => (r.checks['leakage.target'].thresholds = { warnFlipRate: 0.2, failFlipRate: 0.1 }), 'checks.leakage.target.thresholds.warnFlipRate'],
  ])('rejects a bad field with its path (%#)', (mutate, pathText) => {
    const r = churnRubric();
    mutate(r);
    try {
      parseRubric(r);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(RubricError);
      expect((err as RubricError).issues.map((i) => i.path)).toContain(pathText);
    }
  });
});

describe('scoring', () => {
  const measurements: Record<string, Measurement> = {
    'contract.interface': ran({ blocking: false, problem: null, optionalProblems: 0 }),
    'leakage.target': ran({ flipRate: 0.02 }),
    'imbalance.minority_recall': ran({ recall: 0.55, positives: 100, truePositives: 55 }),
    'cv.used': { ran: false, reason: 'the submission has no evaluate() function', values: {}, evidence: [] },
  };

  it('judges thresholds, weights and skips, and explains categories', () => {
    const s = scoreMeasurements(measurements, parseRubric(churnRubric()));
    const byId = Object.fromEntries(s.checks.map((c) => [c.id, c]));
    expect(byId['leakage.target']!.status).toBe('warn');
    expect(byId['imbalance.minority_recall']!.status).toBe('warn');
    expect(byId['cv.used']!.status).toBe('skipped');
    expect(byId['cv.used']!.score).toBeNull();
    // (3*1 + 4*0.5 + 2*0.5) / (3 + 4 + 2): skipped checks are left out
    expect(s.automaticScore).toBeCloseTo((100 * 6) / 9, 8);
    expect(s.categories.find((c) => c.id === 'leakage')!.explanation).toMatch(/Worth a look/);
  });

  it('rescoring with a moved threshold flips only what the threshold governs', () => {
    const r = churnRubric();
    r.checks['leakage.target'].thresholds = { warnFlipRate: 0.001, failFlipRate: 0.01 };
    const s = scoreMeasurements(measurements, parseRubric(r));
    expect(s.checks.find((c) => c.id === 'leakage.target')!.status).toBe('fail');
    expect(s.checks.find((c) => c.id === 'imbalance.minority_recall')!.status).toBe('warn');
    expect(s.passed).toBe(false);
    expect(s.verdict).toMatch(/critical/);
  });

  it('a rubric can count a check that could not run as failed', () => {
    const r = churnRubric();
    r.checks['cv.used'].whenNotRun = 'fail';
    const s = scoreMeasurements(measurements, parseRubric(r));
    const c = s.checks.find((x) => x.id === 'cv.used')!;
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/no evaluate/);
  });

  it('combines manual items with the automatic score as the rubric says', () => {
    const rubric = parseRubric(churnRubric());
    const auto = scoreMeasurements(measurements, rubric);
    const both = scoreMeasurements(measurements, rubric, [{ itemId: 'eda', points: 5 }, { itemId: 'clarity', points: 0 }]);
    expect(both.manualScore).toBeCloseTo(50, 8);
    expect(both.score).toBeCloseTo(0.8 * auto.automaticScore + 0.2 * 50, 8);
  });
});
