import { describe, it } from 'vitest';
import { imbalanceBeatsBaseline } from '../../../services/checks/imbalance/beats-baseline.ts';
import { imbalanceMetric } from '../../../services/checks/imbalance/metric.ts';
import { imbalanceMinorityRecall } from '../../../services/checks/imbalance/minority-recall.ts';
import { expectJudged, expectMeasured, predictions, trainResult, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

const noEvaluate = { train: { evaluate: null, solution: { ...trainResult().solution, functions: { ...trainResult().solution.functions, evaluate: false } } } };
const noHoldout: MeasureCase[] = [
  { name: 'prediction not run', change: { predict: null }, reason: 'prediction was not run' },
  {
    name: 'predict() failed on the holdout',
    change: { predict: { variants: { prediction_time: predictions(null, { labelsProblem: 'predict raised KeyError' }) } } },
    reason: 'predict raised KeyError',
  },
  { name: 'too few labels', change: { predict: { variants: { prediction_time: predictions([1, 0]) } } }, reason: 'no valid predictions on the holdout' },
];

describe('imbalance.metric', () => {
  it.each<JudgeCase>([
    { name: 'an imbalance-aware metric', values: { metric: 'average_precision', imbalanceAware: true, known: true }, status: 'pass', summary: 'evaluated with average_precision' },
    { name: 'plain accuracy', values: { metric: 'accuracy', imbalanceAware: false, known: true }, status: 'fail', summary: 'plain accuracy, which rewards ignoring churners' },
    {
      name: 'precision alone',
      values: { metric: 'precision', imbalanceAware: false, known: true },
      status: 'warn',
      summary: 'evaluated with precision, which does not reflect both kinds of error',
    },
  ])('judge: $name', (c) => expectJudged('imbalance.metric', c));

  it.each<MeasureCase>([
    { name: 'roc_auc', change: {}, values: { metric: 'roc_auc', imbalanceAware: true, known: true }, evidence: 'evaluate() reported "roc_auc"' },
    { name: 'accuracy', change: { train: { evaluate: { metric: 'accuracy', foldScores: [0.9] } } }, values: { metric: 'accuracy', imbalanceAware: false, known: true } },
    {
      name: 'a name we do not know',
      change: { train: { evaluate: { metric: 'my_score', foldScores: [0.9] } } },
      values: { imbalanceAware: false, known: false },
      evidence: '(not a scikit-learn scorer name we know)',
    },
    { name: 'no evaluate()', change: noEvaluate, reason: 'the submission has no evaluate() function', missing: 'evaluate' },
  ])('measure: $name', (c) => expectMeasured(imbalanceMetric.measure, c));
});

describe('imbalance.beats_baseline', () => {
  const v = (costRatioVsMajority: number | null, balancedAccuracy: number, costRatioVsReference: number | null = null) => ({ costRatioVsMajority, balancedAccuracy, costRatioVsReference });
  it.each<JudgeCase>([
    { name: 'clearly better than calling nobody', values: v(0.5, 0.7), status: 'pass', summary: 'cost 50.0% of calling nobody; balanced accuracy 0.700' },
    { name: 'at the majority bar', values: v(0.85, 0.7), status: 'pass', summary: '85.0%' },
    { name: 'costs too much', values: v(0.9, 0.7), status: 'fail', summary: 'not clearly better than doing nothing' },
    { name: 'balanced accuracy too low', values: v(0.5, 0.5), status: 'fail', summary: 'not clearly better than doing nothing' },
    { name: 'no cost ratio (no churners)', values: v(null, 0.7), status: 'fail', summary: 'cost n/a of calling nobody' },
    { name: 'as good as the reference', values: v(0.5, 0.7, 1), status: 'pass', summary: "100.0% of the reference model's" },
    { name: 'a little worse than the reference', values: v(0.5, 0.7, 1.05), status: 'warn', summary: 'about as good as a simple reference model' },
    { name: 'worse than the reference', values: v(0.5, 0.7, 1.2), status: 'fail', summary: 'worse than a simple reference model' },
    { name: 'a rubric that wants more', values: v(0.5, 0.7), thresholds: { maxCostRatioVsMajority: 0.4 }, status: 'fail', summary: '50.0%' },
  ])('judge: $name', (c) => expectJudged('imbalance.beats_baseline', c));

  it.each<MeasureCase>([
    {
      name: 'costs against calling nobody',
      change: {},
      values: {
        cost: 11,
        costMajority: 30,
        costReference: null,
        costRatioVsMajority: 11 / 30,
        costRatioVsReference: null,
        balancedAccuracy: (2 / 3 + 6 / 7) / 2,
        balancedAccuracyReference: null,
      },
      evidence: '11 (missed churner = 10, unneeded call = 1); calling nobody costs 30 | caught 2, missed 1, unneeded calls 1, correctly left alone 6',
    },
    {
      name: 'and against the reference model',
      change: { input: { reference: { labels: [1, 0, 0, 0, 0, 0, 0, 0, 1, 0], probabilities: null } } },
      values: { costReference: 10, costRatioVsReference: 1.1, balancedAccuracyReference: (2 / 3 + 1) / 2 },
      evidence: '; the reference model costs 10',
    },
    { name: 'a reference of another length is ignored', change: { input: { reference: { labels: [1, 0], probabilities: null } } }, values: { costReference: null } },
    ...noHoldout,
  ])('measure: $name', (c) => expectMeasured(imbalanceBeatsBaseline.measure, c));
});

describe('imbalance.minority_recall', () => {
  const v = (recall: number) => ({ recall, truePositives: Math.round(recall * 10), positives: 10 });
  it.each<JudgeCase>([
    { name: 'most churners found', values: v(0.8), status: 'pass', summary: 'flags 80.0% of churners (8 of 10)' },
    { name: 'at the pass bar', values: v(0.6), status: 'pass', summary: '60.0%' },
    { name: 'between the bars', values: v(0.5), status: 'warn', summary: '50.0%' },
    { name: 'at the warn bar', values: v(0.4), status: 'warn', summary: '40.0%' },
    { name: 'below the warn bar', values: v(0.3), status: 'fail', summary: 'most churners are missed' },
    { name: 'a stricter rubric', values: v(0.8), thresholds: { pass: 0.9, warn: 0.85 }, status: 'fail', summary: '80.0%' },
  ])('judge: $name', (c) => expectJudged('imbalance.minority_recall', c));

  it.each<MeasureCase>([
    { name: 'churners found', change: {}, values: { recall: 2 / 3, positives: 3, truePositives: 2, predictedPositives: 3 }, evidence: '2 of 3 churners flagged; 3 customers flagged in all' },
    { name: 'nobody flagged', change: { predict: { variants: { prediction_time: predictions(Array(10).fill(0)) } } }, values: { recall: 0, truePositives: 0, predictedPositives: 0 } },
    ...noHoldout,
  ])('measure: $name', (c) => expectMeasured(imbalanceMinorityRecall.measure, c));
});
