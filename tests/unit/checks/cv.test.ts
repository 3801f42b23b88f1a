import { describe, expect, it } from 'vitest';
import { cvEstimateCalibrated } from '../../../services/checks/cv/estimate-calibrated.ts';
import { cvStratified } from '../../../services/checks/cv/stratified.ts';
import { cvUsed } from '../../../services/checks/cv/used.ts';
import type { SplitRecord } from '../../../services/checks/harness-output.ts';
import { evaluateFaultIn } from '../../../services/checks/measure-context.ts';
import { context, expectJudged, expectMeasured, LABELS, phase, predictions, trainResult, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

const fold = (validationPositiveRate: number | null, trainPositiveRate: number | null = 0.3) => ({ trainRows: 80, validationRows: 20, trainPositiveRate, validationPositiveRate });
const split = (over: Partial<SplitRecord> = {}): SplitRecord => ({
  phase: 'evaluate',
  splitter: 'StratifiedKFold',
  params: { n_splits: 5 },
  stratified: true,
  repeated: false,
  folds: [fold(0.3), fold(0.3), fold(0.3), fold(0.3), fold(0.3)],
  file: 'solution.py',
  line: 20,
  code: 'cv = StratifiedKFold(5)',
  ...over,
});
const splits = (...s: SplitRecord[]) => ({ train: { trace: { ...trainResult().trace, splits: s } } });
const functions = (evaluate: boolean) => ({ ...trainResult().solution, functions: { ...trainResult().solution.functions, evaluate } });

describe('cv.used', () => {
  it.each<JudgeCase>([
    { name: 'repeated 2-fold', values: { folds: 2, repeated: true, splitter: 'RepeatedStratifiedKFold', foldScores: 10 }, status: 'pass', summary: 'repeated 2-fold cross-validation' },
    { name: 'five folds', values: { folds: 5, repeated: false, splitter: 'StratifiedKFold', foldScores: 5 }, status: 'pass', summary: '5-fold cross-validation (StratifiedKFold)' },
    { name: 'three folds', values: { folds: 3, repeated: false, splitter: 'KFold', foldScores: 3 }, status: 'warn', summary: 'only 3 folds (KFold); 5 or more expected' },
    {
      name: 'three folds when the rubric asks for three',
      values: { folds: 3, repeated: false, splitter: 'KFold', foldScores: 3 },
      thresholds: { minFolds: 3 },
      status: 'pass',
      summary: '3-fold',
    },
    {
      name: 'fold scores without a splitter',
      values: { folds: 0, repeated: false, splitter: null, foldScores: 5 },
      status: 'warn',
      summary: '5 fold scores returned but no splitter was seen',
    },
    { name: 'a single split', values: { folds: 1, repeated: false, splitter: 'train_test_split', foldScores: 1 }, status: 'fail', summary: 'a single split (train_test_split)' },
    { name: 'nothing', values: { folds: 0, repeated: false, splitter: null, foldScores: 1 }, status: 'fail', summary: 'no cross-validation was seen' },
  ])('judge: $name', (c) => expectJudged('cv.used', c));

  it.each<MeasureCase>([
    {
      name: 'no splitter seen',
      change: {},
      values: { folds: 0, repeated: false, splitter: null, foldScores: 5 },
      evidence: 'no scikit-learn splitter or train_test_split call was seen while evaluate() ran | 0.8000, 0.8200',
    },
    {
      name: 'the splitter with the most folds',
      change: splits(split({ splitter: 'KFold', params: { n_splits: 3 } }), split({ params: { n_splits: 10 } }), split({ phase: 'train', params: { n_splits: 20 } })),
      values: { folds: 10, splitter: 'StratifiedKFold' },
      evidence: '{"n_splits":10}; 5 train/validation splits',
    },
    { name: 'folds counted when n_splits is not reported', change: splits(split({ params: {}, repeated: true })), values: { folds: 5, repeated: true } },
    // The evaluate() phase as every check fed by it sees it.
    { name: 'no training result', change: { train: null }, reason: 'the training container produced no result', missing: null },
    {
      name: 'solution.py did not import',
      change: { train: { evaluate: null, solution: { ...trainResult().solution, importError: 'SyntaxError' } } },
      reason: 'evaluate() was not looked for',
      missing: null,
    },
    { name: 'no evaluate()', change: { train: { evaluate: null, solution: functions(false) } }, reason: 'the submission has no evaluate() function', missing: 'evaluate' },
    {
      name: 'evaluate() raised',
      change: { train: { evaluate: null, evaluateProblem: 'evaluate() raised KeyError', phases: [phase('train'), phase('evaluate', 'error', { error: 'evaluate() raised KeyError' })] } },
      reason: 'evaluate() raised KeyError',
      missing: 'evaluate',
    },
    {
      name: 'evaluate() returned nothing usable',
      change: { train: { evaluate: null, phases: [phase('train'), phase('evaluate')] } },
      reason: 'evaluate() did not return a result',
      missing: 'evaluate',
    },
    {
      name: 'evaluate() timed out',
      change: { train: { evaluate: null, phases: [phase('evaluate', 'timeout', { error: 'evaluate did not finish within 60 s' })] } },
      reason: 'evaluate did not finish within 60 s',
      missing: 'evaluate',
    },
    { name: 'evaluate() killed with the container', change: { train: { evaluate: null, phases: [phase('evaluate', 'killed')] } }, reason: 'boom', missing: null },
    {
      name: 'evaluate() out of processes',
      change: { train: { evaluate: null, phases: [phase('evaluate', 'error', { error: 'evaluate() raised BlockingIOError: Resource temporarily unavailable' })] } },
      reason: 'Resource temporarily unavailable',
      missing: null,
    },
    {
      name: 'evaluate() stopped by the process limit',
      change: { train: { evaluate: null, phases: [phase('evaluate', 'error', { pidsExhausted: true, error: 'evaluate() raised OSError' })] } },
      reason: 'evaluate() raised OSError',
      missing: null,
    },
  ])('measure: $name', (c) => expectMeasured(cvUsed.measure, c));

  it.each([
    { problem: 'evaluate() raised ValueError: x', fault: true },
    { problem: 'evaluate_null exited (code 1)', fault: true },
    { problem: "evaluate's result has 2 keys", fault: true },
    { problem: 'importing solution.py failed', fault: false },
    { problem: "evaluate() raised RuntimeError: can't start new thread", fault: false },
  ])('evaluate() at fault in "$problem": $fault', ({ problem, fault }) => expect(evaluateFaultIn(problem)).toBe(fault));
});

describe('cv.stratified', () => {
  it.each<JudgeCase>([
    {
      name: 'balanced folds',
      values: { maxRelativeDeviation: 0.1, splitter: 'StratifiedKFold' },
      status: 'pass',
      summary: "validation folds' churn rate deviates by up to 10.0% from the overall rate (StratifiedKFold)",
    },
    { name: 'at the warn bar', values: { maxRelativeDeviation: 0.3, splitter: 'KFold' }, status: 'pass', summary: '30.0%' },
    { name: 'above the warn bar', values: { maxRelativeDeviation: 0.35, splitter: 'KFold' }, status: 'warn', summary: '35.0%' },
    { name: 'above the fail bar', values: { maxRelativeDeviation: 0.5, splitter: 'KFold' }, status: 'fail', summary: '50.0%' },
    { name: 'a tolerant rubric', values: { maxRelativeDeviation: 0.5, splitter: 'KFold' }, thresholds: { warnAbove: 0.6, failAbove: 1 }, status: 'pass', summary: '50.0%' },
  ])('judge: $name', (c) => expectJudged('cv.stratified', c));

  it.each<MeasureCase>([
    {
      name: 'stratified folds',
      change: splits(split()),
      values: { maxRelativeDeviation: 0, splitter: 'StratifiedKFold', stratified: true, overallRate: 0.3 },
      evidence: '30.0%, 30.0%, 30.0%, 30.0%, 30.0% (all rows given to the splitter: 30.0%)',
    },
    {
      name: 'uneven folds',
      change: splits(split({ stratified: false, folds: [fold(0.3), fold(0.45), fold(0.15)] })),
      values: { maxRelativeDeviation: expect.closeTo(0.5, 10) as never, stratified: false },
    },
    { name: 'against resampled data the splitter was given', change: splits(split({ folds: [fold(0.5, 0.5), fold(0.5, 0.5)] })), values: { maxRelativeDeviation: 0, overallRate: 0.5 } },
    {
      name: 'against the training churn rate when the first fold has no rates',
      change: splits(split({ folds: [fold(0.3, null), fold(0.6)] })),
      values: { maxRelativeDeviation: expect.closeTo(1, 10) as never, overallRate: 0.3 },
    },
    { name: 'no splitter', change: {}, reason: 'no folds with class information were seen while evaluate() ran' },
    { name: 'folds without class information', change: splits(split({ folds: [fold(null), fold(null)] })), reason: 'no folds with class information' },
    { name: 'no evaluate()', change: { train: { evaluate: null, solution: functions(false) } }, reason: 'the submission has no evaluate() function', missing: 'evaluate' },
  ])('measure: $name', (c) => expectMeasured(cvStratified.measure, c));
});

describe('cv.estimate_calibrated', () => {
  it.each<JudgeCase>([
    {
      name: 'close to the holdout',
      values: { metric: 'roc_auc', cvMean: 0.8, holdout: 0.79, holdoutSe: 0.02, optimism: 0.01 },
      status: 'pass',
      summary: 'roc_auc: own estimate 0.800 vs hidden holdout 0.790 (±0.020)',
    },
    { name: 'at the warn bar', values: { metric: 'roc_auc', cvMean: 0.84, holdout: 0.8, holdoutSe: 0.02, optimism: 0.04 }, status: 'pass', summary: '0.840' },
    { name: 'somewhat optimistic', values: { metric: 'roc_auc', cvMean: 0.85, holdout: 0.8, holdoutSe: 0.02, optimism: 0.05 }, status: 'warn', summary: 'somewhat optimistic' },
    { name: 'optimistic beyond chance', values: { metric: 'roc_auc', cvMean: 0.87, holdout: 0.8, holdoutSe: 0.02, optimism: 0.07 }, status: 'fail', summary: 'optimistic beyond chance' },
    {
      name: 'a rubric allowing more',
      values: { metric: 'roc_auc', cvMean: 0.87, holdout: 0.8, holdoutSe: 0.02, optimism: 0.07 },
      thresholds: { floor: 0.04 },
      status: 'warn',
      summary: '0.870',
    },
  ])('judge: $name', (c) => expectJudged('cv.estimate_calibrated', c));

  const probs = [0.9, 0.1, 0.2, 0.8, 0.3, 0.7, 0.1, 0.2, 0.4, 0.1];
  it.each<MeasureCase>([
    {
      name: 'roc_auc from labels when there are no probabilities',
      change: {},
      values: { metric: 'roc_auc', cvMean: 0.8, holdout: expect.closeTo(16 / 21, 10) as never, optimism: expect.closeTo(0.8 - 16 / 21, 10) as never, usedProbabilities: false },
      evidence: 'computed from labels because predict_proba is missing',
    },
    {
      name: 'roc_auc from probabilities',
      change: { predict: { variants: { prediction_time: predictions(LABELS, { probabilities: probs }) } } },
      values: { holdout: expect.closeTo(20 / 21, 10) as never, usedProbabilities: true },
    },
    {
      name: 'a label metric',
      change: { train: { evaluate: { metric: 'recall', foldScores: [0.7, 0.6] } } },
      values: { metric: 'recall', holdout: expect.closeTo(2 / 3, 10) as never, cvMean: expect.closeTo(0.65, 10) as never, usedProbabilities: false },
      evidence: 'recall = 0.6500 ± ',
    },
    {
      name: 'a metric we cannot recompute',
      change: { train: { evaluate: { metric: 'custom_score', foldScores: [0.7] } } },
      reason: 'metric "custom_score" is not one we can recompute on the holdout',
    },
    { name: 'no valid holdout predictions', change: { predict: null }, reason: 'no valid predictions on the holdout' },
    { name: 'no fold scores', change: { train: { evaluate: { metric: 'roc_auc', foldScores: [] } } }, reason: 'the metric is undefined on the holdout predictions' },
    { name: 'no evaluate()', change: { train: { evaluate: null, solution: functions(false) } }, reason: 'the submission has no evaluate() function', missing: 'evaluate' },
  ])('measure: $name', (c) => expectMeasured(cvEstimateCalibrated.measure, c));

  it('gives the bootstrap standard error of the holdout score for the grading seed', () => {
    const once = cvEstimateCalibrated.measure(context());
    expect(once.values.holdoutSe).toBeGreaterThan(0);
    expect(cvEstimateCalibrated.measure(context()).values.holdoutSe).toBe(once.values.holdoutSe);
    expect(once.evidence[1]!.detail).toContain(`bootstrap standard error ${(once.values.holdoutSe as number).toFixed(4)}, 10 rows`);
  });
});
