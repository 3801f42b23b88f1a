import { describe, expect, it } from 'vitest';
import type { ScoredCheck } from '../../../services/grading/scoring.ts';
import { locationText, notebookLocation } from '../../../services/checks/evidence-location.ts';
import { renderMarkdown } from '../../../services/reports/render-markdown.ts';
import type { ReportDocument } from '../../../services/reports/report-schema.ts';
import type { CandidateCheck } from '../../../services/web/candidate-view.ts';
import { phaseInfo, statusPage, type StatusPageData } from '../../../services/web/pages/candidate-pages.ts';
import { checksSection } from '../../../services/web/pages/report-page.ts';

const NB_EVIDENCE = { label: 'Leak', detail: 'scaler fitted on all rows', file: 'solution.ipynb#cell-5', line: 1, code: 'scaler.fit(X)' };
const PY_EVIDENCE = { label: 'Leak', detail: 'scaler fitted on all rows', file: 'src/solution.py', line: 12, code: 'scaler.fit(X)' };

describe('where evidence points, as a person reads it', () => {
  it.each([
    ['solution.ipynb#cell-5', 1, 'solution.ipynb, cell 5, line 1'],
    ['sub/eda.ipynb#cell-12', 40, 'sub/eda.ipynb, cell 12, line 40'],
    ['solution.ipynb#cell-5', undefined, 'solution.ipynb, cell 5'],
    ['solution.ipynb#cell-5', 0, 'solution.ipynb, cell 5'], // line 0: the whole cell
    ['solution.ipynb', null, 'solution.ipynb'], // a note about the whole notebook
    ['solution.ipynb', 3, 'solution.ipynb:3'],
    ['solution.py', 12, 'solution.py:12'],
    ['src/features.py', undefined, 'src/features.py'],
    ['notes#cell-2.py', 4, 'notes#cell-2.py:4'], // only a notebook's cell form is read as a cell
  ])('%s line %s reads "%s"', (file, line, text) => {
    expect(locationText(file, line)).toBe(text);
  });

  it('reads the cell from the machine form and nothing else', () => {
    expect(notebookLocation('sub/solution.ipynb#cell-12')).toEqual({ file: 'sub/solution.ipynb', cell: 12 });
    expect(notebookLocation('solution.ipynb#cell-x')).toBeNull();
    expect(notebookLocation('solution.py')).toBeNull();
  });
});

const check = (evidence: (typeof NB_EVIDENCE)[]) =>
  ({
    id: 'leakage.preprocessing',
    title: 'Preprocessing fitted on training rows only',
    category: 'leakage',
    status: 'fail',
    basis: 'sandbox',
    severity: 'major',
    weight: 1,
    visibility: 'full',
    summary: 's',
    explanation: 'e',
    evidence,
    values: {},
  }) as unknown as ScoredCheck;

describe('every page and download says it the same way', () => {
  it("the reviewer's report links the machine anchor under the readable text; the share page shows the text only", () => {
    const reviewer = String(checksSection([check([NB_EVIDENCE, PY_EVIDENCE])], 'sub-1'));
    expect(reviewer).toContain('href="/review/submissions/sub-1/code?file=solution.ipynb#cell-5-L1">solution.ipynb, cell 5, line 1</a>');
    expect(reviewer).toContain('href="/review/submissions/sub-1/code?file=src%2Fsolution.py#L12">src/solution.py:12</a>');
    const shared = String(checksSection([check([NB_EVIDENCE])]));
    expect(shared).toContain('<span class="where">solution.ipynb, cell 5, line 1</span>');
    expect(shared).not.toContain('cell-5');
  });

  it('the Markdown report', () => {
    const doc = {
      assessmentId: 'a',
      score: 40,
      passed: false,
      verdict: 'v',
      categories: [],
      checks: [check([NB_EVIDENCE, PY_EVIDENCE])],
      metrics: { holdout: null, evaluate: null },
      lint: [],
      provenance: { datasetSha256: 'b'.repeat(64), runnerImageDigest: 'sha256:c' },
    } as unknown as ReportDocument;
    const md = renderMarkdown(doc);
    expect(md).toContain('- **Leak**: scaler fitted on all rows (solution.ipynb, cell 5, line 1)');
    expect(md).toContain('- **Leak**: scaler fitted on all rows (src/solution.py:12)');
    expect(md).not.toContain('#cell-');
  });

  it("the candidate's status page", () => {
    const checks: CandidateCheck[] = [{ title: 'Preprocessing', status: 'fail', summary: 's', explanation: 'e', evidence: [NB_EVIDENCE] }];
    const d = {
      invite: { candidateName: 'Ada' },
      token: 't',
      assessmentTitle: 'Churn',
      submission: { id: 's1', fileName: 'a.zip', archiveBytes: 10, createdAt: new Date() },
      info: phaseInfo({ status: 'completed', phase: 'done' }, null),
      checks,
      canUploadAgain: false,
    } as unknown as StatusPageData;
    const body = statusPage(d);
    expect(body).toContain('<span class="where">solution.ipynb, cell 5, line 1</span>');
    expect(body).not.toContain('cell-5');
  });
});
