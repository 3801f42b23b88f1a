import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../services/context.ts';
import { parseRubric } from '../../services/rubrics/rubric-schema.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { ROOT, testContext } from '../support/context.ts';

/**
 * The optional check reproducibility.notebook_runs through one real grading (issue 14): the passing
 * smoke submission (smoke/good/solution.py) with three exploratory notebooks beside it. eda.ipynb
 * runs clean (it reads train.csv where the brief puts it, and asserts it runs as no root and cannot
 * read the hidden inputs), notebooks/broken.ipynb raises NameError in cell 4 (markdown counted), and
 * scratch/malformed.ipynb is not JSON. The rubric is the shipped smoke rubric plus the check.
 */
const DIR = path.join(ROOT, 'tests/fixtures/submissions/smoke/exploratory-notebooks');

let ctx: Context;
let work: string;
beforeAll(async () => {
  ctx = await testContext();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-runs-'));
});
afterAll(async () => {
  await ctx?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('reproducibility.notebook_runs', () => {
  it('runs the exploratory notebooks in the sandbox and names the failing cell', { timeout: 900_000 }, async () => {
    const base = await ctx.assessments.defaultRubric('smoke-binary');
    const rubric = parseRubric({ ...base, checks: { ...base.checks, 'reproducibility.notebook_runs': { weight: 1, visibility: 'summary' } } });
    // The smoke submission that passes (its solution.py) with the fixture's notebooks beside it.
    const folder = path.join(work, 'submission');
    fs.cpSync(DIR, folder, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'tests/fixtures/submissions/smoke/good/solution.py'), path.join(folder, 'solution.py'));
    const bytes = await tarGzOfFolder(folder);
    const archive = path.join(work, 'exploratory-notebooks.tar.gz');
    fs.writeFileSync(archive, bytes);
    const t0 = performance.now();
    const report = await ctx.grader.grade({
      gradingId: crypto.randomUUID(),
      submissionId: crypto.randomUUID(),
      assessmentId: 'smoke-binary',
      archivePath: archive,
      archiveSha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      rubric,
      rubricVersion: 1,
    });
    const seconds = (performance.now() - t0) / 1000;
    const check = report.checks.find((c) => c.id === 'reproducibility.notebook_runs')!;
    const m = report.measurements['reproducibility.notebook_runs']!;
    console.log(`notebook_runs: grading ${seconds.toFixed(1)} s, notebooks ${m.values.seconds} s; ${check.status}: ${check.summary}`);
    expect(check.status, check.summary).toBe('warn');
    expect(check.summary).toBe("2 of 3 exploratory notebook(s) do not run top to bottom: notebooks/broken.ipynb, cell 4: NameError: name 'rate_by_color' is not defined; …");
    expect(m.values).toMatchObject({ notebooks: 3, clean: 1, failing: 2, notRun: 0 });
    expect(check.evidence.map((e) => [e.label, e.file])).toEqual([
      ['Runs clean: eda.ipynb', 'eda.ipynb'],
      ['Fails: notebooks/broken.ipynb', 'notebooks/broken.ipynb#cell-4'],
      ['Cannot be opened: scratch/malformed.ipynb', 'scratch/malformed.ipynb'],
    ]);
    expect(check.evidence[0]!.detail).toMatch(/^3 code cell\(s\) ran in \d+\.\d s$/);
    expect(check.evidence[2]!.detail).toMatch(/^scratch\/malformed\.ipynb: could not be read: scratch\/malformed\.ipynb is not a valid notebook: the file is not JSON/);
    // The notebooks' run changes nothing else: the model's checks are the smoke submission's own.
    expect(report.checks.find((c) => c.id === 'contract.interface')!.status).toBe('pass');
    // Its container is in the report under its own name, with its harness log, after the other two.
    expect(report.sandbox.map((s) => [s.step, s.outcome])).toEqual([
      ['train', 'completed'],
      ['predict', 'completed'],
      ['notebooks', 'completed'],
    ]);
    expect(report.logs.filter((l) => l.phase === 'harness').map((l) => l.step)).toEqual(['train', 'predict', 'notebooks']);
  });
});
