import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../services/context.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { ROOT, testContext } from '../support/context.ts';
import { gradeArchive } from '../support/grade-archive.ts';

/**
 * Notebook twins of flawed churn reference submissions (issue 14): each `solution.ipynb` is its
 * `.py` twin split into cells, and must get exactly the twin's statuses (tests/fixtures/submissions/
 * churn/expected.json) with its evidence at *cell N, line M* of the notebook. One twin carries IPython
 * magics and shell escapes (dropped, each with a visible note); a notebook that is JSON with cells but
 * not a valid notebook passes the upload check and is graded "did not run" with the reason.
 */
const DIR = path.join(ROOT, 'tests/fixtures/submissions/churn-notebooks');
const expected: Record<string, { checks: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/submissions/churn/expected.json'), 'utf8'));
const twins: Record<string, { twinOf: string; notes: number; flaws: { check: string; code: string }[]; exploratory: { check: string; rule: string; file: string; line: number }[] }> =
  JSON.parse(fs.readFileSync(path.join(DIR, 'twins.json'), 'utf8'));
const INVALID = 'invalid-notebook';

/** The lines of every cell of a fixture notebook (our own file), cells counted from 1, markdown included. */
function cells(name: string): string[][] {
  const nb = JSON.parse(fs.readFileSync(path.join(DIR, name, 'solution.ipynb'), 'utf8')) as { cells: { source: string | string[] }[] };
  return nb.cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source).split('\n'));
}

/** Where a line of code is in the notebook: exactly one cell and line. */
function whereIs(name: string, code: string): { file: string; line: number } {
  const hits = cells(name).flatMap((lines, c) => lines.flatMap((l, i) => (l.trim() === code ? [{ file: `solution.ipynb#cell-${c + 1}`, line: i + 1 }] : [])));
  expect(hits, `${name}: ${code}`).toHaveLength(1);
  return hits[0]!;
}

let ctx: Context;
let work: string;
beforeAll(async () => {
  ctx = await testContext({ PHASE_TIMEOUT_CAP_S: 60 });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-nb-'));
});
afterAll(async () => {
  await ctx?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// One at a time, as the churn reference set does: side by side on two cores they only stretch each other's phases.
const grade = async (name: string): Promise<ReportDocument> => gradeArchive(ctx, 'churn-messy-csv', name, await tarGzOfFolder(path.join(DIR, name)), work);

describe('notebook twins get the statuses of their .py twins, with cell:line evidence', () => {
  it.each(Object.keys(twins))('%s', { timeout: 600_000 }, async (name) => {
    const twin = twins[name]!;
    const report = await grade(name);
    const summaries = Object.fromEntries(report.checks.map((c) => [c.id, `${c.status}: ${c.summary}`]));
    expect(Object.fromEntries(report.checks.map((c) => [c.id, c.status])), JSON.stringify(summaries, null, 2)).toEqual(expected[twin.twinOf]!.checks);

    // The flaw's line: the same code as in the .py twin, found at its cell and line.
    const py = fs.readFileSync(path.join(ROOT, 'tests/fixtures/submissions/churn', twin.twinOf, 'solution.py'), 'utf8');
    for (const flaw of twin.flaws) {
      expect(py.split('\n').map((l) => l.trim())).toContain(flaw.code);
      const at = whereIs(name, flaw.code);
      const check = report.checks.find((c) => c.id === flaw.check)!;
      expect(check.status).not.toBe('pass');
      expect(
        check.evidence.map((e) => ({ file: e.file, line: e.line, code: e.code })),
        flaw.code,
      ).toContainEqual({ ...at, code: flaw.code });
    }

    // Every located piece of evidence and lint finding points into a cell and quotes that cell's line.
    const nb = cells(name);
    const located = [...report.checks.flatMap((c) => c.evidence), ...report.lint].filter((e) => e.file?.startsWith('solution.ipynb#'));
    expect(located.length).toBeGreaterThan(0);
    for (const e of located) {
      const cell = Number(/^solution\.ipynb#cell-(\d+)$/.exec(e.file!)?.[1]);
      expect(nb[cell - 1]?.[e.line! - 1]?.trim(), `${e.file}:${e.line}`).toBe(e.code);
    }
    expect(report.checks.flatMap((c) => c.evidence).filter((e) => e.file === 'solution.py')).toEqual([]);

    // Exploratory work (files beside the solution it does not import) is linted, marked as such in the
    // report's lint list and in the evidence of the check it concerns, and fails nothing (the statuses
    // above are the .py twin's, which has no such files).
    const marked = report.lint.filter((l) => l.exploratory);
    expect(marked.map((l) => ({ rule: l.rule, file: l.file, line: l.line }))).toEqual(expect.arrayContaining(twin.exploratory.map(({ rule, file, line }) => ({ rule, file, line }))));
    expect(report.lint.filter((l) => !l.exploratory).every((l) => l.file.startsWith('solution.ipynb'))).toBe(true);
    if (twin.exploratory.length === 0) expect(marked).toEqual([]);
    for (const x of twin.exploratory) {
      const check = report.checks.find((c) => c.id === x.check)!;
      expect(check.status).toBe('pass');
      expect(check.evidence).toContainEqual(expect.objectContaining({ label: `lint: ${x.rule} (in exploratory work)`, file: x.file, line: x.line }));
    }
    // What cannot feed the model is not where a post-outcome column enters it.
    expect(report.checks.flatMap((c) => c.evidence).filter((e) => e.label.endsWith('enters the features') && !e.file?.startsWith('solution.ipynb#'))).toEqual([]);

    // Dropped IPython lines are listed on the contract check, one note each.
    const notes = report.checks.find((c) => c.id === 'contract.interface')!.evidence.find((e) => e.label.startsWith('Notebook:'));
    if (twin.notes === 0) expect(notes).toBeUndefined();
    else {
      expect(notes?.label).toBe(`Notebook: ${twin.notes} IPython line(s) dropped, not run`);
      expect(notes?.detail).toContain("cell 2, line 1: '%matplotlib inline' is IPython, not Python: dropped");
      expect(notes?.detail).toContain("cell 7: cell magic '%%bash' dropped with its whole cell");
      expect(notes?.detail.split('; ')).toHaveLength(twin.notes);
    }
  });

  it('a notebook that is JSON with cells but not a valid notebook is graded "did not run", with the reason', { timeout: 600_000 }, async () => {
    const report = await grade(INVALID);
    const contract = report.checks.find((c) => c.id === 'contract.interface')!;
    expect(contract.status).toBe('fail');
    expect(contract.summary).toContain('importing solution.ipynb failed');
    expect(contract.summary).toContain('solution.ipynb is not a valid notebook: The notebook is invalid and is missing an expected key: metadata');
    expect(report.metrics.holdout).toBeNull(); // no predictions: the reviewer list shows it as "did not run"
    expect(report.passed).toBe(false);
  });
});
