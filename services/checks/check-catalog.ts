import { z } from 'zod';

/**
 * The hidden checks as data: id, category, what each measures in words a recruiter understands,
 * its thresholds (with defaults and ranges the rubric is validated against) and how a measurement
 * turns into a status. Measurements are taken once per sandbox run; statuses are recomputed
 * from them whenever a rubric changes, without running anything again.
 */

export const CHECK_STATUSES = ['pass', 'warn', 'fail', 'error', 'skipped'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export const CATEGORIES = ['leakage', 'cross-validation', 'imbalance', 'robustness', 'engineering'] as const;
export type Category = (typeof CATEGORIES)[number];

export const evidenceSchema = z.object({
  label: z.string().max(200),
  detail: z.string().max(4000),
  file: z.string().max(500).optional(),
  line: z.number().int().optional(),
  code: z.string().max(2000).optional(),
});
export type Evidence = z.infer<typeof evidenceSchema>;

/** Graded parts a candidate may leave out without breaking the contract (room for predict_proba). */
export const MISSING_PARTS = ['evaluate'] as const;
export type MissingPart = (typeof MISSING_PARTS)[number];

/**
 * What a check's verdict stands on. host: measured on the host from predictions on hidden data or
 * by the container engine, which the graded code cannot fake. sandbox: evidence produced inside the
 * sandbox (trace, lint, the candidate's own evaluate() numbers), which the graded code could forge.
 * mixed: both.
 */
export const BASES = ['host', 'sandbox', 'mixed'] as const;
export type Basis = (typeof BASES)[number];

export const BASIS_TEXT: Record<Basis, { label: string; detail: string }> = {
  host: { label: 'measured on the host', detail: 'measured on the host from predictions on hidden data or by the container engine; the graded code cannot fake it' },
  sandbox: {
    label: 'in-sandbox evidence',
    detail: "rests on evidence produced inside the sandbox (trace, lint, the candidate's own evaluate() output), which the graded code could have forged",
  },
  mixed: { label: 'host and sandbox', detail: 'compares evidence produced inside the sandbox with a measurement taken on the host' },
};

export const measurementSchema = z.object({
  /** False when the check could not run (no evaluate(), no model...); `reason` says why. */
  ran: z.boolean(),
  reason: z.string().max(2000).optional(),
  /**
   * Set when the check could not run because the candidate did not provide a graded part (none,
   * or one that raised, timed out or returned a malformed result): scored as failed unless the
   * rubric says otherwise. null: not run for another reason (platform, an earlier failure).
   * Absent: measured before this field existed; scoring infers it from `reason`.
   */
  missing: z.enum(MISSING_PARTS).nullable().optional(),
  values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  evidence: z.array(evidenceSchema).max(100),
});
export type Measurement = z.infer<typeof measurementSchema>;

type Values = Measurement['values'];
const num = (v: Values, k: string) => (typeof v[k] === 'number' ? (v[k] as number) : NaN);
const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');

interface Verdict {
  status: Exclude<CheckStatus, 'skipped'>;
  summary: string;
}

interface CheckDefinition<T extends z.ZodObject> {
  id: string;
  title: string;
  category: Category;
  basis: Basis;
  /** The optional part of the submission this check is fed by: without it, "not provided". */
  fedBy?: MissingPart;
  /** One paragraph a non-ML reader understands: what is checked and why it matters. */
  explanation: string;
  thresholds: T;
  judge(values: Values, t: z.infer<T>): Verdict;
}

const defineCheck = <const I extends string, T extends z.ZodObject>(d: CheckDefinition<T> & { id: I }) => d;
const rate = z.number().min(0).max(1);

export const CHECKS = [
  defineCheck({
    id: 'contract.interface',
    title: 'Submission contract',
    category: 'engineering',
    basis: 'mixed',
    explanation:
      'The submission can be imported and provides train() and predict() that return well-formed results. Without this nothing else can be judged.',
    thresholds: z.object({}).strict(),
    judge: (v) => {
      if (v.blocking === true) return { status: 'fail', summary: String(v.problem ?? 'the submission does not follow the contract') };
      if (typeof v.optionalProblems === 'number' && v.optionalProblems > 0)
        return { status: 'warn', summary: `required functions work; ${v.optionalProblems} optional part(s) malformed: ${v.problem}` };
      return { status: 'pass', summary: 'train() and predict() work and return well-formed results' };
    },
  }),
  defineCheck({
    id: 'leakage.target',
    title: 'No reliance on information from after the outcome',
    category: 'leakage',
    basis: 'host',
    explanation:
      'Some columns are only known after a customer has already churned. A model that uses them looks excellent on historical data and fails in real use. We compare predictions with those columns as recorded and as they are known at prediction time.',
    thresholds: z.object({ warnFlipRate: rate.default(0.01), failFlipRate: rate.default(0.03) }).strict(),
    judge: (v, t) => {
      const flip = num(v, 'flipRate');
      const what = `${pct(flip)} of predictions change when post-outcome columns are blanked to what is known at prediction time`;
      if (flip > t.failFlipRate) return { status: 'fail', summary: `${what}: the model relies on information from after the outcome` };
      if (flip > t.warnFlipRate) return { status: 'warn', summary: `${what}: some reliance on post-outcome information` };
      return { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'leakage.preprocessing',
    title: 'Preprocessing fitted on training rows only',
    category: 'leakage',
    basis: 'sandbox',
    explanation:
      'Scalers, imputers, encoders and feature selectors must learn only from the rows used for training. Fitting them on all data before splitting lets the validation rows influence the model, so the reported score is too good.',
    thresholds: z.object({ failOnLintOnly: z.boolean().default(true) }).strict(),
    judge: (v, t) => {
      const traced = num(v, 'tracedLeaks');
      const lint = num(v, 'lintFindings');
      const soft = num(v, 'lintWarnings');
      if (traced > 0) return { status: 'fail', summary: `${traced} preprocessing step(s) were fitted on rows later used for validation (seen at run time)` };
      if (lint > 0)
        return { status: t.failOnLintOnly ? 'fail' : 'warn', summary: `${lint} place(s) in the code fit preprocessing before splitting the data` };
      if (soft > 0) return { status: 'warn', summary: 'cross-validation is run on an estimator without a Pipeline around its preprocessing' };
      return { status: 'pass', summary: 'every traced preprocessing step was fitted inside the training folds' };
    },
  }),
  defineCheck({
    id: 'leakage.resampling',
    title: 'Resampling only inside training folds',
    category: 'leakage',
    basis: 'sandbox',
    explanation:
      'Over- or under-sampling to balance classes must happen after the split, on training rows only. Resampling first puts copies or synthetic versions of validation rows into training, which inflates the score.',
    thresholds: z.object({}).strict(),
    judge: (v) => {
      const traced = num(v, 'tracedLeaks');
      const lint = num(v, 'lintFindings');
      if (traced > 0) return { status: 'fail', summary: `resampled rows reached validation folds (${fmt(num(v, 'syntheticValidationRows'), 0)} synthetic or repeated rows seen)` };
      if (lint > 0) return { status: 'fail', summary: `${lint} place(s) in the code resample before splitting the data` };
      return { status: 'pass', summary: 'no resampling before a split was seen' };
    },
  }),
  defineCheck({
    id: 'leakage.transductive',
    title: 'Predictions do not depend on the rest of the batch',
    category: 'leakage',
    basis: 'host',
    explanation:
      'A customer\'s prediction must not change depending on which other customers are scored with it. We predict the hidden data whole, in shuffled chunks and row by row; any difference means the model refits or ranks at prediction time.',
    thresholds: z.object({ maxDiffRate: rate.default(0) }).strict(),
    judge: (v, t) => {
      const d = Math.max(num(v, 'chunkDiffRate') || 0, num(v, 'rowDiffRate') || 0);
      const what = `${pct(num(v, 'chunkDiffRate'))} of labels differ in shuffled chunks, ${pct(num(v, 'rowDiffRate'))} row by row`;
      return d > t.maxDiffRate ? { status: 'fail', summary: `${what}: predictions depend on the batch` } : { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'leakage.null_labels',
    title: 'Own evaluation scores at chance on shuffled labels',
    category: 'leakage',
    basis: 'sandbox',
    fedBy: 'evaluate',
    explanation:
      'We rerun the candidate\'s own evaluation after shuffling the target column. With nothing to learn, an honest evaluation scores at chance; a clearly better score means the evaluation leaks.',
    thresholds: z.object({ minExcess: z.number().min(0).max(1).default(0.05), z: z.number().min(0).max(10).default(2) }).strict(),
    judge: (v, t) => {
      const excess = num(v, 'nullMean') - num(v, 'chance');
      const bar = Math.max(t.minExcess, t.z * num(v, 'nullSe'));
      const what = `${v.metric} on shuffled labels: ${fmt(num(v, 'nullMean'))} vs chance ${fmt(num(v, 'chance'))}`;
      if (excess > bar) return { status: 'fail', summary: `${what}: the evaluation learns from labels it should not see` };
      if (excess > bar / 2) return { status: 'warn', summary: `${what}: slightly above chance` };
      return { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'cv.used',
    title: 'Cross-validation, not a single split',
    category: 'cross-validation',
    basis: 'sandbox',
    fedBy: 'evaluate',
    explanation:
      'One train/test split gives a noisy estimate that depends on luck. k-fold cross-validation (at least 5 folds) or repeated CV gives a dependable one.',
    thresholds: z.object({ minFolds: z.number().int().min(2).max(50).default(5) }).strict(),
    judge: (v, t) => {
      const k = num(v, 'folds');
      if (v.repeated === true && k >= 2) return { status: 'pass', summary: `repeated ${k}-fold cross-validation` };
      if (k >= t.minFolds) return { status: 'pass', summary: `${k}-fold cross-validation (${v.splitter})` };
      if (k >= 3) return { status: 'warn', summary: `only ${k} folds (${v.splitter}); ${t.minFolds} or more expected` };
      if (v.splitter === null && num(v, 'foldScores') >= t.minFolds)
        return { status: 'warn', summary: `${num(v, 'foldScores')} fold scores returned but no splitter was seen at run time` };
      return { status: 'fail', summary: k >= 1 ? `a single split (${v.splitter}) instead of cross-validation` : 'no cross-validation was seen' };
    },
  }),
  defineCheck({
    id: 'cv.stratified',
    title: 'Folds keep the class balance',
    category: 'cross-validation',
    basis: 'sandbox',
    fedBy: 'evaluate',
    explanation:
      'With few churners, folds must each hold a fair share of them, or fold scores swing wildly. Stratified folds guarantee this; shuffled folds usually manage; unshuffled folds on ordered data do not.',
    thresholds: z.object({ warnAbove: z.number().min(0).max(10).default(0.3), failAbove: z.number().min(0).max(10).default(0.45) }).strict(),
    judge: (v, t) => {
      const dev = num(v, 'maxRelativeDeviation');
      const what = `validation folds' churn rate deviates by up to ${pct(dev)} from the overall rate (${v.splitter})`;
      if (dev > t.failAbove) return { status: 'fail', summary: what };
      if (dev > t.warnAbove) return { status: 'warn', summary: what };
      return { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'cv.estimate_calibrated',
    title: 'Own estimate matches hidden data',
    category: 'cross-validation',
    basis: 'mixed',
    fedBy: 'evaluate',
    explanation:
      'The candidate\'s cross-validated score is compared with the same metric on hidden data they never saw. An estimate far above the hidden score, beyond what chance explains, means the evaluation was optimistic — usually leakage. This check cannot be faked.',
    thresholds: z.object({ z: z.number().min(0).max(10).default(2), floor: z.number().min(0).max(1).default(0.02) }).strict(),
    judge: (v, t) => {
      const optimism = num(v, 'optimism');
      const se = num(v, 'holdoutSe');
      const what = `${v.metric}: own estimate ${fmt(num(v, 'cvMean'))} vs hidden holdout ${fmt(num(v, 'holdout'))} (±${fmt(se)})`;
      if (optimism > t.z * se + t.floor) return { status: 'fail', summary: `${what}: optimistic beyond chance` };
      if (optimism > se + t.floor) return { status: 'warn', summary: `${what}: somewhat optimistic` };
      return { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'imbalance.metric',
    title: 'A metric that copes with imbalance',
    category: 'imbalance',
    basis: 'sandbox',
    fedBy: 'evaluate',
    explanation:
      'When only about one customer in ten churns, predicting "nobody churns" is 90% accurate and useless. Accuracy alone hides this; metrics such as PR-AUC, ROC-AUC, F1 or balanced accuracy do not.',
    thresholds: z.object({}).strict(),
    judge: (v) => {
      if (v.imbalanceAware === true) return { status: 'pass', summary: `evaluated with ${v.metric}` };
      if (v.metric === 'accuracy') return { status: 'fail', summary: 'evaluated with plain accuracy, which rewards ignoring churners' };
      return { status: 'warn', summary: `evaluated with ${v.metric}, which does not reflect both kinds of error` };
    },
  }),
  defineCheck({
    id: 'imbalance.beats_baseline',
    title: 'Beats doing nothing and a simple model',
    category: 'imbalance',
    basis: 'host',
    explanation:
      'On hidden data, the model must save money compared with calling nobody (the majority-class baseline) and do at least as well as a simple reference model, on business cost and on balanced accuracy.',
    thresholds: z
      .object({
        maxCostRatioVsMajority: z.number().min(0).max(2).default(0.85),
        maxCostRatioVsReference: z.number().min(0).max(2).default(1.0),
        warnCostRatioVsReference: z.number().min(0).max(2).default(1.1),
        minBalancedAccuracy: rate.default(0.55),
      })
      .strict(),
    judge: (v, t) => {
      const vsMaj = num(v, 'costRatioVsMajority');
      const vsRef = num(v, 'costRatioVsReference');
      const ba = num(v, 'balancedAccuracy');
      const what = `cost ${pct(vsMaj)} of calling nobody${Number.isFinite(vsRef) ? `, ${pct(vsRef)} of the reference model's` : ''}; balanced accuracy ${fmt(ba)}`;
      if (!(vsMaj <= t.maxCostRatioVsMajority) || !(ba >= t.minBalancedAccuracy)) return { status: 'fail', summary: `${what}: not clearly better than doing nothing` };
      if (Number.isFinite(vsRef) && vsRef > t.warnCostRatioVsReference) return { status: 'fail', summary: `${what}: worse than a simple reference model` };
      if (Number.isFinite(vsRef) && vsRef > t.maxCostRatioVsReference) return { status: 'warn', summary: `${what}: about as good as a simple reference model` };
      return { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'imbalance.minority_recall',
    title: 'Finds the churners',
    category: 'imbalance',
    basis: 'host',
    explanation: 'The share of real churners the model flags at its own decision threshold. Missing a churner costs far more than an unneeded call.',
    thresholds: z.object({ pass: rate.default(0.6), warn: rate.default(0.4) }).strict(),
    judge: (v, t) => {
      const r = num(v, 'recall');
      const what = `flags ${pct(r)} of churners (${v.truePositives} of ${v.positives})`;
      if (r >= t.pass) return { status: 'pass', summary: what };
      if (r >= t.warn) return { status: 'warn', summary: what };
      return { status: 'fail', summary: `${what}: most churners are missed` };
    },
  }),
  defineCheck({
    id: 'robustness.messy_input',
    title: 'Survives messy new data',
    category: 'robustness',
    basis: 'host',
    explanation:
      'Real data arrives with new category values, missing values in new places, extra or reordered columns and inconsistent text. predict() must still return a valid answer for every row.',
    thresholds: z.object({}).strict(),
    judge: (v) => {
      const failed = num(v, 'failedVariants');
      const total = num(v, 'variants');
      if (failed > 0) return { status: 'fail', summary: `predict() failed or returned invalid output on ${failed} of ${total} messy inputs` };
      return { status: 'pass', summary: `valid predictions on all ${total} messy inputs` };
    },
  }),
  defineCheck({
    id: 'reproducibility.deterministic',
    title: 'Same result when trained twice',
    category: 'engineering',
    basis: 'host',
    explanation: 'Training twice on the same data must give the same predictions (fixed random seeds), or results cannot be audited or reproduced.',
    thresholds: z.object({ warnAbove: rate.default(0), failAbove: rate.default(0.005) }).strict(),
    judge: (v, t) => {
      const d = num(v, 'diffRate');
      const what = `${pct(d)} of predictions differ between two trainings`;
      if (d > t.failAbove) return { status: 'fail', summary: what };
      if (d > t.warnAbove) return { status: 'warn', summary: what };
      return { status: 'pass', summary: what };
    },
  }),
  defineCheck({
    id: 'sandbox.resources',
    title: 'Within time and memory limits',
    category: 'engineering',
    basis: 'host',
    explanation: 'The submission must finish within the stated time and memory limits. A run that is killed is reported with its cause.',
    thresholds: z.object({}).strict(),
    judge: (v) =>
      v.killed === true
        ? { status: 'fail', summary: String(v.cause) }
        : { status: 'pass', summary: `finished within limits (peak memory ${fmt(num(v, 'peakMemoryMb'), 0)} MB, ${fmt(num(v, 'totalSeconds'), 1)} s)` },
  }),
] as const;

export type CheckId = (typeof CHECKS)[number]['id'];
export const CHECK_IDS = CHECKS.map((c) => c.id) as [CheckId, ...CheckId[]];
export const checkIdSchema = z.enum(CHECK_IDS);

export function checkDefinition(id: string) {
  const def = CHECKS.find((c) => c.id === id);
  if (!def) throw new Error(`unknown check ${id}`);
  return def;
}

/** Status and summary of one check from its measurement and (validated) thresholds. */
export function judgeCheck(id: CheckId, m: Measurement, thresholds: Record<string, unknown>): { status: CheckStatus; summary: string } {
  if (!m.ran) return { status: 'skipped', summary: m.reason ?? 'not run' };
  const def = checkDefinition(id);
  const t = def.thresholds.parse(thresholds) as never;
  try {
    return def.judge(m.values, t);
  } catch (err) {
    return { status: 'error', summary: `check could not be judged: ${(err as Error).message}` };
  }
}
