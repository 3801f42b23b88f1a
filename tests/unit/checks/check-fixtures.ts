import { expect } from 'vitest';
import { judgeCheck, type CheckId, type Measurement } from '../../../services/checks/check-catalog.ts';
import type { PhaseRecord, PredictResult, TrainResult } from '../../../services/checks/harness-output.ts';
import { buildMeasureContext, type MeasureContext, type MeasureInput } from '../../../services/checks/measure-context.ts';
import type { SandboxResult } from '../../../services/sandbox/sandbox.ts';

/**
 * A small grading to measure checks on (10 holdout rows, 3 churners) and the table runners the
 * per-family check tests share. Each case changes the part of the grading it is about.
 */

export const TRUTH = [1, 0, 0, 1, 0, 0, 0, 0, 1, 0];
/** The primary predictions: caught 2, missed 1, one unneeded call. */
export const LABELS: (0 | 1)[] = [1, 0, 0, 1, 0, 1, 0, 0, 0, 0];

export const phase = (name: string, status: PhaseRecord['status'] = 'ok', extra: Partial<PhaseRecord> = {}): PhaseRecord => ({
  name,
  status,
  durationMs: 10,
  cpuMs: 5,
  maxRssBytes: 1048576,
  signal: null,
  error: status === 'ok' ? null : 'boom',
  stdout: '',
  stderr: '',
  stdoutBytes: 0,
  stderrBytes: 0,
  pidsExhausted: false,
  ...extra,
});

export const predictions = (labels: (0 | 1)[] | null, extra: Partial<PredictResult['variants'][string]> = {}) => ({
  labels,
  probabilities: null,
  labelsProblem: null,
  probabilitiesProblem: null,
  durationMs: 1,
  ...extra,
});

export const trainResult = (over: Partial<TrainResult> = {}): TrainResult => ({
  harnessVersion: '2.0.0',
  mode: 'train',
  solution: { found: true, path: 'solution.py', importError: null, functions: { train: true, predict: true, predict_proba: false, evaluate: true } },
  lint: [],
  phases: [phase('train'), phase('train_repeat'), phase('evaluate'), phase('evaluate_null')],
  evaluate: { metric: 'roc_auc', foldScores: [0.8, 0.82, 0.78, 0.8, 0.8] },
  evaluateProblem: null,
  evaluateNull: { metric: 'roc_auc', foldScores: [0.5, 0.5, 0.5, 0.5, 0.5] },
  trainPositiveRate: 0.3,
  trace: { events: [], eventsDropped: 0, splits: [], preprocessingLeaks: [], resamplingLeaks: [] },
  models: ['model.pkl', 'model_repeat.pkl'],
  ...over,
});

export const predictResult = (over: Partial<PredictResult> = {}): PredictResult => ({
  harnessVersion: '2.0.0',
  mode: 'predict',
  phases: [phase('predict')],
  variants: { prediction_time: predictions(LABELS), as_recorded: predictions(LABELS), messy: predictions(LABELS) },
  repeat: predictions(LABELS),
  transductive: { variant: 'prediction_time', sampleRows: [0, 5], rowByRow: [1, 1], shuffledChunks: LABELS, chunkSize: 3, problem: null },
  ...over,
});

export const sandboxResult = (over: Partial<SandboxResult> = {}): SandboxResult => ({
  outcome: 'completed',
  exitCode: 0,
  stdout: { text: '', totalBytes: 0, truncated: false },
  stderr: { text: '', totalBytes: 0, truncated: false },
  outputs: [],
  ignoredOutputs: [],
  oomKilled: false,
  pidsLimitHit: false,
  timings: { createMs: 0, startMs: 0, runMs: 0, collectMs: 0, removeMs: 0, totalMs: 2500 },
  peakMemoryBytes: 200 * 1048576,
  peakPids: 10,
  imageId: 'sha256:x',
  ...over,
});

export interface GradingChange {
  train?: Partial<TrainResult> | null;
  predict?: Partial<PredictResult> | null;
  input?: Partial<MeasureInput>;
}

/** The measure input of the small grading with a change: `null` for a step that produced no result. */
export function measureInput(change: GradingChange = {}): MeasureInput {
  const train = change.train === null ? null : trainResult(change.train);
  const predict = change.predict === null ? null : predictResult(change.predict);
  return {
    manifest: { primaryVariant: 'prediction_time', recordedVariant: 'as_recorded', postOutcomeColumns: ['refund'], messyVariants: ['messy'], costs: { falseNegative: 10, falsePositive: 1 } },
    truth: TRUTH,
    reference: null,
    train: { sandbox: sandboxResult(), result: train, problem: train ? null : 'the training container produced no result' },
    predict: { sandbox: sandboxResult(), result: predict, problem: predict ? null : 'prediction was not run' },
    seed: 7,
    limits: { memoryBytes: 1024 * 1048576, trainSeconds: 60, predictSeconds: 60, pids: 64 },
    topLevelEntries: ['solution.py'],
    ...change.input,
  };
}

export const context = (change: GradingChange = {}): MeasureContext => buildMeasureContext(measureInput(change));

export interface JudgeCase {
  name: string;
  values: Measurement['values'];
  thresholds?: Record<string, unknown>;
  status: string;
  summary: string;
}

/** Judges the values under the thresholds (defaults filled in, as the rubric does) and checks status and summary. */
export function expectJudged(id: CheckId, c: JudgeCase) {
  const verdict = judgeCheck(id, { ran: true, values: c.values, evidence: [] }, c.thresholds ?? {});
  expect(verdict.status).toBe(c.status);
  expect(verdict.summary).toContain(c.summary);
}

export interface MeasureCase {
  name: string;
  change: GradingChange;
  /** The measurement's values (a subset), or for a check that could not run its reason and missing part. */
  values?: Measurement['values'];
  reason?: string;
  missing?: 'evaluate' | null;
  /** A fragment of the evidence details, joined. */
  evidence?: string;
}

export function expectMeasured(measure: (ctx: MeasureContext) => Measurement, c: MeasureCase): void {
  const m = measure(context(c.change));
  if (c.reason !== undefined) {
    expect(m.ran).toBe(false);
    expect(m.missing).toBe(c.missing ?? null);
    expect(m.reason).toContain(c.reason);
  } else expect(m.ran).toBe(true);
  expect(m.values).toMatchObject(c.values ?? {});
  if (c.evidence !== undefined) expect(m.evidence.map((e) => e.detail).join(' | ')).toContain(c.evidence);
}
