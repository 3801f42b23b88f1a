import type { Evidence, Measurement, MissingPart } from './check-schema.ts';
import type { PhaseRecord, PredictResult, SplitRecord, TrainResult } from './harness-output.ts';
import { confusion, type Confusion } from './metrics.ts';
import { findScorer, type Scorer } from './scorers.ts';
import type { SandboxResult } from '../sandbox/sandbox.ts';
import type { FootprintScan } from './footprint-scan.ts';
import type { NotebooksResult } from './notebook-runs-output.ts';

/**
 * What every check's measure() receives: the sandbox steps' results, the hidden labels, and the
 * facts several checks share (valid holdout predictions, the candidate's evaluate() phase, whether a
 * limit stopped the run), worked out once per grading by buildMeasureContext().
 */

export interface StepOutcome<T> {
  sandbox: SandboxResult | null;
  result: T | null;
  /** Why `result` is missing or unusable, in words for the report. */
  problem: string | null;
}

/** What the checks read of an assessment's manifest (assessment-schema.ts's AssessmentManifest is one). */
export interface MeasuredAssessment {
  primaryVariant: string;
  recordedVariant: string | null;
  postOutcomeColumns: string[];
  messyVariants: string[];
  costs: { falseNegative: number; falsePositive: number };
}

export interface MeasureInput {
  manifest: MeasuredAssessment;
  truth: number[];
  reference: { labels: number[]; probabilities: number[] | null } | null;
  train: StepOutcome<TrainResult>;
  predict: StepOutcome<PredictResult> | null;
  seed: number;
  limits: { memoryBytes: number; trainSeconds: number; predictSeconds: number; pids: number; cpus?: number };
  /** model.pkl as the host received it, and what footprint-scan.ts found in it; null without a model. */
  model?: { bytes: number; trainBytes: number; scan: FootprintScan } | null;
  topLevelEntries: string[];
  /** The exploratory notebooks' run (reproducibility.notebook_runs); absent when the rubric did not ask for it. */
  notebooks?: StepOutcome<NotebooksResult>;
}

type EvaluateResult = NonNullable<TrainResult['evaluate']>;

/** The candidate's own evaluate() phase, as the cross-validation, metric and null-label checks see it. */
export interface EvaluationContext {
  result: EvaluateResult | null;
  /** Why there is no result, in words for the report; null when there is one. */
  problem: string | null;
  /** Set when the candidate did not provide evaluate() (none, or one that failed by itself). */
  omitted: MissingPart | null;
  /** The scikit-learn scorer of the reported metric, when we know it. */
  scorer: Scorer | null;
  /** The splitter seen while evaluate() ran with the most folds: the candidate's cross-validation. */
  main: SplitRecord | null;
  /** Churn rate of the training data. */
  prevalence: number | null;
}

export interface MeasureContext {
  input: MeasureInput;
  train: TrainResult | null;
  pred: PredictResult | null;
  /** Predictions on the primary holdout variant. */
  primary: PredictResult['variants'][string] | null;
  /** Labels and probabilities on the primary variant, only when there is one per holdout row. */
  labels: number[] | null;
  probs: number[] | null;
  /** Confusion matrices on the holdout of the candidate's labels and of the reference model's. */
  confusion: Confusion | null;
  referenceConfusion: Confusion | null;
  /** What calling nobody costs on the holdout (every churner missed): the floor the cost checks and the quality score measure savings from; null with `confusion`. */
  nobodyCost: number | null;
  phases: PhaseRecord[];
  phase(name: string): PhaseRecord | undefined;
  /** The sandbox steps that ran: training, then prediction. */
  steps: SandboxResult[];
  /** Why a limit (time, memory, processes) stopped the run, or null when none did. */
  stopCause: string | null;
  evaluation: EvaluationContext;
}

export const notRun = (reason: string, missing: MissingPart | null = null): Measurement => ({ ran: false, reason, missing, values: {}, evidence: [] });
export const ev = (label: string, detail: string, extra: Partial<Evidence> = {}): Evidence => ({ label, detail: detail.slice(0, 4000), ...extra });
export const diffRate = (a: readonly (number | null)[], b: readonly (number | null)[]) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return a.length ? d / a.length : 0;
};
/** Where a piece of evidence is in the candidate's code, when known. */
export function loc(s: { file: string | null; line: number | null; code: string | null }): Partial<Evidence> {
  return { ...(s.file ? { file: s.file } : {}), ...(s.line !== null ? { line: s.line } : {}), ...(s.code ? { code: s.code } : {}) };
}
export function foldCount(s: { params: Record<string, unknown>; folds: unknown[]; repeated: boolean }): number {
  const n = s.params.n_splits;
  return typeof n === 'number' ? n : s.folds.length;
}
/** The measurement of a check fed by evaluate() when there is no evaluate() result. */
export const evaluateNotRun = (e: EvaluationContext) => notRun(e.problem!, e.omitted);
export const mb = (b: number) => Math.round(b / 1048576);
/** The measurement of a check judged on holdout predictions when there are none to judge. */
export const noHoldoutPredictions = ({ input, primary }: MeasureContext) =>
  notRun(input.predict?.problem ?? primary?.labelsProblem ?? input.train.problem ?? 'no valid predictions on the holdout');

/** The harness's words (procs.py, contract.check_evaluate, train_mode.py) for evaluate() failing by itself. */
const EVALUATE_FAULTS = [
  /^evaluate\(\) raised/,
  /^evaluate(_null)? did not finish within/,
  /^evaluate(_null)? exited \(code/,
  /^evaluate(_null)? produced an oversized result/,
  /^evaluate returned/,
  /^evaluate's /,
  /^module has no function `evaluate`/,
  /^evaluate on the permuted-target copy:/,
];
/** The harness's words for a child that ran out of processes/threads (see procs.PIDS_MARKERS). */
const PIDS_WORDS = /resource temporarily unavailable|can't start new thread|pthread_create failed|fork: retry|blockingioerror|cannot allocate memory for thread/i;

/**
 * Whether a harness problem text says the candidate's own evaluate() failed by itself: it raised,
 * timed out, exited early, or returned something malformed or oversized (also on the
 * permuted-label copy). Anything else (the platform, a failed import in the child, a process the
 * shared memory or process limit stopped, which sandbox.resources fails on its own) is not the
 * candidate's omission. Scoring reads the same texts in reports stored before measurements
 * recorded `missing` (scoring.legacyMissingPart).
 */
export function evaluateFaultIn(problem: string): boolean {
  return EVALUATE_FAULTS.some((re) => re.test(problem)) && !PIDS_WORDS.test(problem);
}

/** Whether a finished evaluate phase (real or on permuted labels) failed by the candidate's doing. */
export function evaluateFailed(p: PhaseRecord | undefined, problem: string | null): boolean {
  if (!p || p.pidsExhausted) return false;
  switch (p.status) {
    case 'ok': // it returned, but nothing usable
    case 'timeout':
      return true;
    case 'error':
      return evaluateFaultIn(p.error ?? problem ?? '');
    case 'killed': // the container's memory is shared by phases running side by side
    case 'skipped':
      return false;
  }
}

/** The first limit that stopped a sandbox step or a phase, in words; null when none did. */
function stopCause(steps: SandboxResult[], phases: PhaseRecord[], limits: MeasureInput['limits']): string | null {
  const limitMb = mb(limits.memoryBytes);
  let cause: string | null = null;
  for (const [i, s] of steps.entries()) {
    const step = i === 0 ? 'training container' : 'prediction container';
    if (s.pidsLimitHit) cause ??= `the ${step} hit the limit of ${limits.pids} processes/threads (fork bomb?)`;
    if (s.outcome === 'oom_killed') cause ??= `the ${step} was killed at the memory limit of ${limitMb} MB (no swap)`;
    if (s.outcome === 'timeout') cause ??= `the ${step} exceeded its wall-clock limit and was killed`;
    if (s.outcome === 'pids_exhausted') cause ??= `the ${step} hit the limit of ${limits.pids} processes/threads (fork bomb?) and was stopped`;
  }
  for (const p of phases) {
    if (p.status === 'timeout') cause ??= `${p.name}() exceeded its time limit and was killed`;
    if (p.pidsExhausted) cause ??= `${p.name}() hit the limit of ${limits.pids} processes/threads`;
    if (p.status === 'killed') {
      const oom = steps.some((s) => s.oomKilled);
      cause ??= oom ? `${p.name}() was killed at the memory limit of ${limitMb} MB (no swap)` : `${p.name}() was killed (signal ${p.signal ?? '?'})`;
    }
  }
  return cause;
}

// Not providing evaluate() (none in a module that imported, or one that failed by itself) is
// scored; a platform failure or an import/training container that never got that far is not.
function evaluation(input: MeasureInput, phase: MeasureContext['phase']): EvaluationContext {
  const train = input.train.result;
  const result = train?.evaluate ?? null;
  const imported = !!train && train.solution.found && !train.solution.importError && Object.values(train.solution.functions).some(Boolean);
  const missing = !train
    ? (input.train.problem ?? 'training did not produce results')
    : !imported
      ? 'evaluate() was not looked for: solution.py was not found or could not be imported'
      : !train.solution.functions.evaluate
        ? 'the submission has no evaluate() function'
        : null;
  const problem = missing ?? (result ? null : (train?.evaluateProblem ?? phase('evaluate')?.error ?? 'evaluate() did not return a result'));
  const omitted: MissingPart | null = imported && !result && (!train!.solution.functions.evaluate || evaluateFailed(phase('evaluate'), train!.evaluateProblem)) ? 'evaluate' : null;
  const splits = (train?.trace.splits ?? []).filter((s) => s.phase === 'evaluate');
  const main = [...splits].sort((a, b) => foldCount(b) - foldCount(a))[0] ?? null;
  return { result, problem, omitted, scorer: result ? findScorer(result.metric) : null, main, prevalence: train?.trainPositiveRate ?? null };
}

export function buildMeasureContext(input: MeasureInput): MeasureContext {
  const { manifest, truth } = input;
  const train = input.train.result;
  const pred = input.predict?.result ?? null;
  const primary = pred?.variants[manifest.primaryVariant] ?? null;
  const labels = primary?.labels && primary.labels.length === truth.length ? primary.labels : null;
  const probs = primary?.probabilities && primary.probabilities.length === truth.length ? primary.probabilities : null;
  const phases: PhaseRecord[] = [...(train?.phases ?? []), ...(pred?.phases ?? [])];
  const phase = (name: string) => phases.find((p) => p.name === name);
  const steps = [input.train.sandbox, input.predict?.sandbox].filter((s): s is SandboxResult => s !== null && s !== undefined);
  const reference = input.reference && input.reference.labels.length === truth.length ? input.reference.labels : null;
  const own = labels ? confusion(truth, labels) : null;
  return {
    input,
    train,
    pred,
    primary,
    labels,
    probs,
    confusion: own,
    referenceConfusion: labels && reference ? confusion(truth, reference) : null,
    nobodyCost: own ? (own.tp + own.fn) * manifest.costs.falseNegative : null,
    phases,
    phase,
    steps,
    stopCause: stopCause(steps, phases, input.limits),
    evaluation: evaluation(input, phase),
  };
}
