import type { Sandbox, SandboxLimits, SandboxMount, SandboxResult } from '../sandbox/sandbox.ts';
import { NOTEBOOK_RUNS_ID } from '../checks/reproducibility/notebook-runs.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import type { StepOutcome } from '../checks/measure-context.ts';
import type { NotebooksResult } from '../checks/notebook-runs-output.ts';
import { HARNESS_VERSION } from '../checks/harness-output.ts';
import { SKIP_DIRS } from '../archive/solution-contract.ts';

/** Per-cell, per-notebook and whole-run limits of the exploratory notebooks' run (seconds). */
export const NOTEBOOK_LIMITS = { cellSeconds: 60, notebookSeconds: 180, totalSeconds: 300 };

/** Where the notebooks find the training data: as the brief names it (`train.csv`), beside each notebook and at the submission's root, and in a `data/` folder there. */
export const NOTEBOOK_DATA_AT = ['train.csv', 'data/train.csv'];

/** Whether this grading runs the exploratory notebooks: only when the rubric lists the check. */
export const wantsNotebookRuns = (rubric: Rubric) => NOTEBOOK_RUNS_ID in rubric.checks;

/**
 * Whether an archive (its entry names, read as text) may hold an exploratory notebook: a `.ipynb`
 * other than a solution notebook at the root or in one top-level folder. False means the harness
 * would find none, so the grading needs no container for them; true may still find none (the
 * harness decides which notebook is the solution).
 */
export function mayHoldExploratoryNotebooks(entryNames: string[]): boolean {
  return entryNames.some((name) => {
    const parts = name.split('/').filter(Boolean);
    if (!parts.length || !parts.at(-1)!.endsWith('.ipynb')) return false;
    if (parts.some((p) => p.startsWith('.') || SKIP_DIRS.has(p))) return false;
    return !(parts.at(-1) === 'solution.ipynb' && parts.length <= 2);
  });
}

/** The run's result when the archive holds no exploratory notebook: nothing ran, nothing to run. */
export const noExploratoryNotebooks = (): StepOutcome<NotebooksResult> => ({
  sandbox: null,
  result: { harnessVersion: HARNESS_VERSION, mode: 'notebooks', solutionPath: null, notebooks: [], notRun: [], limits: null },
  problem: null,
});

export interface NotebookStepInput {
  sandbox: Sandbox;
  gradingId: string;
  image: string;
  submission: SandboxMount;
  trainCsv: string;
  /** The grading's limits (memory, processes...); the wall clock is set here. */
  limits: SandboxLimits;
  /** Caps every limit below, like the grading's phase timeouts (PHASE_TIMEOUT_CAP_S). */
  capSeconds?: number;
  collectTo: string;
  signal?: AbortSignal;
}

/**
 * The exploratory notebooks executed top to bottom (`run.py notebooks`), in a container of their
 * own after training and prediction: nothing they do can reach the model, its predictions or the
 * measurements of the other checks, and the hidden holdout is never in it — only the training data,
 * which the supervisor alone reads and copies into each notebook's private copy of the submission.
 * The caller reads `notebooks.json` from `collectTo` (notebooksResultSchema).
 */
export async function runNotebookStep(i: NotebookStepInput): Promise<SandboxResult> {
  const cap = (s: number) => Math.min(s, i.capSeconds ?? Infinity);
  const total = cap(NOTEBOOK_LIMITS.totalSeconds);
  return i.sandbox.run({
    gradingId: i.gradingId,
    step: 'notebooks',
    image: i.image,
    command: [
      'python3',
      '-I',
      '/opt/harness/run.py',
      'notebooks',
      '--submission',
      '/submission',
      '--data',
      '/in/train.csv',
      ...NOTEBOOK_DATA_AT.map((p) => `--data-at=${p}`),
      '--out',
      '/out',
      '--cell-timeout-s',
      String(cap(NOTEBOOK_LIMITS.cellSeconds)),
      '--notebook-timeout-s',
      String(cap(NOTEBOOK_LIMITS.notebookSeconds)),
      '--total-timeout-s',
      String(total),
    ],
    mounts: [i.submission],
    supervisor: true,
    privateInputs: { containerPath: '/in', files: [{ name: 'train.csv', hostPath: i.trainCsv }] },
    outputPath: '/out',
    collectTo: i.collectTo,
    // Room beyond the notebooks' own budget for the interpreter, copying and ending each kernel.
    limits: { ...i.limits, wallMs: (total + 60) * 1000 },
    signal: i.signal,
  });
}
