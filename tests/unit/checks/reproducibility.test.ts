import { describe, expect, it } from 'vitest';
import { NOTEBOOK_RUNS_ID, reproducibilityNotebookRuns } from '../../../services/checks/reproducibility/notebook-runs.ts';
import { notebooksResultSchema, type NotebookRun, type NotebooksResult } from '../../../services/checks/notebook-runs-output.ts';
import { measure } from '../../../services/grading/measure.ts';
import { mayHoldExploratoryNotebooks } from '../../../services/grading/notebook-step.ts';
import { context, expectJudged, expectMeasured, measureInput, sandboxResult, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

const run = (path: string, over: Partial<NotebookRun> = {}): NotebookRun => ({
  path,
  status: 'ok',
  cells: 6,
  codeCells: 4,
  cell: null,
  errorName: null,
  errorValue: null,
  error: null,
  durationMs: 2400,
  kernelStartMs: 900,
  ...over,
});
const nameError = run('notebooks/broken.ipynb', {
  status: 'error',
  cell: 4,
  errorName: 'NameError',
  errorValue: "name 'churn_rate' is not defined",
  error: "cell 4: NameError: name 'churn_rate' is not defined",
});
const result = (notebooks: NotebookRun[], over: Partial<NotebooksResult> = {}): NotebooksResult =>
  notebooksResultSchema.parse({
    harnessVersion: '2.4.0',
    mode: 'notebooks',
    solutionPath: 'solution.py',
    notebooks,
    notRun: [],
    limits: { cellSeconds: 60, notebookSeconds: 180, totalSeconds: 300, maxNotebooks: 5 },
    ...over,
  });
const step = (r: NotebooksResult | null, problem: string | null = null) => ({ input: { notebooks: { sandbox: sandboxResult(), result: r, problem } } });

describe('reproducibility.notebook_runs', () => {
  it.each<JudgeCase>([
    {
      name: 'all clean passes',
      values: { notebooks: 2, clean: 2, failing: 0, notRun: 0, firstFailure: null },
      status: 'pass',
      summary: '2 of 2 exploratory notebook(s) run clean from top to bottom',
    },
    {
      name: 'a failing notebook warns by default',
      values: { notebooks: 2, clean: 1, failing: 1, notRun: 0, firstFailure: "b.ipynb, cell 4: NameError: name 'x' is not defined" },
      status: 'warn',
      summary: "1 of 2 exploratory notebook(s) do not run top to bottom: b.ipynb, cell 4: NameError: name 'x' is not defined",
    },
    {
      name: 'the rubric can make it fail',
      values: { notebooks: 1, clean: 0, failing: 1, notRun: 0, firstFailure: 'b.ipynb: could not be read: not JSON' },
      thresholds: { failingNotebook: 'fail' },
      status: 'fail',
      summary: 'b.ipynb: could not be read: not JSON',
    },
    {
      name: 'notebooks beyond the limits are named',
      values: { notebooks: 7, clean: 5, failing: 0, notRun: 2, firstFailure: null },
      status: 'pass',
      summary: '(2 not run: limit on time or number of notebooks)',
    },
  ])('judge: $name', (c) => expectJudged(NOTEBOOK_RUNS_ID, c));

  it.each<MeasureCase>([
    { name: 'not asked for by the rubric', change: {}, reason: 'the rubric did not ask for the exploratory notebooks to be run' },
    { name: 'the container produced nothing', change: step(null, 'the run produced no notebooks.json'), reason: 'could not be run: the run produced no notebooks.json' },
    { name: 'a harness failure', change: step(result([], { error: 'grading harness error: boom' })), reason: 'could not be run: grading harness error: boom' },
    { name: 'no exploratory notebooks', change: step(result([])), reason: 'the submission has no exploratory notebooks' },
    {
      name: 'one clean, one failing',
      change: step(result([run('eda.ipynb'), nameError])),
      values: { notebooks: 2, clean: 1, failing: 1, notRun: 0, firstFailure: "notebooks/broken.ipynb, cell 4: NameError: name 'churn_rate' is not defined" },
      evidence: '4 code cell(s) ran in 2.4 s',
    },
    {
      name: 'timeout and unreadable count as failing',
      change: step(
        result([
          run('slow.ipynb', { status: 'timeout', cell: 3, error: 'cell 3 did not finish within 60 s' }),
          run('bad.ipynb', { status: 'unreadable', cells: null, error: 'could not be read: bad.ipynb is not a valid notebook: the file is not JSON' }),
        ]),
      ),
      values: { notebooks: 2, clean: 0, failing: 2, firstFailure: 'slow.ipynb: cell 3 did not finish within 60 s' },
      evidence: 'bad.ipynb: could not be read: bad.ipynb is not a valid notebook',
    },
    {
      name: 'budget used up: not run, not failing',
      change: step(result([run('a.ipynb'), run('b.ipynb', { status: 'not_run', error: 'not run: the 300 s budget for all notebooks was used' })], { notRun: ['f.ipynb'] })),
      values: { notebooks: 3, clean: 1, failing: 0, notRun: 2 },
    },
  ])('measure: $name', (c) => expectMeasured(reproducibilityNotebookRuns.measure, c));

  it('points the evidence at the notebook and cell', () => {
    const m = reproducibilityNotebookRuns.measure(context(step(result([run('eda.ipynb'), nameError]))));
    expect(m.evidence.map((e) => [e.label, e.file])).toEqual([
      ['Runs clean: eda.ipynb', 'eda.ipynb'],
      ['Fails: notebooks/broken.ipynb', 'notebooks/broken.ipynb#cell-4'],
    ]);
  });

  it('leaves no measurement when the rubric did not ask for the run, so a regrade that asks goes back to the sandbox', () => {
    expect(Object.keys(measure(measureInput()).measurements)).not.toContain(NOTEBOOK_RUNS_ID);
    expect(measure(measureInput(step(result([])))).measurements[NOTEBOOK_RUNS_ID]?.reason).toContain('no exploratory notebooks');
  });

  it('refuses a document with an unknown status or an oversized text', () => {
    expect(() => result([run('a.ipynb', { status: 'crashed' as never })])).toThrow();
    expect(() => result([run('a.ipynb', { errorValue: 'x'.repeat(3000) })])).toThrow();
  });

  it.each<[string[], boolean]>([
    [['solution.py', 'NOTES.md'], false],
    [['solution.ipynb'], false],
    [['sub/solution.ipynb', 'sub/helpers.py'], false],
    [['.ipynb_checkpoints/eda-checkpoint.ipynb', 'solution.py'], false],
    [['sub/__MACOSX/eda.ipynb', 'sub/solution.py'], false],
    [['solution.py', 'eda.ipynb'], true],
    [['sub/solution.py', 'sub/notebooks/eda.ipynb'], true],
    [['a/b/solution.ipynb'], true], // not where a solution goes: the harness decides
  ])('the host runs the notebook container only for archives that may hold exploratory notebooks: %j -> %s', (names, expected) => {
    expect(mayHoldExploratoryNotebooks(names)).toBe(expected);
  });
});
