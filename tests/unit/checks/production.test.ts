import { describe, expect, it } from 'vitest';
import { businessThreshold } from '../../../services/checks/production/business-threshold.ts';
import { calibration } from '../../../services/checks/production/calibration.ts';
import { modelQuality, qualityScore } from '../../../services/checks/production/model-quality.ts';
import { servingFootprint } from '../../../services/checks/production/serving-footprint.ts';
import { servingLatency } from '../../../services/checks/production/serving-latency.ts';
import { judgeCheck } from '../../../services/checks/check-catalog.ts';
import type { PredictResult } from '../../../services/checks/harness-output.ts';
import { scoreMeasurements } from '../../../services/grading/scoring.ts';
import { parseRubric } from '../../../services/rubrics/rubric-schema.ts';
import { context, expectJudged, expectMeasured, LABELS, predictions, trainResult, TRUTH, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

type Serving = NonNullable<PredictResult['serving']>;
const serving = (over: Partial<Serving> = {}): Serving => ({
  coldStartMs: 900,
  warmMs: Array(200).fill(10),
  warmCpuMs: Array(200).fill(9),
  budgetS: 20,
  answers: LABELS.map((l, row) => [row, l] as [number, 0 | 1]),
  batchMs: 50,
  batchRows: 10,
  batchProblem: null,
  peakRssBytes: 200 * 1048576,
  problem: null,
  ...over,
});
// Probabilities that rank the three churners (rows 0, 3, 8) first, the labels cut at 0.5.
const PROBS = [0.9, 0.1, 0.05, 0.7, 0.2, 0.6, 0.1, 0.05, 0.3, 0.02];
const withProbs = (probs: number[] | null, labels = LABELS) => ({
  train: trainResult({ solution: { found: true, path: 'solution.py', importError: null, functions: { train: true, predict: true, predict_proba: probs !== null, evaluate: true } } }),
  predict: { variants: { prediction_time: predictions(labels, { probabilities: probs }), as_recorded: predictions(labels), messy: predictions(labels) } },
});

describe('serving.latency', () => {
  it.each<JudgeCase>([
    { name: 'fast', values: { p50Ms: 8, p99Ms: 15, calls: 200, cpus: 2, coldStartMs: 900, mismatchRate: 0 }, status: 'pass', summary: 'p99 15.0 ms' },
    { name: 'close to the budget passes by default', values: { p50Ms: 30, p99Ms: 70, calls: 200, cpus: 2, coldStartMs: 900, mismatchRate: 0 }, status: 'pass', summary: 'p99 70.0 ms' },
    {
      name: 'close to the budget, with a warning band',
      values: { p50Ms: 30, p99Ms: 70, calls: 200, cpus: 2, coldStartMs: 900, mismatchRate: 0 },
      thresholds: { warnP99Ms: 60 },
      status: 'warn',
      summary: 'close to the budget',
    },
    { name: 'slow', values: { p50Ms: 300, p99Ms: 450, calls: 60, cpus: 2, coldStartMs: 900, mismatchRate: 0 }, status: 'fail', summary: 'slower than the 80 ms budget' },
    {
      name: 'a looser rubric',
      values: { p50Ms: 300, p99Ms: 450, calls: 60, cpus: 2, coldStartMs: 900, mismatchRate: 0 },
      thresholds: { p99Ms: 500, warnP99Ms: 400 },
      status: 'warn',
      summary: 'p99 450.0 ms',
    },
    { name: "fast answers that are not the model's", values: { p50Ms: 1, p99Ms: 2, calls: 200, cpus: 2, coldStartMs: 900, mismatchRate: 0.2 }, status: 'fail', summary: 'cannot be trusted' },
  ])('judge: $name', (c) => expectJudged('serving.latency', c));

  it.each<MeasureCase>([
    {
      name: 'each call counts with the smaller of wall and CPU time',
      change: { predict: { serving: serving({ warmMs: Array(200).fill(120), warmCpuMs: Array(200).fill(12) }) } },
      values: { p99Ms: 12, wallP99Ms: 120, calls: 200, mismatchRate: 0 },
    },
    { name: 'without CPU times, wall time', change: { predict: { serving: serving({ warmMs: Array(200).fill(120), warmCpuMs: [] }) } }, values: { p99Ms: 120 } },
    {
      name: 'no warm answer within the budget: at least the rest of the budget',
      change: { predict: { serving: serving({ coldStartMs: 5000, warmMs: [], warmCpuMs: [] }) } },
      values: { calls: 0, p99Ms: 15000 },
    },
    {
      name: 'answers compared with the whole-file answers',
      change: {
        predict: {
          serving: serving({
            answers: [
              [0, 0],
              [1, 0],
              [3, 1],
              [5, 1],
            ],
          }),
        },
      },
      values: { mismatches: 1, mismatchRate: 0.25 },
    },
    { name: 'batch throughput', change: { predict: { serving: serving() } }, values: { batchRowsPerSecond: 200 }, evidence: '200 customers per second' },
    {
      name: 'the probe never got an answer',
      change: { predict: { serving: serving({ coldStartMs: null, warmMs: [], warmCpuMs: [], problem: 'could not load the model' }) } },
      reason: 'could not load the model',
    },
    { name: 'no probe', change: { predict: { serving: null } }, reason: 'the serving probe did not run' },
  ])('measure: $name', (c) => expectMeasured(servingLatency.measure, c));
});

describe('serving.footprint', () => {
  const model = (ids: number, windows: number, bytes = 200_000) => ({
    bytes,
    trainBytes: 1_000_000,
    scan: { idsSampled: 200, idsFound: ids, windowsSampled: 80, windowsFound: windows, columnsFound: windows ? ['tenure_months'] : [] },
  });
  it.each<MeasureCase>([
    { name: 'a lean model', change: { input: { model: model(0, 0) }, predict: { serving: serving() } }, values: { idsFoundShare: 0, numericRunsFoundShare: 0, servingPeakMb: 200 } },
    { name: 'a model carrying the frame', change: { input: { model: model(200, 80) } }, values: { idsFoundShare: 1, numericRunsFoundShare: 1, columnsFound: 'tenure_months' } },
    { name: 'no model', change: { input: { model: null } }, reason: 'training produced no model' },
  ])('measure: $name', (c) => expectMeasured(servingFootprint.measure, c));
  it.each<JudgeCase>([
    { name: 'lean', values: { modelMb: 0.2, trainMb: 1, servingPeakMb: 200, idsFoundShare: 0, numericRunsFoundShare: 0 }, status: 'pass', summary: 'model.pkl 0.20 MB' },
    {
      name: 'carries training ids',
      values: { modelMb: 2, trainMb: 1, servingPeakMb: 200, idsFoundShare: 1, idsFound: 200, idsSampled: 200, numericRunsFoundShare: 0 },
      status: 'fail',
      summary: 'carries rows of the training data',
    },
    {
      name: 'carries numeric columns only',
      values: { modelMb: 2, trainMb: 1, servingPeakMb: 200, idsFoundShare: 0, idsFound: 0, idsSampled: 200, numericRunsFoundShare: 0.5, columnsFound: 'tenure_months' },
      status: 'fail',
      summary: 'values of tenure_months',
    },
    {
      name: 'a few stray matches stay under the bar',
      values: { modelMb: 0.2, trainMb: 1, servingPeakMb: 200, idsFoundShare: 0.02, numericRunsFoundShare: 0.05 },
      status: 'pass',
      summary: 'model.pkl',
    },
    { name: 'too large', values: { modelMb: 150, trainMb: 1, servingPeakMb: 900, idsFoundShare: 0, numericRunsFoundShare: 0 }, status: 'warn', summary: 'larger than 100 MB' },
    { name: 'too much memory', values: { modelMb: 1, trainMb: 1, servingPeakMb: 3000, idsFoundShare: 0, numericRunsFoundShare: 0 }, status: 'warn', summary: 'more memory than 2048 MB' },
  ])('judge: $name', (c) => expectJudged('serving.footprint', c));
});

describe('business.threshold', () => {
  it('measures the cost at their labels against the best cut-off on their probabilities', () => {
    const m = businessThreshold.measure(context(withProbs(PROBS)));
    // Labels at 0.5: caught rows 0 and 3, missed row 8 (p=0.3), an unneeded call to row 5: cost 10 + 1.
    // The best cut-off, 0.3, flags rows 0, 3, 5 and 8: every churner, one unneeded call: cost 1.
    expect(m.values).toMatchObject({ ownCost: 11, bestCost: 1, bestThreshold: 0.3, nobodyCost: 30 });
    expect(m.values.regret).toBeCloseTo(10 / 29, 10);
    expect(m.values.effectiveThreshold as number).toBeGreaterThan(0.3);
    expect(m.values.effectiveThreshold as number).toBeLessThan(0.6);
    expect(m.series?.costByThreshold?.length).toBe(101);
  });
  it('without predict_proba: not provided, a warning by default', () => {
    const m = businessThreshold.measure(context(withProbs(null)));
    expect(m).toMatchObject({ ran: false, missing: 'predict_proba' });
    expect(m.reason).toContain('the submission has no predict_proba()');
    const rubric = parseRubric({ id: 'r-test', assessmentId: 'a', passMark: 50, checks: { 'business.threshold': { weight: 1 } } });
    expect(scoreMeasurements({ 'business.threshold': m }, rubric).checks[0]).toMatchObject({ status: 'warn', score: 0.5 });
    const strict = parseRubric({ id: 'r-test', assessmentId: 'a', passMark: 50, checks: { 'business.threshold': { weight: 1, whenMissing: 'fail' } } });
    expect(scoreMeasurements({ 'business.threshold': m }, strict).checks[0]).toMatchObject({ status: 'fail', score: 0 });
  });
  it.each<JudgeCase>([
    { name: 'tuned', values: { ownCost: 1807, bestCost: 1750, bestThreshold: 0.1, effectiveThreshold: 0.09, regret: 0.02 }, status: 'pass', summary: '2.0% of the possible savings' },
    { name: 'half-tuned', values: { ownCost: 2100, bestCost: 1750, bestThreshold: 0.1, effectiveThreshold: 0.25, regret: 0.2 }, status: 'warn', summary: 'not tuned to the costs' },
    {
      name: 'kept 0.5',
      values: { ownCost: 3400, bestCost: 1750, bestThreshold: 0.1, effectiveThreshold: 0.5, regret: 0.63 },
      status: 'fail',
      summary: 'ignores the cost of a missed churner',
    },
  ])('judge: $name', (c) => expectJudged('business.threshold', c));
});

describe('calibration', () => {
  it('measures calibration error and Brier score next to the reference model', () => {
    const m = calibration.measure(context({ ...withProbs(PROBS), input: { reference: { labels: LABELS, probabilities: TRUTH.map((t) => (t ? 0.8 : 0.1)) } } }));
    expect(m.ran).toBe(true);
    expect(m.values.ece as number).toBeGreaterThan(0);
    expect(m.values.referenceEce as number).toBeCloseTo(0.7 * 0.1 + 0.3 * 0.2, 10);
    expect(m.values.observedRate).toBeCloseTo(0.3, 10);
    expect(m.series?.reliability?.length).toBeGreaterThan(2);
  });
  it.each<JudgeCase>([
    { name: 'calibrated', values: { ece: 0.03, brier: 0.07, referenceEce: 0.04 }, status: 'pass', summary: 'calibration error 0.030 (reference model 0.040)' },
    { name: 'off', values: { ece: 0.12, brier: 0.1, referenceEce: 0.04 }, status: 'warn', summary: 'off from the observed churn rates' },
    { name: 'far off', values: { ece: 0.35, brier: 0.2, referenceEce: 0.04 }, status: 'fail', summary: 'far from the observed churn rates' },
  ])('judge: $name', (c) => expectJudged('calibration', c));
});

describe('quality.business_cost', () => {
  it('places the cost between calling nobody and the reference model, and beyond', () => {
    const t = { atReference: 0.7, fullAt: 1.5 };
    expect(qualityScore(0, t)).toBe(0);
    expect(qualityScore(-1, t)).toBe(0);
    expect(qualityScore(0.5, t)).toBeCloseTo(0.35, 10);
    expect(qualityScore(1, t)).toBeCloseTo(0.7, 10);
    expect(qualityScore(1.25, t)).toBeCloseTo(0.85, 10);
    expect(qualityScore(2, t)).toBe(1);
  });
  it('measures savings relative to the reference model', () => {
    const m = modelQuality.measure(context({ input: { reference: { labels: [1, 0, 0, 1, 0, 1, 1, 0, 1, 0], probabilities: null } } }));
    // Own: missed 1 (10) + 1 call (1) = 11; reference: 2 unneeded calls = 2; nobody: 30.
    expect(m.values).toMatchObject({ cost: 11, referenceCost: 2, nobodyCost: 30 });
    expect(m.values.savingsVsReference).toBeCloseTo(19 / 28, 10);
  });
  it('scores continuously: two passing models of different cost get different points', () => {
    const rubric = parseRubric({ id: 'r-test', assessmentId: 'a', passMark: 50, checks: { 'quality.business_cost': { weight: 4 } } });
    const at = (x: number) =>
      scoreMeasurements({ 'quality.business_cost': { ran: true, values: { cost: 0, nobodyCost: 0, referenceCost: 0, savingsVsReference: x }, evidence: [] } }, rubric);
    expect(at(1.25).checks[0]).toMatchObject({ status: 'pass' });
    expect(at(1.03).checks[0]).toMatchObject({ status: 'pass' });
    // Defaults: half the points at the reference, all of them at 30% more savings than it.
    expect(at(1.25).automaticScore - at(1.03).automaticScore).toBeCloseTo((100 * 0.5 * (0.25 - 0.03)) / 0.3, 6);
    expect(at(0.5).checks[0]).toMatchObject({ status: 'warn', score: 0.25 });
    expect(judgeCheck('quality.business_cost', { ran: true, values: { savingsVsReference: -0.2 }, evidence: [] }, {})).toMatchObject({ status: 'fail', score: 0 });
  });
});
