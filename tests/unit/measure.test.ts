import { describe, expect, it } from 'vitest';
import { measure, type MeasureInput } from '../../services/grading/measure.ts';
import { assessmentManifestSchema } from '../../services/assessments/assessment-schema.ts';
import type { PhaseRecord, PredictResult, TrainResult } from '../../services/grading/harness-output.ts';

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
  name,
  status,
  durationMs: 10,
  cpuMs: 5,
  maxRssBytes: 1e6,
  signal: null,
  error: status === 'ok' ? null : 'boom',
  stdout: '',
  stderr: '',
  stdoutBytes: 0,
  stderrBytes: 0,
  pidsExhausted: false,
});
const set = (l: (0 | 1)[] | null, problem: string | null = null) => ({ labels: l, probabilities: null, labelsProblem: problem, probabilitiesProblem: null, durationMs: 1 });

function input(over: { train?: Partial<TrainResult>; predict?: Partial<PredictResult> } = {}): MeasureInput {
  const train: TrainResult = {
    harnessVersion: '1.0.0',
    mode: 'train',
    solution: { found: true, path: 'solution.py', importError: null, functions: { train: true, predict: true, predict_proba: false, evaluate: true } },
    lint: [],
    phases: [phase('train'), phase('train_repeat'), phase('evaluate'), phase('evaluate_null')],
    evaluate: { metric: 'accuracy', foldScores: [0.9, 0.91, 0.89, 0.9, 0.9] },
    evaluateProblem: null,
    evaluateNull: { metric: 'accuracy', foldScores: [0.7, 0.7, 0.7, 0.7, 0.7] },
    trainPositiveRate: 0.3,
    trace: { events: [], eventsDropped: 0, splits: [], preprocessingLeaks: [], resamplingLeaks: [] },
    models: ['model.pkl', 'model_repeat.pkl'],
    ...over.train,
  };
  const predict: PredictResult = {
    harnessVersion: '1.0.0',
    mode: 'predict',
    phases: [phase('predict')],
    variants: { prediction_time: set(labels), as_recorded: set([1, 1, 0, 1, 0, 1, 0, 0, 0, 0]), messy: set(null, 'predict raised KeyError: plan') },
    repeat: set(labels),
    transductive: { variant: 'prediction_time', sampleRows: [0, 5], rowByRow: [1, 0], shuffledChunks: labels, chunkSize: 3, problem: null },
    ...over.predict,
  };
  return {
    manifest,
    truth,
    reference: null,
    train: { sandbox: null, result: train, problem: null },
    predict: { sandbox: null, result: predict, problem: null },
    seed: 1,
    limits: { memoryBytes: 1e9, trainSeconds: 60, predictSeconds: 60, pids: 64 },
    topLevelEntries: ['solution.py'],
  };
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

  it('records evaluate() as not provided when the module imported without it', () => {
    const { measurements: m } = measure(
      input({
        train: {
          evaluate: null,
          evaluateNull: null,
          solution: { found: true, path: 'solution.py', importError: null, functions: { train: true, predict: true, predict_proba: false, evaluate: false } },
        },
      }),
    );
    for (const id of EVALUATE_FED) expect(m[id], id).toMatchObject({ ran: false, reason: 'the submission has no evaluate() function', missing: 'evaluate' });
  });

  it('records evaluate() as not provided when it failed by itself: raised, timed out, malformed result', () => {
    const cases: [PhaseRecord['status'], string | null, string][] = [
      ['error', 'evaluate() raised: KeyError: churned', 'evaluate() raised: KeyError: churned'],
      ['timeout', 'evaluate did not finish within 600 s and was stopped (SIGKILL)', 'evaluate did not finish within 600 s and was stopped (SIGKILL)'],
      ['ok', null, "evaluate's dict has no 'metric' (keys: ['roc_auc', 'std'])"],
    ];
    for (const [status, error, problem] of cases) {
      const { measurements: m } = measure(withEvaluate({ status, error }, problem));
      for (const id of EVALUATE_FED) expect(m[id], `${status} ${id}`).toMatchObject({ ran: false, reason: problem, missing: 'evaluate' });
    }
  });

  it('does not accuse the candidate when the platform or an earlier step kept evaluate() from running', () => {
    const cases: [string, MeasureInput][] = [
      [
        'import failed',
        input({
          train: {
            evaluate: null,
            evaluateNull: null,
            solution: { found: true, path: 'solution.py', importError: 'SyntaxError', functions: { train: false, predict: false, predict_proba: false, evaluate: false } },
          },
        }),
      ],
      [
        'no solution.py',
        input({
          train: {
            evaluate: null,
            evaluateNull: null,
            solution: { found: false, path: null, importError: null, functions: { train: false, predict: false, predict_proba: false, evaluate: false } },
          },
        }),
      ],
      ['train container produced nothing', { ...input(), train: { sandbox: null, result: null, problem: 'the training container was killed at the memory limit' } }],
      ['memory kill', withEvaluate({ status: 'killed', error: 'evaluate was killed by SIGKILL: most likely it ran out of memory (peak RSS 1990 MiB)' })],
      ['process limit', withEvaluate({ status: 'error', error: 'evaluate() raised: BlockingIOError: [Errno 11] Resource temporarily unavailable', pidsExhausted: true })],
      ['harness error', withEvaluate({ status: 'error', error: 'grading harness error in the child process:\nboom' })],
      ['could not start', withEvaluate({ status: 'error', error: 'could not start the evaluate process: OSError: no pipes' })],
    ];
    for (const [what, inp] of cases) {
      const { measurements: m } = measure(inp);
      for (const id of EVALUATE_FED) expect(m[id], `${what}: ${id}`).toMatchObject({ ran: false, missing: null });
    }
  });

  it('a crash on the permuted-label copy alone fails leakage.null_labels as not provided', () => {
    const crashed = input({
      train: { evaluateNull: null, phases: [phase('train'), phase('train_repeat'), phase('evaluate'), { ...phase('evaluate_null', 'error'), error: 'evaluate() raised: RuntimeError: no' }] },
    });
    const { measurements: m } = measure(crashed);
    expect(m['leakage.null_labels']).toMatchObject({ ran: false, reason: 'evaluate() raised: RuntimeError: no', missing: 'evaluate' });
    expect(m['cv.used']!.ran).toBe(true);
    // The platform could not write the permuted copy: nothing the candidate did.
    const platform = input({
      train: {
        evaluateNull: null,
        phases: [phase('train'), phase('train_repeat'), phase('evaluate'), { ...phase('evaluate_null'), status: 'skipped', error: 'skipped: could not write the permuted copy: disk full' }],
      },
    });
    expect(measure(platform).measurements['leakage.null_labels']).toMatchObject({ ran: false, missing: null });
  });

  it('an evaluate() that worked never makes other not-run reasons an omission', () => {
    const { measurements: m } = measure(input({ train: { evaluate: { metric: 'my_metric', foldScores: [0.9, 0.9] }, evaluateNull: { metric: 'my_metric', foldScores: [0.5, 0.5] } } }));
    expect(m['cv.stratified']).toMatchObject({ ran: false, reason: 'no folds with class information were seen while evaluate() ran', missing: null });
    expect(m['cv.estimate_calibrated']).toMatchObject({ ran: false, missing: null });
    expect(m['leakage.null_labels']).toMatchObject({ ran: false, missing: null });
  });
});

const EVALUATE_FED = ['cv.used', 'cv.stratified', 'cv.estimate_calibrated', 'imbalance.metric', 'leakage.null_labels'] as const;

/** A submission with evaluate() whose phase ended as given (no usable result). */
function withEvaluate(p: Partial<PhaseRecord>, problem: string | null = p.error ?? null): MeasureInput {
  const skippedNull = { ...phase('evaluate_null'), status: 'skipped' as const, error: 'skipped: evaluate did not return a usable result' };
  return input({ train: { evaluate: null, evaluateNull: null, evaluateProblem: problem, phases: [phase('train'), phase('train_repeat'), { ...phase('evaluate'), ...p }, skippedNull] } });
}
