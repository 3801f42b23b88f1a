import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRubric, RubricError } from '../../services/rubrics/rubric-schema.ts';
import { legacyMissingPart, reportScores, scoreMeasurements } from '../../services/grading/scoring.ts';
import { BASES, CHECKS, type CheckId, type Measurement } from '../../services/checks/check-catalog.ts';
import { ROOT } from '../support/context.ts';

const churnRubric = () => JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/churn-messy-csv/rubric.json'), 'utf8'));
const ran = (values: Measurement['values']): Measurement => ({ ran: true, values, evidence: [] });

/** Measurements on which every churn check passes. */
const passing: Record<CheckId, Measurement> = {
  'contract.interface': ran({ blocking: false, problem: null, optionalProblems: 0 }),
  'leakage.target': ran({ flipRate: 0 }),
  'leakage.preprocessing': ran({ tracedLeaks: 0, lintFindings: 0, lintWarnings: 0 }),
  'leakage.resampling': ran({ tracedLeaks: 0, lintFindings: 0, syntheticValidationRows: 0 }),
  'leakage.transductive': ran({ chunkDiffRate: 0, rowDiffRate: 0 }),
  'leakage.null_labels': ran({ metric: 'roc_auc', nullMean: 0.5, nullSe: 0.01, chance: 0.5 }),
  'cv.used': ran({ folds: 5, repeated: false, splitter: 'StratifiedKFold', foldScores: 5 }),
  'cv.stratified': ran({ maxRelativeDeviation: 0.05, splitter: 'StratifiedKFold' }),
  'cv.estimate_calibrated': ran({ metric: 'roc_auc', cvMean: 0.84, holdout: 0.85, holdoutSe: 0.01, optimism: -0.01 }),
  'imbalance.metric': ran({ metric: 'roc_auc', imbalanceAware: true }),
  'imbalance.beats_baseline': ran({ costRatioVsMajority: 0.41, costRatioVsReference: 0.78, balancedAccuracy: 0.76 }),
  'imbalance.minority_recall': ran({ recall: 0.79, positives: 100, truePositives: 79 }),
  'robustness.messy_input': ran({ variants: 5, failedVariants: 0 }),
  'reproducibility.deterministic': ran({ diffRate: 0 }),
  'reproducibility.notebook_runs': ran({ notebooks: 1, clean: 1, failing: 0, notRun: 0, firstFailure: null, seconds: 3 }),
  'sandbox.resources': ran({ killed: false, cause: null, peakMemoryMb: 300, totalSeconds: 40 }),
  'serving.latency': ran({ p50Ms: 8, p99Ms: 15, calls: 200, cpus: 2, coldStartMs: 900, mismatchRate: 0 }),
  'serving.footprint': ran({ modelMb: 0.2, trainMb: 1.1, servingPeakMb: 180, idsFoundShare: 0, numericRunsFoundShare: 0 }),
  'business.threshold': ran({ ownCost: 1807, bestCost: 1750, bestThreshold: 0.1, effectiveThreshold: 0.09, regret: 0.02 }),
  calibration: ran({ ece: 0.03, brier: 0.07, referenceEce: 0.04 }),
  'quality.business_cost': ran({ cost: 1807, nobodyCost: 4410, referenceCost: 2322, savingsVsReference: 1.6 }),
};

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
    'cv.used': { ran: false, reason: 'no folds were seen', missing: null, values: {}, evidence: [] },
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
    expect(c.summary).toBe('required by the rubric but could not run: no folds were seen');
  });

  it('combines manual items with the automatic score as the rubric says', () => {
    const rubric = parseRubric(churnRubric());
    const auto = scoreMeasurements(measurements, rubric);
    const both = scoreMeasurements(measurements, rubric, [
      { itemId: 'eda', points: 5 },
      { itemId: 'clarity', points: 0 },
    ]);
    expect(both.manualScore).toBeCloseTo(50, 8);
    expect(both.score).toBeCloseTo(0.8 * auto.automaticScore + 0.2 * 50, 8);
  });
});

describe('a graded part the candidate did not provide', () => {
  const notProvided: Measurement = { ran: false, reason: 'the submission has no evaluate() function', missing: 'evaluate', values: {}, evidence: [] };
  const withEvaluateMissing = { 'contract.interface': ran({ blocking: false, problem: null, optionalProblems: 0 }), 'cv.used': notProvided };

  it('fails the check as "not provided" under the default rule', () => {
    const c = scoreMeasurements(withEvaluateMissing, parseRubric(churnRubric())).checks.find((x) => x.id === 'cv.used')!;
    expect(c).toMatchObject({ status: 'fail', score: 0, summary: 'not provided: the submission has no evaluate() function' });
  });

  it('is skipped only where the rubric says so for that check, whatever whenNotRun says', () => {
    const r = churnRubric();
    r.checks['cv.used'].whenMissing = 'skipped';
    r.checks['cv.used'].whenNotRun = 'fail';
    const c = scoreMeasurements(withEvaluateMissing, parseRubric(r)).checks.find((x) => x.id === 'cv.used')!;
    expect(c).toMatchObject({ status: 'skipped', score: null });
  });

  it('keeps a rubric without whenMissing byte-identical after parsing (content hashes do not move)', () => {
    expect(Object.keys(parseRubric(churnRubric()).checks['cv.used']!)).not.toContain('whenMissing');
  });

  it('the default churn rubric does not pass a submission without evaluate(), even with full manual points', () => {
    const rubric = parseRubric(churnRubric());
    const m: Partial<Record<CheckId, Measurement>> = {};
    for (const def of CHECKS) m[def.id] = def.fedBy === 'evaluate' ? { ...notProvided } : passing[def.id];
    const full = rubric.manual.items.map((i) => ({ itemId: i.id, points: i.maxPoints }));
    for (const manual of [[], full]) {
      const s = scoreMeasurements(m, rubric, manual);
      expect(
        s.checks
          .filter((c) => c.status !== 'pass')
          .map((c) => c.id)
          .sort(),
      ).toEqual(['cv.estimate_calibrated', 'cv.stratified', 'cv.used', 'imbalance.metric', 'leakage.null_labels']);
      // 38 of 48 weight: above the pass mark of 70 on points alone; the critical check decides.
      expect(s.automaticScore).toBeCloseTo((100 * 38) / 48, 8);
      expect(s.passed).toBe(false);
      expect(s.verdict).toMatch(/critical check\(s\) failed — own estimate matches hidden data/);
    }
    expect(scoreMeasurements(m, rubric, full).score).toBeCloseTo(0.8 * ((100 * 38) / 48) + 20, 8);
  });
});

describe('reports stored before measurements recorded a missing part', () => {
  // Reason texts as measure.ts and the harness wrote them (no `missing` field).
  const old = (reason: string): Measurement => ({ ran: false, reason, values: {}, evidence: [] });
  const imported = ran({ blocking: true, problem: 'solution.py defines no function predict(model, csv)', optionalProblems: 0 });
  imported.evidence = [{ label: 'Functions found', detail: 'train: yes, predict: no, predict_proba: no, evaluate: no' }];
  const notImported = ran({ blocking: true, problem: 'importing solution.py failed: SyntaxError', optionalProblems: 0 });
  notImported.evidence = [{ label: 'Problem', detail: 'importing solution.py failed: SyntaxError' }];

  it.each([
    ['cv.used', 'the submission has no evaluate() function', imported, 'evaluate'],
    ['cv.used', 'the submission has no evaluate() function', notImported, null],
    ['imbalance.metric', "evaluate's dict has no 'metric' (keys: ['roc_auc', 'std'])", imported, 'evaluate'],
    ['cv.estimate_calibrated', 'evaluate returned a malformed result', imported, 'evaluate'],
    ['cv.estimate_calibrated', "evaluate returned list, expected a dict {'metric': ..., 'fold_scores': [...]}", imported, 'evaluate'],
    ['cv.stratified', "evaluate() raised: ValueError: could not convert string to float: '$61.16'", imported, 'evaluate'],
    ['cv.used', 'evaluate did not finish within 600 s and was stopped (SIGKILL)', imported, 'evaluate'],
    ['cv.used', 'evaluate exited (code 3) before reporting a result (os._exit / sys.exit in a thread?)', imported, 'evaluate'],
    ['leakage.null_labels', "evaluate on the permuted-target copy: evaluate's 'fold_scores' is empty", imported, 'evaluate'],
    ['leakage.null_labels', 'evaluate_null did not finish within 600 s and was stopped (SIGKILL)', imported, 'evaluate'],
    // Not the candidate's omission: platform, memory shared between phases, process limit, earlier steps.
    ['cv.used', 'evaluate() did not return a result', imported, null],
    ['cv.used', 'evaluate was killed by SIGKILL: most likely it ran out of memory (peak RSS 1990 MiB)', imported, null],
    ['cv.used', 'evaluate() raised: BlockingIOError: [Errno 11] Resource temporarily unavailable', imported, null],
    ['cv.used', 'grading harness error in the child process:\nTraceback ...', imported, null],
    ['cv.used', 'evaluate failed', imported, null],
    ['cv.used', 'the training container was killed at the memory limit', imported, null],
    ['cv.stratified', 'no folds with class information were seen while evaluate() ran', imported, null],
    ['cv.estimate_calibrated', 'metric "my_metric" is not one we can recompute on the holdout', imported, null],
    ['leakage.null_labels', 'skipped: could not write the permuted copy: [Errno 28] No space left on device', imported, null],
    // Checks evaluate() does not feed never have a missing part.
    ['imbalance.minority_recall', 'evaluate() raised: ValueError', imported, null],
  ] as const)('%s: "%s"', (id, reason, contract, want) => {
    expect(legacyMissingPart(id, old(reason), { 'contract.interface': contract })).toBe(want);
  });

  it('a rescore of an old-style stored measurement set fails the checks evaluate() feeds', () => {
    const stored: Partial<Record<CheckId, Measurement>> = {
      ...passing,
      'contract.interface': { ...passing['contract.interface'], evidence: [{ label: 'Functions found', detail: 'train: yes, predict: yes, predict_proba: yes, evaluate: no' }] },
    };
    for (const def of CHECKS) if (def.fedBy === 'evaluate') stored[def.id] = old('the submission has no evaluate() function');
    const patch = reportScores(stored, parseRubric(churnRubric()), [], { hadPredictions: true });
    for (const c of patch.checks.filter((x) => CHECKS.find((d) => d.id === x.id)!.fedBy === 'evaluate'))
      expect(c, c.id).toMatchObject({ status: 'fail', summary: 'not provided: the submission has no evaluate() function' });
    expect(patch.passed).toBe(false);
    expect(patch.fields.status).toBe('graded');
  });

  it('an explicit missing: null is taken as decided, not inferred again', () => {
    const m = { ...passing, 'cv.used': { ...old('evaluate() raised: BlockingIOError (process limit)'), missing: null } };
    expect(scoreMeasurements(m, parseRubric(churnRubric())).checks.find((c) => c.id === 'cv.used')!.status).toBe('skipped');
  });
});

describe('verdict basis', () => {
  it('every check in the catalogue declares one, and every scored check carries it', () => {
    for (const def of CHECKS) expect(BASES, def.id).toContain(def.basis);
    const s = scoreMeasurements(passing, parseRubric(churnRubric()));
    // The churn rubric scores every check but the optional notebook run (opt-in per rubric).
    expect(s.checks).toHaveLength(CHECKS.filter((d) => d.id !== 'reproducibility.notebook_runs').length);
    for (const c of s.checks) expect(c.basis, c.id).toBe(CHECKS.find((d) => d.id === c.id)!.basis);
  });

  it('host-measured checks are the ones on hidden predictions or the engine; evaluate() feeds only sandbox or mixed ones', () => {
    const by = (b: string) =>
      CHECKS.filter((d) => d.basis === b)
        .map((d) => d.id)
        .sort();
    expect(by('host')).toEqual([
      'business.threshold',
      'calibration',
      'imbalance.beats_baseline',
      'imbalance.minority_recall',
      'leakage.target',
      'leakage.transductive',
      'quality.business_cost',
      'reproducibility.deterministic',
      'robustness.messy_input',
      'sandbox.resources',
      'serving.footprint',
      'serving.latency',
    ]);
    expect(by('mixed')).toEqual(['contract.interface', 'cv.estimate_calibrated']);
    expect(
      CHECKS.filter((d) => d.fedBy === 'evaluate')
        .map((d) => d.id)
        .sort(),
    ).toEqual(['cv.estimate_calibrated', 'cv.stratified', 'cv.used', 'imbalance.metric', 'leakage.null_labels']);
    expect(
      CHECKS.filter((d) => d.fedBy === 'predict_proba')
        .map((d) => d.id)
        .sort(),
    ).toEqual(['business.threshold', 'calibration']);
  });
});
