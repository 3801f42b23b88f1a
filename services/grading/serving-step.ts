import type { PrivateFile, Sandbox, SandboxLimits, SandboxMount, SandboxResult } from '../sandbox/sandbox.ts';
import type { StepOutcome } from '../checks/measure-context.ts';
import type { PredictResult, ServingResult } from '../checks/harness-output.ts';

/** The probe's room in its container's wall-clock limit beyond its budget: the harness's grace for
 * import, model load and batch (serving.GRACE_S), and slack. */
const GRACE_S = 30 + 10;

export interface ServingStepInput {
  sandbox: Sandbox;
  gradingId: string;
  image: string;
  submission: SandboxMount;
  /** The primary holdout variant (no labels): the single customers and the batch come from it. */
  primaryCsv: string;
  idColumn: string;
  positive: string;
  negative: string;
  calls: number;
  budgetS: number;
  /** model.pkl and the go-ahead file (as handed to the prediction container). */
  later: Promise<PrivateFile[]>;
  goAheadName: string;
  /** The grading's limits; the wall clock is the time before the go-ahead can come plus the probe's own. */
  limits: SandboxLimits;
  waitBeforeGoAheadMs: number;
  collectTo: string;
  signal?: AbortSignal;
}

/**
 * The serving probe (`run.py serve`, harness serving.py) in a container of its own, started once the
 * prediction container has finished (the caller waits), to time model.pkl answering single
 * customers with nothing else of the grading running. The container holds the primary holdout's
 * features and model.pkl only, and shares nothing with the prediction container (no network, no
 * files, no processes), so a serving process cannot look up answers another process computed. The
 * caller reads `serving.json` from `collectTo` (servingResultSchema) and folds it into the
 * prediction result with `withServing`.
 */
export function startServingStep(i: ServingStepInput): Promise<SandboxResult> {
  return i.sandbox.run({
    gradingId: i.gradingId,
    step: 'serve',
    image: i.image,
    command: [
      'python3',
      '-I',
      '/opt/harness/run.py',
      'serve',
      '--submission',
      '/submission',
      '--models',
      '/in/models',
      '--input',
      '/in/holdout.csv',
      '--id-column',
      i.idColumn,
      '--positive',
      i.positive,
      '--negative',
      i.negative,
      '--serving-calls',
      String(i.calls),
      '--serving-budget-s',
      String(i.budgetS),
      '--wait-for',
      `/in/${i.goAheadName}`,
      '--wait-timeout-s',
      String(Math.ceil(i.waitBeforeGoAheadMs / 1000)),
      '--out',
      '/out',
    ],
    mounts: [i.submission],
    supervisor: true,
    privateInputs: {
      containerPath: '/in',
      files: [{ name: 'holdout.csv', hostPath: i.primaryCsv }],
      // The second model is not this container's business.
      later: i.later.then((files) => files.filter((f) => f.name === 'models/model.pkl' || f.name === i.goAheadName)),
    },
    outputPath: '/out',
    collectTo: i.collectTo,
    limits: { ...i.limits, wallMs: i.waitBeforeGoAheadMs + (i.budgetS + GRACE_S) * 1000 + 60_000 },
    signal: i.signal,
  });
}

/**
 * The prediction result with the serving probe's result in it (`serving`, where the checks and a
 * rescore read it). The probe counts only when the whole-file predictions of the primary variant
 * came back (its answers are checked against them); a probe that did not run says why.
 */
export function withServing(predict: PredictResult, primaryVariant: string, serving: StepOutcome<ServingResult>, budgetS: number): PredictResult {
  if (!predict.variants[primaryVariant]?.labels) return { ...predict, serving: null };
  if (serving.result?.serving) return { ...predict, serving: serving.result.serving };
  const problem = serving.result?.problem ?? serving.problem ?? 'the serving probe gave no result';
  return {
    ...predict,
    serving: {
      coldStartMs: null,
      warmMs: [],
      warmCpuMs: [],
      budgetS,
      answers: [],
      batchMs: null,
      batchRows: 0,
      batchProblem: null,
      peakRssBytes: null,
      problem: `the serving probe did not run: ${problem}`.slice(0, 4000),
    },
  };
}
