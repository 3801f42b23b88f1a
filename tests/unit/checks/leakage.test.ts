import { describe, expect, it } from 'vitest';
import type { LeakFinding, LintFinding } from '../../../services/checks/harness-output.ts';
import { chanceSe, leakageNullLabels } from '../../../services/checks/leakage/null-labels.ts';
import { leakagePreprocessing } from '../../../services/checks/leakage/preprocessing.ts';
import { leakageResampling } from '../../../services/checks/leakage/resampling.ts';
import { leakageTarget } from '../../../services/checks/leakage/target.ts';
import { leakageTransductive } from '../../../services/checks/leakage/transductive.ts';
import { context, expectJudged, expectMeasured, LABELS, measureInput, phase, predictions, predictResult, trainResult, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

const leak = (over: Partial<LeakFinding> = {}): LeakFinding => ({
  estimator: 'StandardScaler',
  method: 'fit',
  fitRows: 100,
  validationRowsSeen: 20,
  validationRowsTotal: 20,
  syntheticOrRepeatedValidationRows: 0,
  splitter: 'KFold',
  file: 'solution.py',
  line: 12,
  code: 'scaler.fit(X)',
  phase: 'evaluate',
  ...over,
});
const lint = (rule: LintFinding['rule']): LintFinding => ({ rule, message: `${rule} here`, file: 'solution.py', line: 3, code: 'x' }) as LintFinding;
const trace = (over: Partial<ReturnType<typeof trainResult>['trace']>) => ({ trace: { ...trainResult().trace, ...over } });

describe('leakage.target', () => {
  it.each<JudgeCase>([
    { name: 'no flips', values: { flipRate: 0 }, status: 'pass', summary: '0.0% of predictions change' },
    { name: 'at the warn bar', values: { flipRate: 0.01 }, status: 'pass', summary: '1.0%' },
    { name: 'above the warn bar', values: { flipRate: 0.02 }, status: 'warn', summary: 'some reliance on post-outcome information' },
    { name: 'at the fail bar', values: { flipRate: 0.03 }, status: 'warn', summary: '3.0%' },
    { name: 'above the fail bar', values: { flipRate: 0.2 }, status: 'fail', summary: 'relies on information from after the outcome' },
    { name: 'a rubric with wider bars', values: { flipRate: 0.2 }, thresholds: { warnFlipRate: 0.1, failFlipRate: 0.3 }, status: 'warn', summary: '20.0%' },
  ])('judge: $name', (c) => expectJudged('leakage.target', c));

  it.each<MeasureCase>([
    {
      name: 'the same labels on both variants',
      change: {},
      values: { flipRate: 0, meanProbabilityShift: null, rowsCompared: 10, columns: 'refund' },
      evidence: '0 of 10 holdout customers get a different label when refund is as billing recorded it',
    },
    {
      name: 'two labels flip',
      change: { predict: { variants: { prediction_time: predictions(LABELS), as_recorded: predictions([1, 1, 0, 1, 0, 1, 0, 0, 1, 0]) } } },
      values: { flipRate: 0.2 },
      evidence: '2 of 10',
    },
    {
      name: 'probabilities shift',
      change: {
        predict: { variants: { prediction_time: predictions(LABELS, { probabilities: Array(10).fill(0.5) }), as_recorded: predictions(LABELS, { probabilities: Array(10).fill(0.6) }) } },
      },
      values: { meanProbabilityShift: expect.closeTo(0.1, 10) as never },
      evidence: 'mean change in churn probability 0.100',
    },
    {
      name: 'an assessment without post-outcome columns',
      change: { input: { manifest: { ...measureInput().manifest, recordedVariant: null } } },
      reason: 'this assessment has no post-outcome columns to test',
    },
    { name: 'no predictions on the recorded variant', change: { predict: { variants: { prediction_time: predictions(LABELS) } } }, reason: 'no valid predictions on both holdout variants' },
    { name: 'no valid holdout predictions', change: { predict: null }, reason: 'no valid predictions on both holdout variants' },
  ])('measure: $name', (c) => expectMeasured(leakageTarget.measure, c));
});

describe('leakage.preprocessing', () => {
  it.each<JudgeCase>([
    { name: 'a traced leak', values: { tracedLeaks: 1, lintFindings: 0, lintWarnings: 0 }, status: 'fail', summary: '1 preprocessing step(s) were fitted on rows later used for validation' },
    { name: 'a lint finding only', values: { tracedLeaks: 0, lintFindings: 2, lintWarnings: 0 }, status: 'fail', summary: '2 place(s) in the code fit preprocessing before splitting' },
    {
      name: 'a lint finding under a lenient rubric',
      values: { tracedLeaks: 0, lintFindings: 2, lintWarnings: 0 },
      thresholds: { failOnLintOnly: false },
      status: 'warn',
      summary: '2 place(s)',
    },
    { name: 'cross-validation without a Pipeline', values: { tracedLeaks: 0, lintFindings: 0, lintWarnings: 1 }, status: 'warn', summary: 'without a Pipeline' },
    { name: 'clean', values: { tracedLeaks: 0, lintFindings: 0, lintWarnings: 0 }, status: 'pass', summary: 'fitted inside the training folds' },
    {
      name: 'findings in exploratory work only',
      values: { tracedLeaks: 0, lintFindings: 0, lintWarnings: 0, exploratoryFindings: 2 },
      status: 'pass',
      summary: 'fitted inside the training folds',
    },
    {
      name: 'exploratory work counted by the rubric',
      values: { tracedLeaks: 0, lintFindings: 0, lintWarnings: 0, exploratoryFindings: 2 },
      thresholds: { failOnExploratory: true },
      status: 'fail',
      summary: '2 place(s) in exploratory work',
    },
  ])('judge: $name', (c) => expectJudged('leakage.preprocessing', c));

  it.each<MeasureCase>([
    { name: 'a clean trace', change: {}, values: { tracedLeaks: 0, lintFindings: 0, lintWarnings: 0 } },
    {
      name: 'a traced leak',
      change: { train: trace({ preprocessingLeaks: [leak()] }) },
      values: { tracedLeaks: 1 },
      evidence: 'fitted on 100 rows, including 20 of the 20 rows later used for validation by KFold',
    },
    {
      name: 'lint findings, hard and soft',
      change: { train: { lint: [lint('fit-before-split'), lint('select-before-split'), lint('no-pipeline-in-cv'), lint('resample-before-split')] } },
      values: { tracedLeaks: 0, lintFindings: 2, lintWarnings: 1 },
      evidence: 'no-pipeline-in-cv here',
    },
    {
      name: 'statistics before the split, in the solution and in exploratory work',
      change: { train: { lint: [lint('stat-before-split'), lint('fit-on-test-rows'), { ...lint('stat-before-split'), file: 'eda.ipynb#cell-4', exploratory: true }] } },
      values: { lintFindings: 2, exploratoryFindings: 1 },
      evidence: 'stat-before-split here',
    },
    { name: 'no training result', change: { train: null }, reason: 'the training container produced no result' },
    {
      name: 'neither train() nor evaluate() finished',
      change: { train: { phases: [phase('train', 'error'), phase('evaluate', 'timeout')] } },
      reason: 'neither train() nor evaluate() finished, so there is no complete trace',
    },
    { name: 'no code ran', change: { train: { phases: [], solution: { ...trainResult().solution, found: false } } }, reason: "none of the submission's code ran" },
    {
      name: 'the lint stands without a complete trace',
      change: { train: { phases: [phase('train', 'error')], lint: [lint('resample-before-split')] } },
      values: { tracedLeaks: 0, lintFindings: 0 },
    },
  ])('measure: $name', (c) => expectMeasured(leakagePreprocessing.measure, c));

  it('labels a finding in exploratory work as such and keeps its notebook cell', () => {
    const eda = { ...lint('stat-before-split'), file: 'eda.ipynb#cell-4', exploratory: true };
    const m = leakagePreprocessing.measure(context({ train: { lint: [eda] } }));
    expect(m.evidence).toEqual([{ label: 'lint: stat-before-split (in exploratory work)', detail: 'stat-before-split here', file: 'eda.ipynb#cell-4', line: 3, code: 'x' }]);
  });

  it('keeps where the leak is in the code', () => {
    const m = leakagePreprocessing.measure(context({ train: trace({ preprocessingLeaks: [leak({ splitter: null, file: null })] }) }));
    expect(m.evidence[0]).toEqual({
      label: 'StandardScaler.fit() in evaluate',
      detail: 'fitted on 100 rows, including 20 of the 20 rows later used for validation',
      line: 12,
      code: 'scaler.fit(X)',
    });
  });
});

describe('leakage.resampling', () => {
  it.each<JudgeCase>([
    { name: 'resampled rows reached validation', values: { tracedLeaks: 1, lintFindings: 0, syntheticValidationRows: 7 }, status: 'fail', summary: '7 synthetic or repeated rows seen' },
    { name: 'a lint finding', values: { tracedLeaks: 0, lintFindings: 1, syntheticValidationRows: 0 }, status: 'fail', summary: '1 place(s) in the code resample before splitting' },
    { name: 'clean', values: { tracedLeaks: 0, lintFindings: 0, syntheticValidationRows: 0 }, status: 'pass', summary: 'no resampling before a split' },
  ])('judge: $name', (c) => expectJudged('leakage.resampling', c));

  it.each<MeasureCase>([
    { name: 'a clean trace', change: {}, values: { tracedLeaks: 0, lintFindings: 0, syntheticValidationRows: 0 } },
    {
      name: 'synthetic rows in validation folds',
      change: {
        train: trace({ resamplingLeaks: [leak({ estimator: 'SMOTE', method: 'fit_resample', syntheticOrRepeatedValidationRows: 5 }), leak({ syntheticOrRepeatedValidationRows: 2 })] }),
      },
      values: { tracedLeaks: 2, syntheticValidationRows: 7 },
      evidence: '5 validation rows were synthetic or repeated',
    },
    {
      name: 'resampling before the split in the code',
      change: { train: { lint: [lint('resample-before-split'), lint('fit-before-split')] } },
      values: { lintFindings: 1 },
      evidence: 'resample-before-split here',
    },
    { name: 'no trace', change: { train: null }, reason: 'the training container produced no result' },
  ])('measure: $name', (c) => expectMeasured(leakageResampling.measure, c));
});

describe('leakage.transductive', () => {
  it.each<JudgeCase>([
    { name: 'no difference', values: { chunkDiffRate: 0, rowDiffRate: 0 }, status: 'pass', summary: '0.0% of labels differ in shuffled chunks, 0.0% row by row' },
    { name: 'rows differ alone', values: { chunkDiffRate: 0, rowDiffRate: 0.5 }, status: 'fail', summary: 'predictions depend on the batch' },
    { name: 'chunks differ', values: { chunkDiffRate: 0.1, rowDiffRate: null }, status: 'fail', summary: '10.0% of labels differ in shuffled chunks, n/a row by row' },
    { name: 'within a tolerant rubric', values: { chunkDiffRate: 0.05, rowDiffRate: 0 }, thresholds: { maxDiffRate: 0.05 }, status: 'pass', summary: '5.0%' },
  ])('judge: $name', (c) => expectJudged('leakage.transductive', c));

  const tr = (over: Partial<NonNullable<ReturnType<typeof predictResult>['transductive']>>) => ({ predict: { transductive: { ...predictResult().transductive!, ...over } } });
  it.each<MeasureCase>([
    {
      name: 'the same labels however predicted',
      change: {},
      values: { chunkDiffRate: 0, rowDiffRate: 0, chunkSize: 3, sampleRows: 2, failedSingleRows: 0 },
      evidence: '0 of 10 labels differ when predicted in shuffled chunks of 3',
    },
    { name: 'a row differs alone', change: tr({ rowByRow: [1, 0] }), values: { rowDiffRate: 0.5 }, evidence: '1 of 2 sampled rows differ when predicted alone' },
    { name: 'a single-row call failed', change: tr({ rowByRow: [1, null] }), values: { rowDiffRate: 0, failedSingleRows: 1 }, evidence: '1 single-row calls failed' },
    { name: 'chunks differ', change: tr({ shuffledChunks: [0, 0, 0, 1, 0, 1, 0, 0, 0, 0] }), values: { chunkDiffRate: 0.1 }, evidence: '1 of 10 labels differ' },
    {
      name: 'no chunk predictions',
      change: tr({ shuffledChunks: null, problem: 'chunk 2 raised' }),
      values: { chunkDiffRate: null, rowDiffRate: 0 },
      evidence: 'not available | 0 of 2 sampled rows differ when predicted alone | chunk 2 raised',
    },
    { name: 'neither probe predicted', change: tr({ shuffledChunks: null, sampleRows: [], rowByRow: [], problem: 'the probes timed out' }), reason: 'the probes timed out' },
    { name: 'neither probe predicted, no words', change: tr({ shuffledChunks: null, sampleRows: [], rowByRow: [] }), reason: 'the batch probes produced no predictions' },
    { name: 'no probes run', change: { predict: { transductive: null } }, reason: 'no valid predictions on the holdout' },
    {
      name: 'no valid holdout predictions',
      change: { predict: { ...tr({ problem: 'predict failed' }).predict, variants: { prediction_time: predictions(null) } } },
      reason: 'predict failed',
    },
  ])('measure: $name', (c) => expectMeasured(leakageTransductive.measure, c));
});

describe('leakage.null_labels', () => {
  it.each<JudgeCase>([
    { name: 'at chance', values: { metric: 'roc_auc', nullMean: 0.5, chance: 0.5, nullSe: 0.01 }, status: 'pass', summary: 'roc_auc on shuffled labels: 0.500 vs chance 0.500' },
    { name: 'above the minimum excess', values: { metric: 'roc_auc', nullMean: 0.58, chance: 0.5, nullSe: 0.01 }, status: 'fail', summary: 'learns from labels it should not see' },
    { name: 'above half the bar', values: { metric: 'roc_auc', nullMean: 0.53, chance: 0.5, nullSe: 0.01 }, status: 'warn', summary: 'slightly above chance' },
    { name: 'noisy folds raise the bar', values: { metric: 'roc_auc', nullMean: 0.58, chance: 0.5, nullSe: 0.05 }, status: 'warn', summary: '0.580' },
    { name: 'a stricter rubric', values: { metric: 'roc_auc', nullMean: 0.53, chance: 0.5, nullSe: 0.01 }, thresholds: { minExcess: 0.02 }, status: 'fail', summary: '0.530' },
  ])('judge: $name', (c) => expectJudged('leakage.null_labels', c));

  const mainSplit = {
    phase: 'evaluate',
    splitter: 'StratifiedKFold',
    params: { n_splits: 5 },
    stratified: true,
    repeated: false,
    file: null,
    line: null,
    code: null,
    folds: [{ trainRows: 80, validationRows: 20, trainPositiveRate: 0.3, validationPositiveRate: 0.3 }],
  };
  it.each<MeasureCase>([
    { name: 'chance-level scores', change: {}, values: { metric: 'roc_auc', nullMean: 0.5, nullSe: 0, chance: 0.5, realMean: 0.8 }, evidence: 'chance level 0.5000 at 30.0% churners' },
    {
      name: 'few validation rows set a floor under the noise',
      change: { train: trace({ splits: [mainSplit] }) },
      values: { nullSe: expect.closeTo(Math.sqrt(21 / 1008) / Math.sqrt(5), 10) as never },
    },
    {
      name: 'the chance level of average precision is the churn rate',
      change: { train: { evaluateNull: { metric: 'average_precision', foldScores: [0.3, 0.31] } } },
      values: { chance: 0.3 },
    },
    {
      name: 'no evaluate()',
      change: { train: { evaluate: null, evaluateNull: null, solution: { ...trainResult().solution, functions: { ...trainResult().solution.functions, evaluate: false } } } },
      reason: 'the submission has no evaluate() function',
      missing: 'evaluate',
    },
    {
      name: 'evaluate() raised only on shuffled labels',
      change: { train: { evaluateNull: null, phases: [phase('train'), phase('evaluate'), phase('evaluate_null', 'error', { error: 'evaluate() raised ValueError' })] } },
      reason: 'evaluate() raised ValueError',
      missing: 'evaluate',
    },
    {
      name: 'the shuffled-label run was killed',
      change: { train: { evaluateNull: null, phases: [phase('train'), phase('evaluate'), phase('evaluate_null', 'killed')] } },
      reason: 'boom',
      missing: null,
    },
    { name: 'no shuffled-label run', change: { train: { evaluateNull: null, phases: [phase('train'), phase('evaluate')] } }, reason: 'evaluate() on shuffled labels returned no result' },
    {
      name: 'a metric without a chance level',
      change: { train: { evaluateNull: { metric: 'custom_score', foldScores: [0.1] } } },
      reason: 'no chance level is defined for metric "custom_score"',
    },
    { name: 'a known metric without a chance level', change: { train: { evaluateNull: { metric: 'recall', foldScores: [0.1] } } }, reason: 'no chance level is defined for metric "recall"' },
    { name: 'no churn rate', change: { train: { trainPositiveRate: null } }, reason: 'no chance level is defined for metric "roc_auc"' },
  ])('measure: $name', (c) => expectMeasured(leakageNullLabels.measure, c));

  it.each([
    { metric: 'roc_auc', n1: 6, n0: 14, se: Math.sqrt(21 / 1008) },
    { metric: 'balanced_accuracy', n1: 4, n0: 16, se: 0.5 * Math.sqrt(0.25 / 4 + 0.25 / 16) },
    { metric: 'average_precision', n1: 4, n0: 16, se: Math.sqrt((0.2 * 0.8) / 4) },
    { metric: 'f1', n1: 4, n0: 16, se: 0 },
    { metric: 'roc_auc', n1: 0, n0: 16, se: 0 },
  ])('chance-level noise of $metric with $n1 positives', ({ metric, n1, n0, se }) => expect(chanceSe(metric, n1, n0)).toBeCloseTo(se, 12));
});
