import { z } from 'zod';
import { defineCheck, num } from '../define-check.ts';
import { ev, notRun, type MeasureContext } from '../measure-context.ts';
import type { Measurement } from '../check-schema.ts';
import type { NotebookRun } from '../notebook-runs-output.ts';

/**
 * reproducibility.notebook_runs (optional: measured only when the rubric lists it). The exploratory
 * notebooks were executed top to bottom in a sandbox container of their own, after training and
 * prediction (docker/runner/harness/notebook_runs.py); this check reads what that run reported.
 */
export const NOTEBOOK_RUNS_ID = 'reproducibility.notebook_runs';

const WORDS: Record<NotebookRun['status'], string> = {
  ok: 'Runs clean',
  error: 'Fails',
  timeout: 'Runs out of time',
  unreadable: 'Cannot be opened',
  not_run: 'Not run',
};

export const reproducibilityNotebookRuns = defineCheck({
  id: NOTEBOOK_RUNS_ID,
  title: 'Exploratory notebooks run top to bottom',
  category: 'engineering',
  basis: 'sandbox',
  explanation:
    "The candidate's exploration notebooks (every notebook other than the graded solution) were re-run from the first cell to the last on a clean machine, with the training data where the brief puts it and no internet. A notebook that only works when its cells are run by hand in a particular order, or that needs files the candidate did not include, cannot be checked or repeated by a colleague. This is about the exploration, not the model, so by default a failure is only a warning.",
  thresholds: z.object({ failingNotebook: z.enum(['warn', 'fail']).default('warn') }).strict(),
  measure,
  judge: (v, t) => {
    const total = num(v, 'notebooks');
    const broken = num(v, 'failing');
    const skipped = num(v, 'notRun');
    const notRunNote = skipped > 0 ? ` (${skipped} not run: limit on time or number of notebooks)` : '';
    if (broken === 0) return { status: 'pass', summary: `${num(v, 'clean')} of ${total} exploratory notebook(s) run clean from top to bottom${notRunNote}` };
    const first = typeof v.firstFailure === 'string' ? v.firstFailure : '';
    return { status: t.failingNotebook, summary: `${broken} of ${total} exploratory notebook(s) do not run top to bottom: ${first}${broken > 1 ? '; …' : ''}${notRunNote}` };
  },
});

/** "eda.ipynb, cell 4: NameError: name 'x' is not defined" — what a reviewer reads first. */
function describe(n: NotebookRun): string {
  if (n.status === 'error' && n.errorName) return `${n.path}, cell ${n.cell ?? '?'}: ${n.errorName}${n.errorValue ? `: ${n.errorValue}` : ''}`;
  return `${n.path}: ${n.error ?? WORDS[n.status].toLowerCase()}`;
}

function measure({ input }: MeasureContext): Measurement {
  const step = input.notebooks;
  if (step === undefined) return notRun('not measured: the rubric did not ask for the exploratory notebooks to be run when this submission was graded');
  if (!step.result) return notRun(`the exploratory notebooks could not be run: ${step.problem ?? 'the run produced no result'}`);
  const r = step.result;
  if (r.error) return notRun(`the exploratory notebooks could not be run: ${r.error.slice(0, 500)}`);
  if (r.notebooks.length === 0) return notRun(r.notRun.length ? 'no exploratory notebook was run' : 'the submission has no exploratory notebooks (no .ipynb besides the solution)');
  const failing = r.notebooks.filter((n) => n.status === 'error' || n.status === 'timeout' || n.status === 'unreadable');
  const notRunCount = r.notebooks.filter((n) => n.status === 'not_run').length + r.notRun.length;
  const evidence = r.notebooks.slice(0, 60).map((n) =>
    ev(`${WORDS[n.status]}: ${n.path}`, n.status === 'ok' ? `${n.codeCells ?? '?'} code cell(s) ran in ${(n.durationMs / 1000).toFixed(1)} s` : describe(n), {
      file: n.cell !== null ? `${n.path}#cell-${n.cell}` : n.path,
    }),
  );
  if (r.notRun.length) evidence.push(ev('Not run', `more than ${r.limits?.maxNotebooks ?? '?'} exploratory notebooks: not run: ${r.notRun.slice(0, 20).join(', ')}`));
  return {
    ran: true,
    values: {
      notebooks: r.notebooks.length + r.notRun.length,
      clean: r.notebooks.filter((n) => n.status === 'ok').length,
      failing: failing.length,
      notRun: notRunCount,
      firstFailure: failing[0] ? describe(failing[0]).slice(0, 500) : null,
      seconds: Math.round(r.notebooks.reduce((s, n) => s + n.durationMs, 0) / 100) / 10,
    },
    evidence,
  };
}
