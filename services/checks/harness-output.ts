import { z } from 'zod';

/**
 * What the Python harness (docker/runner/harness) writes to /out inside a sandbox container.
 * Everything here was produced next to candidate code, so it is parsed as untrusted input:
 * a malformed document is a finding against the submission, never a worker crash.
 */

export const HARNESS_VERSION = '2.4.1';

const text = z.string().max(200_000);

export const phaseStatusSchema = z.enum(['ok', 'error', 'timeout', 'killed', 'skipped']);

export const phaseRecordSchema = z.object({
  name: z.string().max(64),
  status: phaseStatusSchema,
  durationMs: z.number().nonnegative(),
  cpuMs: z.number().nonnegative().nullable(),
  maxRssBytes: z.number().nonnegative().nullable(),
  signal: z.number().int().nullable(),
  /** Readable explanation of an error: exception type, message and the candidate's frame. */
  error: text.nullable(),
  stdout: text,
  stderr: text,
  stdoutBytes: z.number().int().nonnegative(),
  stderrBytes: z.number().int().nonnegative(),
  /** True when the child failed to fork/spawn for lack of pids (EAGAIN). */
  pidsExhausted: z.boolean().default(false),
});

export const lintFindingSchema = z.object({
  rule: z.enum([
    'fit-before-split',
    'resample-before-split',
    'select-before-split',
    'no-pipeline-in-cv',
    'accuracy-only-metric',
    'no-random-state',
    'syntax-error',
    'stat-before-split',
    'fit-on-test-rows',
  ]),
  /**
   * Path relative to the submission root. In a notebook: `<path>.ipynb#cell-N` (N counts every cell from 1,
   * markdown included) and `line` is the line within that cell; the same form is used by trace records.
   */
  file: z.string().max(500),
  line: z.number().int().nonnegative(),
  col: z.number().int().nonnegative(),
  message: z.string().max(2000),
  /** The candidate's source line, quoted. */
  code: z.string().max(2000),
  /** A file outside the graded solution (exploration, EDA): shown to reviewers, not failing checks by default. */
  exploratory: z.boolean().default(false),
});

export const evaluateResultSchema = z.object({
  metric: z.string().max(100),
  foldScores: z.array(z.number()).max(1000),
});

/** One traced call to a scikit-learn / imbalanced-learn API, reduced to what the checks need. */
export const traceEventSchema = z.object({
  seq: z.number().int().nonnegative(),
  phase: z.string().max(64),
  kind: z.enum(['fit', 'fit_transform', 'fit_resample', 'split', 'train_test_split', 'cross_val', 'search_fit']),
  estimator: z.string().max(200),
  /** transformer | selector | sampler | model | splitter | pipeline | search | function */
  role: z.string().max(32),
  nRows: z.number().int().nonnegative().nullable(),
  file: z.string().max(500).nullable(),
  line: z.number().int().nonnegative().nullable(),
  code: z.string().max(2000).nullable(),
  insideCv: z.boolean(),
});

export const leakFindingSchema = z.object({
  /** The traced fit that saw validation rows (or the resampling whose rows reached validation). */
  estimator: z.string().max(200),
  method: z.string().max(64),
  fitRows: z.number().int().nonnegative(),
  /** Validation rows (of the later split) that the fit had already seen. */
  validationRowsSeen: z.number().int().nonnegative(),
  validationRowsTotal: z.number().int().nonnegative(),
  /** Resampling only: validation rows that are synthetic or repeated copies. */
  syntheticOrRepeatedValidationRows: z.number().int().nonnegative().default(0),
  splitter: z.string().max(200).nullable(),
  file: z.string().max(500).nullable(),
  line: z.number().int().nonnegative().nullable(),
  code: z.string().max(2000).nullable(),
  phase: z.string().max(64),
});

export const foldSchema = z.object({
  trainRows: z.number().int().nonnegative(),
  validationRows: z.number().int().nonnegative(),
  validationPositiveRate: z.number().min(0).max(1).nullable(),
  trainPositiveRate: z.number().min(0).max(1).nullable(),
});

export const splitRecordSchema = z.object({
  phase: z.string().max(64),
  splitter: z.string().max(200),
  /** e.g. {"n_splits":5,"shuffle":true,"n_repeats":1} as the splitter reported them */
  params: z.record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.null()])),
  stratified: z.boolean(),
  repeated: z.boolean(),
  folds: z.array(foldSchema).max(1000),
  file: z.string().max(500).nullable(),
  line: z.number().int().nonnegative().nullable(),
  code: z.string().max(2000).nullable(),
});

const postOutcomeUseSchema = z.object({
  column: z.string().max(200),
  /** As lint findings: `<path>.ipynb#cell-N` with the line in that cell for notebooks. */
  file: z.string().max(500),
  line: z.number().int().nonnegative(),
  code: z.string().max(2000),
  /** How the column gets there, in words ("read from the data", "through `FEATURES` (line 12)"). */
  how: z.string().max(500),
});

export const postOutcomeSchema = z.object({
  columns: z.array(z.string().max(200)).max(50),
  /** Lines where a column enters the features. */
  uses: z.array(postOutcomeUseSchema).max(400),
  /** Lines where a column is removed (for a column with no use). */
  removed: z.array(postOutcomeUseSchema).max(400),
  /** Columns whose way into the features the lint could not tell. */
  unknown: z.array(z.string().max(200)).max(50),
});
export type PostOutcome = z.infer<typeof postOutcomeSchema>;

export const trainResultSchema = z.object({
  harnessVersion: z.string().max(32),
  mode: z.literal('train'),
  solution: z.object({
    found: z.boolean(),
    /** Path of solution.py relative to the submission root, e.g. "solution.py" or "churn/solution.py". */
    path: z.string().max(500).nullable(),
    importError: text.nullable(),
    /** A notebook's IPython lines (magics, shell escapes) dropped when its module was built, one note each. */
    notes: z.array(z.string().max(300)).max(50).optional(),
    functions: z.object({
      train: z.boolean(),
      predict: z.boolean(),
      predict_proba: z.boolean(),
      evaluate: z.boolean(),
    }),
  }),
  lint: z.array(lintFindingSchema).max(500),
  phases: z.array(phaseRecordSchema).max(20),
  /** Candidate's own estimate; null when evaluate is absent or failed (see phases). */
  evaluate: evaluateResultSchema.nullable(),
  evaluateProblem: z.string().max(4000).nullable(),
  /** evaluate() rerun on train.csv with the target column permuted (seeded). */
  evaluateNull: evaluateResultSchema.nullable(),
  /** Positive-class rate of the train file, as seen by the harness. */
  trainPositiveRate: z.number().min(0).max(1).nullable(),
  trace: z.object({
    events: z.array(traceEventSchema).max(5000),
    eventsDropped: z.number().int().nonnegative(),
    splits: z.array(splitRecordSchema).max(200),
    preprocessingLeaks: z.array(leakFindingSchema).max(200),
    resamplingLeaks: z.array(leakFindingSchema).max(200),
  }),
  /** Files written to /out next to this document: model.pkl, model_repeat.pkl when training worked. */
  models: z.array(z.string().max(64)).max(4),
  /** Where the assessment's post-outcome columns enter the features (harness lint_target.py); null: not looked at. */
  postOutcome: postOutcomeSchema.nullable().optional(),
});

export const predictionSetSchema = z.object({
  /** Normalized labels: 1 = positive class, 0 = negative. null when the call failed or was malformed. */
  labels: z.array(z.union([z.literal(0), z.literal(1)])).nullable(),
  probabilities: z.array(z.number().min(0).max(1)).nullable(),
  /** Readable problem with predict / predict_proba output (wrong length, bad values, exception). */
  labelsProblem: z.string().max(4000).nullable(),
  probabilitiesProblem: z.string().max(4000).nullable(),
  durationMs: z.number().nonnegative(),
});

const ms = z.number().nonnegative().max(3.6e6);
export const servingSchema = z.object({
  /** Loading model.pkl and answering the first single-row request. null: no answer at all. */
  coldStartMs: ms.nullable(),
  /** Wall time of each warm single-row call, in order. */
  warmMs: z.array(ms).max(10_000),
  /** CPU time of the same calls (every process of the candidate's identity); empty where unknown. */
  warmCpuMs: z.array(ms).max(10_000),
  budgetS: z.number().positive(),
  /** [row of the primary variant, the label answered (null: none)] for each single-row call. */
  answers: z.array(z.tuple([z.number().int().nonnegative(), z.union([z.literal(0), z.literal(1)]).nullable()])).max(10_001),
  batchMs: ms.nullable(),
  batchRows: z.number().int().nonnegative(),
  batchProblem: z.string().max(4000).nullable(),
  peakRssBytes: z.number().int().nonnegative().nullable(),
  problem: z.string().max(4000).nullable(),
});

export const predictResultSchema = z.object({
  harnessVersion: z.string().max(32),
  mode: z.literal('predict'),
  phases: z.array(phaseRecordSchema).max(20),
  /** Per input variant file name (without .csv): predictions of model.pkl on the whole file. */
  variants: z.record(z.string(), predictionSetSchema),
  /** Primary variant predicted by model_repeat.pkl (reproducibility). */
  repeat: predictionSetSchema.nullable(),
  transductive: z
    .object({
      variant: z.string(),
      /** Row indices (into the primary variant) of the row-by-row sample. */
      sampleRows: z.array(z.number().int().nonnegative()),
      rowByRow: z.array(z.union([z.literal(0), z.literal(1)]).nullable()),
      /** Whole-file order predictions made in shuffled chunks, mapped back to file order. */
      shuffledChunks: z.array(z.union([z.literal(0), z.literal(1)])).nullable(),
      chunkSize: z.number().int().positive(),
      problem: z.string().max(4000).nullable(),
    })
    .nullable(),
  /**
   * The serving probe (harness serving.py): single-customer calls timed by the harness supervisor,
   * not by the candidate's process. Absent in documents of harness versions before 2.1.0.
   */
  serving: servingSchema.nullable().optional(),
});

export type TrainResult = z.infer<typeof trainResultSchema>;
export type PredictResult = z.infer<typeof predictResultSchema>;
export type PhaseRecord = z.infer<typeof phaseRecordSchema>;
export type LintFinding = z.infer<typeof lintFindingSchema>;
export type SplitRecord = z.infer<typeof splitRecordSchema>;
export type LeakFinding = z.infer<typeof leakFindingSchema>;
