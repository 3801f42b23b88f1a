import type { AssessmentManifest } from '../assessments/assessment-schema.ts';
import type { CheckId, Evidence, Measurement, MissingPart } from '../checks/check-catalog.ts';
import type { PhaseRecord, PredictResult, TrainResult } from './harness-output.ts';
import {
  balancedAccuracy,
  confusion,
  cost,
  downsampleCurve,
  f1,
  mean,
  prCurvePoints,
  precision,
  recall,
  rocAuc,
  averagePrecision,
  seededRandom,
  std,
} from './metrics.ts';
import { findScorer } from './scorers.ts';
import type { SandboxResult } from '../sandbox/sandbox.ts';
import type { HoldoutMetrics } from '../reports/report-schema.ts';

export interface StepOutcome<T> {
  sandbox: SandboxResult | null;
  result: T | null;
  /** Why `result` is missing or unusable, in words for the report. */
  problem: string | null;
}

export interface MeasureInput {
  manifest: AssessmentManifest;
  truth: number[];
  reference: { labels: number[]; probabilities: number[] | null } | null;
  train: StepOutcome<TrainResult>;
  predict: StepOutcome<PredictResult> | null;
  seed: number;
  limits: { memoryBytes: number; trainSeconds: number; predictSeconds: number; pids: number };
  topLevelEntries: string[];
}

export interface MeasureOutput {
  measurements: Record<CheckId, Measurement>;
  holdout: HoldoutMetrics | null;
  evaluate: { metric: string; foldScores: number[]; holdout: number | null; holdoutSe: number | null } | null;
}

const notRun = (reason: string, missing: MissingPart | null = null): Measurement => ({ ran: false, reason, missing, values: {}, evidence: [] });

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
function evaluateFailed(p: PhaseRecord | undefined, problem: string | null): boolean {
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

const ev = (label: string, detail: string, extra: Partial<Evidence> = {}): Evidence => ({ label, detail: detail.slice(0, 4000), ...extra });
const diffRate = (a: readonly (number | null)[], b: readonly (number | null)[]) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return a.length ? d / a.length : 0;
};

/**
 * Everything the checks need, measured once from what the sandbox produced and the hidden labels.
 * Scoring under a rubric happens later (scoring.ts) and can be repeated without this step.
 */
export function measure(input: MeasureInput): MeasureOutput {
  const { manifest, truth } = input;
  const train = input.train.result;
  const pred = input.predict?.result ?? null;
  const primary = pred?.variants[manifest.primaryVariant] ?? null;
  const labels = primary?.labels && primary.labels.length === truth.length ? primary.labels : null;
  const probs = primary?.probabilities && primary.probabilities.length === truth.length ? primary.probabilities : null;
  const phases: PhaseRecord[] = [...(train?.phases ?? []), ...(pred?.phases ?? [])];
  const phase = (name: string) => phases.find((p) => p.name === name);
  const m = {} as Record<CheckId, Measurement>;

  // --- engineering -----------------------------------------------------------------------------
  m['sandbox.resources'] = measureResources(input, phases);
  const killed = m['sandbox.resources'].values.killed === true;
  m['contract.interface'] = measureContract(input, killed, labels);

  // --- leakage -----------------------------------------------------------------------------------
  if (!manifest.recordedVariant) m['leakage.target'] = notRun('this assessment has no post-outcome columns to test');
  else {
    const rec = pred?.variants[manifest.recordedVariant];
    if (!labels || !rec?.labels || rec.labels.length !== labels.length) m['leakage.target'] = notRun('no valid predictions on both holdout variants');
    else {
      const flips = diffRate(rec.labels, labels);
      const shift =
        probs && rec.probabilities?.length === probs.length ? mean(probs.map((p, i) => Math.abs(p - rec.probabilities![i]!))) : null;
      const flipped = rec.labels.filter((l, i) => l !== labels[i]).length;
      m['leakage.target'] = {
        ran: true,
        values: { flipRate: flips, meanProbabilityShift: shift, rowsCompared: labels.length, columns: manifest.postOutcomeColumns.join(', ') },
        evidence: [
          ev(
            'Prediction flips',
            `${flipped} of ${labels.length} holdout customers get a different label when ${manifest.postOutcomeColumns.join(', ')} is as billing recorded it after the churn window vs as known at prediction time` +
              (shift !== null ? `; mean change in churn probability ${shift.toFixed(3)}` : ''),
          ),
        ],
      };
    }
  }

  // The trace of a phase is complete only if the phase finished; the lint stands on its own.
  const tracedOk = train?.phases.some((p) => (p.name === 'train' || p.name === 'evaluate') && p.status === 'ok') ?? false;
  const lintRules = (rules: string[]) => (train?.lint ?? []).filter((f) => rules.includes(f.rule));
  if (!train) {
    for (const id of ['leakage.preprocessing', 'leakage.resampling'] as const) m[id] = notRun(input.train.problem ?? 'no trace was produced');
  } else if (!tracedOk && lintRules(['fit-before-split', 'select-before-split', 'resample-before-split']).length === 0) {
    const why = train.solution.found ? 'neither train() nor evaluate() finished, so there is no complete trace' : 'none of the submission\'s code ran';
    for (const id of ['leakage.preprocessing', 'leakage.resampling'] as const) m[id] = notRun(why);
  } else {
    const lintOf = lintRules;
    const hard = lintOf(['fit-before-split', 'select-before-split']);
    const soft = lintOf(['no-pipeline-in-cv']);
    const leakEvidence = (l: TrainResult['trace']['preprocessingLeaks'][number]) =>
      ev(
        `${l.estimator}.${l.method}() in ${l.phase}`,
        `fitted on ${l.fitRows} rows, including ${l.validationRowsSeen} of the ${l.validationRowsTotal} rows later used for validation${l.splitter ? ` by ${l.splitter}` : ''}` +
          (l.syntheticOrRepeatedValidationRows ? `; ${l.syntheticOrRepeatedValidationRows} validation rows were synthetic or repeated` : ''),
        { ...(l.file ? { file: l.file } : {}), ...(l.line !== null ? { line: l.line } : {}), ...(l.code ? { code: l.code } : {}) },
      );
    const lintEvidence = (f: TrainResult['lint'][number]) => ev(`lint: ${f.rule}`, f.message, { file: f.file, line: f.line, code: f.code });
    m['leakage.preprocessing'] = {
      ran: true,
      values: { tracedLeaks: train.trace.preprocessingLeaks.length, lintFindings: hard.length, lintWarnings: soft.length },
      evidence: [...train.trace.preprocessingLeaks.map(leakEvidence), ...hard.map(lintEvidence), ...soft.map(lintEvidence)].slice(0, 100),
    };
    const resampleLint = lintOf(['resample-before-split']);
    m['leakage.resampling'] = {
      ran: true,
      values: {
        tracedLeaks: train.trace.resamplingLeaks.length,
        lintFindings: resampleLint.length,
        syntheticValidationRows: train.trace.resamplingLeaks.reduce((s, l) => s + l.syntheticOrRepeatedValidationRows, 0),
      },
      evidence: [...train.trace.resamplingLeaks.map(leakEvidence), ...resampleLint.map(lintEvidence)].slice(0, 100),
    };
  }

  const tr = pred?.transductive;
  if (!labels || !tr) m['leakage.transductive'] = notRun(tr?.problem ?? 'no valid predictions on the holdout');
  else {
    const chunkDiff = tr.shuffledChunks && tr.shuffledChunks.length === labels.length ? diffRate(tr.shuffledChunks, labels) : null;
    const rowPairs = tr.sampleRows.map((r, i) => [tr.rowByRow[i] ?? null, labels[r] ?? null] as const);
    const failedRows = rowPairs.filter(([a]) => a === null).length;
    const rowDiff = rowPairs.length ? rowPairs.filter(([a, b]) => a !== null && a !== b).length / rowPairs.length : null;
    if (chunkDiff === null && rowDiff === null) m['leakage.transductive'] = notRun(tr.problem ?? 'the batch probes produced no predictions');
    else
      m['leakage.transductive'] = {
        ran: true,
        values: { chunkDiffRate: chunkDiff, rowDiffRate: rowDiff, chunkSize: tr.chunkSize, sampleRows: rowPairs.length, failedSingleRows: failedRows },
        evidence: [
          ev('Shuffled chunks', chunkDiff === null ? 'not available' : `${Math.round(chunkDiff * labels.length)} of ${labels.length} labels differ when predicted in shuffled chunks of ${tr.chunkSize}`),
          ev('Row by row', `${rowPairs.filter(([a, b]) => a !== null && a !== b).length} of ${rowPairs.length} sampled rows differ when predicted alone${failedRows ? `; ${failedRows} single-row calls failed` : ''}`),
          ...(tr.problem ? [ev('Problem', tr.problem)] : []),
        ],
      };
  }

  // --- the candidate's own evaluation -------------------------------------------------------------
  // Not providing evaluate() (none in a module that imported, or one that failed by itself) is
  // scored; a platform failure or an import/training container that never got that far is not.
  const evalRes = train?.evaluate ?? null;
  const imported = !!train && train.solution.found && !train.solution.importError && Object.values(train.solution.functions).some(Boolean);
  const evalMissing = !train
    ? (input.train.problem ?? 'training did not produce results')
    : !imported
      ? 'evaluate() was not looked for: solution.py was not found or could not be imported'
      : !train.solution.functions.evaluate
        ? 'the submission has no evaluate() function'
        : null;
  const evalProblem = evalMissing ?? (evalRes ? null : (train?.evaluateProblem ?? phase('evaluate')?.error ?? 'evaluate() did not return a result'));
  const evalOmitted: MissingPart | null =
    imported && !evalRes && (!train!.solution.functions.evaluate || evaluateFailed(phase('evaluate'), train!.evaluateProblem)) ? 'evaluate' : null;
  const scorer = evalRes ? findScorer(evalRes.metric) : null;
  const prevalence = train?.trainPositiveRate ?? null;

  if (!evalRes) m['imbalance.metric'] = notRun(evalProblem!, evalOmitted);
  else
    m['imbalance.metric'] = {
      ran: true,
      values: { metric: evalRes.metric, imbalanceAware: scorer?.imbalanceAware ?? false, known: scorer !== null },
      evidence: [ev('Metric', `evaluate() reported "${evalRes.metric}"${scorer ? '' : ' (not a scikit-learn scorer name we know)'}`)],
    };

  const evalSplits = (train?.trace.splits ?? []).filter((s) => s.phase === 'evaluate');
  const main = [...evalSplits].sort((a, b) => foldCount(b) - foldCount(a))[0] ?? null;
  if (!evalRes) m['cv.used'] = notRun(evalProblem!, evalOmitted);
  else
    m['cv.used'] = {
      ran: true,
      values: { folds: main ? foldCount(main) : 0, repeated: main?.repeated ?? false, splitter: main?.splitter ?? null, foldScores: evalRes.foldScores.length },
      evidence: [
        ...(main
          ? [ev(`${main.splitter}`, `${JSON.stringify(main.params)}; ${main.folds.length} train/validation splits`, loc(main))]
          : [ev('No splitter', 'no scikit-learn splitter or train_test_split call was seen while evaluate() ran')]),
        ev('Fold scores', evalRes.foldScores.map((s) => s.toFixed(4)).join(', ')),
      ],
    };

  const foldRates = main?.folds.map((f) => f.validationPositiveRate).filter((r): r is number => r !== null) ?? [];
  // Folds are compared with the data the splitter was given (which may already be resampled:
  // that is leakage.resampling's business, not a stratification fault).
  const first = main?.folds[0];
  const splitRate =
    first && first.trainPositiveRate !== null && first.validationPositiveRate !== null && first.trainRows + first.validationRows > 0
      ? (first.trainPositiveRate * first.trainRows + first.validationPositiveRate * first.validationRows) / (first.trainRows + first.validationRows)
      : prevalence;
  if (!evalRes) m['cv.stratified'] = notRun(evalProblem!, evalOmitted);
  else if (!main || foldRates.length === 0 || !splitRate) m['cv.stratified'] = notRun('no folds with class information were seen while evaluate() ran');
  else {
    const dev = Math.max(...foldRates.map((r) => Math.abs(r - splitRate) / splitRate));
    m['cv.stratified'] = {
      ran: true,
      values: { maxRelativeDeviation: dev, splitter: main.splitter, stratified: main.stratified, overallRate: splitRate },
      evidence: [ev('Validation churn rate per fold', `${foldRates.map((r) => (r * 100).toFixed(1) + '%').join(', ')} (all rows given to the splitter: ${(splitRate * 100).toFixed(1)}%)`, loc(main))],
    };
  }

  let evaluateSummary: MeasureOutput['evaluate'] = evalRes ? { metric: evalRes.metric, foldScores: evalRes.foldScores, holdout: null, holdoutSe: null } : null;
  if (!evalRes) m['cv.estimate_calibrated'] = notRun(evalProblem!, evalOmitted);
  else if (!scorer) m['cv.estimate_calibrated'] = notRun(`metric "${evalRes.metric}" is not one we can recompute on the holdout`);
  else if (!labels) m['cv.estimate_calibrated'] = notRun('no valid predictions on the holdout');
  else {
    const scores = scorer.needsScores ? probs : null;
    const holdout = scorer.compute(truth, labels, scores);
    const se = bootstrapSe(truth, labels, scores, scorer.compute, input.seed);
    const cvMean = mean(evalRes.foldScores);
    if (holdout === null || !Number.isFinite(cvMean)) m['cv.estimate_calibrated'] = notRun('the metric is undefined on the holdout predictions');
    else {
      evaluateSummary = { metric: evalRes.metric, foldScores: evalRes.foldScores, holdout, holdoutSe: se };
      m['cv.estimate_calibrated'] = {
        ran: true,
        values: { metric: scorer.name, cvMean, cvStd: std(evalRes.foldScores), holdout, holdoutSe: se, optimism: cvMean - holdout, usedProbabilities: scores !== null },
        evidence: [
          ev('Own estimate', `${scorer.name} = ${cvMean.toFixed(4)} ± ${std(evalRes.foldScores).toFixed(4)} over ${evalRes.foldScores.length} folds`),
          ev('Hidden holdout', `${scorer.name} = ${holdout.toFixed(4)} (bootstrap standard error ${se.toFixed(4)}, ${truth.length} rows)` + (scorer.needsScores && !scores ? '; computed from labels because predict_proba is missing' : '')),
        ],
      };
    }
  }

  const nullRes = train?.evaluateNull ?? null;
  if (!evalRes) m['leakage.null_labels'] = notRun(evalProblem!, evalOmitted);
  else if (!nullRes) {
    // Crashing only on the permuted-label copy must not dodge the check.
    const p = phase('evaluate_null');
    m['leakage.null_labels'] = notRun(p?.error ?? 'evaluate() on shuffled labels returned no result', evaluateFailed(p, null) ? 'evaluate' : null);
  }
  else {
    const s = findScorer(nullRes.metric);
    const chance = s && prevalence !== null ? s.chance(prevalence) : null;
    if (chance === null) m['leakage.null_labels'] = notRun(`no chance level is defined for metric "${nullRes.metric}"`);
    else {
      const nullMean = mean(nullRes.foldScores);
      const k = Math.max(1, nullRes.foldScores.length);
      // With few folds the spread of the fold scores says little: never assume less noise than a
      // label-blind model has on folds of this size.
      const valRows = main?.folds[0]?.validationRows ?? null;
      const floor = valRows && prevalence ? chanceSe(s!.name, valRows * prevalence, valRows * (1 - prevalence)) : 0;
      const nullSe = Math.max(std(nullRes.foldScores), floor) / Math.sqrt(k);
      m['leakage.null_labels'] = {
        ran: true,
        values: { metric: nullRes.metric, nullMean, nullSe, chance, realMean: mean(evalRes.foldScores) },
        evidence: [ev('Shuffled labels', `fold scores ${nullRes.foldScores.map((x) => x.toFixed(4)).join(', ')}; chance level ${chance.toFixed(4)} at ${(prevalence! * 100).toFixed(1)}% churners`)],
      };
    }
  }

  // --- imbalance on the hidden holdout ------------------------------------------------------------
  let holdout: HoldoutMetrics | null = null;
  if (!labels) {
    const why = input.predict?.problem ?? primary?.labelsProblem ?? input.train.problem ?? 'no valid predictions on the holdout';
    m['imbalance.beats_baseline'] = notRun(why);
    m['imbalance.minority_recall'] = notRun(why);
  } else {
    const c = confusion(truth, labels);
    const positives = c.tp + c.fn;
    const costs = manifest.costs;
    const own = cost(c, costs);
    const majority = positives * costs.falseNegative;
    const ref = input.reference && input.reference.labels.length === truth.length ? confusion(truth, input.reference.labels) : null;
    const refCost = ref ? cost(ref, costs) : null;
    const curve = probs ? prCurvePoints(truth, probs) : null;
    holdout = {
      rows: truth.length,
      positives,
      confusion: c,
      businessCost: own,
      costPer1000: (1000 * own) / truth.length,
      balancedAccuracy: balancedAccuracy(c),
      recall: recall(c),
      precision: precision(c),
      f1: f1(c),
      rocAuc: probs ? rocAuc(truth, probs) : null,
      prAuc: probs ? averagePrecision(truth, probs) : null,
      prCurve: curve ? downsampleCurve(curve) : [],
      baselines: {
        majorityCost: majority,
        referenceCost: refCost,
        referenceBalancedAccuracy: ref ? balancedAccuracy(ref) : null,
        referenceRecall: ref ? recall(ref) : null,
      },
    };
    m['imbalance.beats_baseline'] = {
      ran: true,
      values: {
        cost: own,
        costMajority: majority,
        costReference: refCost,
        costRatioVsMajority: majority ? own / majority : null,
        costRatioVsReference: refCost ? own / refCost : null,
        balancedAccuracy: balancedAccuracy(c),
        balancedAccuracyReference: ref ? balancedAccuracy(ref) : null,
      },
      evidence: [
        ev(
          'Business cost on the holdout',
          `${own} (missed churner = ${costs.falseNegative}, unneeded call = ${costs.falsePositive}); calling nobody costs ${majority}` + (refCost !== null ? `; the reference model costs ${refCost}` : ''),
        ),
        ev('Confusion matrix', `caught ${c.tp}, missed ${c.fn}, unneeded calls ${c.fp}, correctly left alone ${c.tn}`),
      ],
    };
    m['imbalance.minority_recall'] = {
      ran: true,
      values: { recall: recall(c), positives, truePositives: c.tp, predictedPositives: c.tp + c.fp },
      evidence: [ev('Churners found', `${c.tp} of ${positives} churners flagged; ${c.tp + c.fp} customers flagged in all`)],
    };
  }

  // --- robustness and reproducibility -------------------------------------------------------------
  if (!pred) m['robustness.messy_input'] = notRun(input.predict?.problem ?? input.train.problem ?? 'no trained model to test');
  else if (!labels) m['robustness.messy_input'] = notRun('predict() does not give valid output on the ordinary holdout, so messy inputs were not judged');
  else if (manifest.messyVariants.length === 0) m['robustness.messy_input'] = notRun('this assessment defines no messy inputs');
  else {
    const failures = manifest.messyVariants
      .map((v) => [v, pred.variants[v]] as const)
      .filter(([, r]) => !r || !r.labels || r.labelsProblem)
      .map(([v, r]) => ev(v, r?.labelsProblem ?? 'no predictions returned'));
    m['robustness.messy_input'] = {
      ran: true,
      values: { variants: manifest.messyVariants.length, failedVariants: failures.length },
      evidence: failures.length ? failures : [ev('All variants', manifest.messyVariants.join(', '))],
    };
  }
  const rep = pred?.repeat;
  if (!labels) m['reproducibility.deterministic'] = notRun('no valid predictions on the holdout');
  else if (!rep?.labels || rep.labels.length !== labels.length)
    m['reproducibility.deterministic'] = notRun(rep?.labelsProblem ?? phase('train_repeat')?.error ?? 'the second training produced no usable model');
  else {
    const d = diffRate(rep.labels, labels);
    m['reproducibility.deterministic'] = {
      ran: true,
      values: { diffRate: d, rowsCompared: labels.length },
      evidence: [ev('Two trainings', `${Math.round(d * labels.length)} of ${labels.length} holdout predictions differ between two trainings on the same data`)],
    };
  }
  return { measurements: m, holdout, evaluate: evaluateSummary };
}

/** Standard error of one fold's score for a model that learned nothing (n1 positives, n0 negatives). */
function chanceSe(metric: string, n1: number, n0: number): number {
  if (n1 < 1 || n0 < 1) return 0;
  const p = n1 / (n1 + n0);
  switch (metric) {
    case 'roc_auc':
      return Math.sqrt((n1 + n0 + 1) / (12 * n1 * n0)); // Mann-Whitney under the null
    case 'balanced_accuracy':
      return 0.5 * Math.sqrt(0.25 / n1 + 0.25 / n0);
    case 'average_precision':
    case 'precision':
      return Math.sqrt((p * (1 - p)) / n1);
    default:
      return 0;
  }
}

function foldCount(s: { params: Record<string, unknown>; folds: unknown[]; repeated: boolean }): number {
  const n = s.params.n_splits;
  return typeof n === 'number' ? n : s.folds.length;
}

function loc(s: { file: string | null; line: number | null; code: string | null }): Partial<Evidence> {
  return { ...(s.file ? { file: s.file } : {}), ...(s.line !== null ? { line: s.line } : {}), ...(s.code ? { code: s.code } : {}) };
}

function bootstrapSe(
  truth: number[],
  labels: number[],
  scores: number[] | null,
  compute: (t: number[], l: number[], s: number[] | null) => number | null,
  seed: number,
  rounds = 200,
): number {
  const rand = seededRandom(seed);
  const n = truth.length;
  const values: number[] = [];
  const t = new Array<number>(n);
  const l = new Array<number>(n);
  const s = scores ? new Array<number>(n) : null;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rand() * n);
      t[i] = truth[j]!;
      l[i] = labels[j]!;
      if (s) s[i] = scores![j]!;
    }
    const v = compute(t, l, s);
    if (v !== null && Number.isFinite(v)) values.push(v);
  }
  return std(values);
}

function measureResources(input: MeasureInput, phases: PhaseRecord[]): Measurement {
  const steps = [input.train.sandbox, input.predict?.sandbox].filter((s): s is SandboxResult => s !== null && s !== undefined);
  const mb = (b: number) => Math.round(b / 1048576);
  const limitMb = mb(input.limits.memoryBytes);
  let cause: string | null = null;
  const evidence: Evidence[] = [];
  for (const [i, s] of steps.entries()) {
    const step = i === 0 ? 'training container' : 'prediction container';
    if (s.pidsLimitHit) cause ??= `the ${step} hit the limit of ${input.limits.pids} processes/threads (fork bomb?)`;
    if (s.outcome === 'oom_killed') cause ??= `the ${step} was killed at the memory limit of ${limitMb} MB (no swap)`;
    if (s.outcome === 'timeout') cause ??= `the ${step} exceeded its wall-clock limit and was killed`;
    if (s.outcome === 'pids_exhausted') cause ??= `the ${step} hit the limit of ${input.limits.pids} processes/threads (fork bomb?) and was stopped`;
    evidence.push(ev(step, `${s.outcome}; ${(s.timings.totalMs / 1000).toFixed(1)} s; peak memory ${s.peakMemoryBytes ? mb(s.peakMemoryBytes) + ' MB' : 'n/a'}`));
  }
  for (const p of phases) {
    if (p.status === 'timeout') cause ??= `${p.name}() exceeded its time limit and was killed`;
    if (p.pidsExhausted) cause ??= `${p.name}() hit the limit of ${input.limits.pids} processes/threads`;
    if (p.status === 'killed') {
      const oom = steps.some((s) => s.oomKilled);
      cause ??= oom ? `${p.name}() was killed at the memory limit of ${limitMb} MB (no swap)` : `${p.name}() was killed (signal ${p.signal ?? '?'})`;
    }
    if (p.status !== 'ok' && p.status !== 'skipped') evidence.push(ev(p.name, `${p.status}${p.error ? `: ${p.error.slice(0, 300)}` : ''}`));
  }
  const peak = Math.max(0, ...steps.map((s) => s.peakMemoryBytes ?? 0), ...phases.map((p) => p.maxRssBytes ?? 0));
  const candidateRan = phases.some((p) => p.status !== 'skipped') || cause !== null;
  return {
    ran: candidateRan,
    ...(candidateRan ? {} : { reason: 'none of the submission\'s code ran', missing: null }),
    values: { killed: cause !== null, cause, peakMemoryMb: mb(peak), limitMb, totalSeconds: steps.reduce((s, x) => s + x.timings.totalMs, 0) / 1000 },
    evidence,
  };
}

function measureContract(input: MeasureInput, killed: boolean, labels: number[] | null): Measurement {
  const train = input.train.result;
  const problems: string[] = [];
  const optional: string[] = [];
  const evidence: Evidence[] = [];
  if (!train) {
    if (killed) return notRun(`the run was stopped before the interface could be checked: ${input.train.problem ?? ''}`.trim());
    problems.push(input.train.problem ?? 'the grading harness produced no result');
  } else if (!train.solution.found) {
    const seen = input.topLevelEntries.slice(0, 10).join(', ');
    problems.push(`no solution.py at the archive root or inside a single top-level folder (the archive holds: ${seen || 'nothing'})`);
  } else if (train.solution.importError) {
    problems.push(`importing ${train.solution.path} failed: ${train.solution.importError}`);
  } else {
    const f = train.solution.functions;
    if (!f.train) problems.push(`${train.solution.path} defines no function train(train_csv)`);
    if (!f.predict) problems.push(`${train.solution.path} defines no function predict(model, csv)`);
    const tp = train.phases.find((p) => p.name === 'train');
    if (f.train && tp && tp.status !== 'ok') {
      if (tp.status === 'error') problems.push(`train() failed: ${tp.error ?? 'unknown error'}`);
      else if (killed) return notRun(`train() did not finish (${tp.status}), so predict() could not be checked`);
    }
    if (problems.length === 0 && f.predict) {
      const primary = input.predict?.result?.variants[input.manifest.primaryVariant];
      if (!input.predict?.result) problems.push(input.predict?.problem ?? 'predict() was not run');
      else if (!primary || !primary.labels) problems.push(`predict(): ${primary?.labelsProblem ?? 'no output'}`);
      else if (!labels) problems.push(`predict() returned ${primary.labels.length} labels for ${input.truth.length} rows`);
      if (primary?.probabilitiesProblem && train.solution.functions.predict_proba) optional.push(`predict_proba(): ${primary.probabilitiesProblem}`);
    }
    if (f.evaluate && train.evaluateProblem) optional.push(`evaluate(): ${train.evaluateProblem}`);
    evidence.push(ev('Functions found', Object.entries(f).map(([k, v]) => `${k}: ${v ? 'yes' : 'no'}`).join(', ')));
  }
  for (const p of problems) evidence.unshift(ev('Problem', p));
  for (const p of optional) evidence.push(ev('Optional part', p));
  return {
    ran: true,
    values: { blocking: problems.length > 0, problem: problems[0] ?? optional[0] ?? null, optionalProblems: optional.length },
    evidence,
  };
}
