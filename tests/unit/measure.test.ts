import { describe, expect, it } from 'vitest';
import { measure, type MeasureInput } from '../../services/grading/measure.ts';
import { assessmentManifestSchema } from '../../services/assessments/assessment-schema.ts';
import type { PredictResult, TrainResult } from '../../services/grading/harness-output.ts';

const manifest = assessmentManifestSchema.parse({
  id: 'unit-test',
  title: 't',
  datasetVersion: '1.0.0',
  seed: 1,
  target: 'y',
  positiveLabel: 'yes',
  negativeLabel: 'no',
  idColumn: 'id',
  costs: { falseNegative: 10, falsePositive: 1 },
  postOutcomeColumns: ['refund'],
  recordedVariant: 'as_recorded',
  messyVariants: ['messy'],
});
const truth = [1, 0, 0, 1, 0, 0, 0, 0, 1, 0];
const labels = [1, 0, 0, 1, 0, 1, 0, 0, 0, 0] as (0 | 1)[];
const phase = (name: string, status: 'ok' | 'error' = 'ok') => ({
  name, status, durationMs: 10, cpuMs: 5, maxRssBytes: 1e6, signal: null, error: status === 'ok' ? null : 'boom', stdout: '', stderr: '', stdoutBytes: 0, stderrBytes: 0, pidsExhausted: false,
});
const set = (l: (0 | 1)[] | null, problem: string | null = null) => ({ labels: l, probabilities: null, labelsProblem: problem, probabilitiesProblem: null, durationMs: 1 });

function input(over: { train?: Partial<TrainResult>; predict?: Partial<PredictResult> } = {}): MeasureInput {
  const train: TrainResult = {
    harnessVersion: '1.0.0', mode: 'train',
    solution: { found: true, path: 'solution.py', importError: null, functions: { train: true, predict: true, predict_proba: false, evaluate: true } },
    lint: [], phases: [phase('train'), phase('train_repeat'), phase('evaluate'), phase('evaluate_null')],
    evaluate: { metric: 'accuracy', foldScores: [0.9, 0.91, 0.89, 0.9, 0.9] }, evaluateProblem: null,
    evaluateNull: { metric: 'accuracy', foldScores: [0.7, 0.7, 0.7, 0.7, 0.7] }, trainPositiveRate: 0.3,
    trace: { events: [], eventsDropped: 0, splits: [], preprocessingLeaks: [], resamplingLeaks: [] }, models: ['model.pkl', 'model_repeat.pkl'],
    ...over.train,
  };
  const predict: PredictResult = {
    harnessVersion: '1.0.0', mode: 'predict', phases: [phase('predict')],
    variants: { prediction_time: set(labels), as_recorded: set([1, 1, 0, 1, 0, 1, 0, 0, 0, 0]), messy: set(null, 'predict raised KeyError: plan') },
    repeat: set(labels),
    transductive: { variant: 'prediction_time', sampleRows: [0, 5], rowByRow: [1, 0], shuffledChunks: labels, chunkSize: 3, problem: null },
    ...over.predict,
  };
  return { manifest, truth, reference: null, train: { sandbox: null, result: train, problem: null }, predict: { sandbox: null, result: predict, problem: null }, seed: 1, limits: { memoryBytes: 1e9, trainSeconds: 60, predictSeconds: 60, pids: 64 }, topLevelEntries: ['solution.py'] };
}

describe('measure', () => {
  it('turns predictions into the holdout numbers the checks use', () => {
    const { measurements: m, holdout } = measure(input());
    expect(holdout?.confusion).toEqual({ tp: 2, fn: 1, fp: 1, tn: 6 });
    expect(holdout?.businessCost).toBe(11);
    expect(m['leakage.target']!.values.flipRate).toBeCloseTo(0.1, 10);
    expect(m['leakage.transductive']!.values).toMatchObject({ chunkDiffRate: 0, rowDiffRate: 0.5 });
    expect(m['robustness.messy_input']!.values).toMatchObject({ failedVariants: 1 });
    expect(m['robustness.messy_input']!.evidence[0]!.detail).toMatch(/KeyError/);
    expect(m['imbalance.metric']!.values).toMatchObject({ metric: 'accuracy', imbalanceAware: false });
    expect(m['leakage.null_labels']!.values.chance).toBe(0.7);
    expect(m['reproducibility.deterministic']!.values.diffRate).toBe(0);
  });

  it('says exactly what broke the contract, and skips what cannot be judged', () => {
    const broken = input({ predict: { variants: { prediction_time: set(null, 'predict returned 3 values for 10 rows') } } });
    const { measurements: m } = measure(broken);
    expect(m['contract.interface']!.values).toMatchObject({ blocking: true, problem: 'predict(): predict returned 3 values for 10 rows' });
    expect(m['imbalance.minority_recall']!.ran).toBe(false);
    expect(m['robustness.messy_input']!.ran).toBe(false);
    expect(m['cv.used']!.ran).toBe(true); // evaluate still graded as far as possible
  });

  it('skips evaluate-based checks with the reason when there is no evaluate()', () => {
    const { measurements: m } = measure(input({ train: { evaluate: null, evaluateNull: null, solution: { found: true, path: 'solution.py', importError: null, functions: { train: true, predict: true, predict_proba: false, evaluate: false } } } }));
    for (const id of ['cv.used', 'cv.stratified', 'cv.estimate_calibrated', 'imbalance.metric', 'leakage.null_labels'] as const) {
      expect(m[id]!.ran).toBe(false);
      expect(m[id]!.reason).toBe('the submission has no evaluate() function');
    }
  });
});
