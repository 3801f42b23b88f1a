import { describe, expect, it } from 'vitest';
import { NOTEBOOK_LIMITS, notebookLocation, parseNotebook } from '../../../services/web/notebook-document.ts';
import { codeHref } from '../../../services/web/pages/code-viewer-page.ts';
import { notebookView } from '../../../services/web/pages/notebook-view.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const notebook = (cells: unknown[]) => JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
const code = (source: string | string[], outputs: unknown[] = []) => ({ cell_type: 'code', source, metadata: {}, execution_count: 1, outputs });

function render(cells: unknown[], marks = new Map<string, Map<number, string[]>>()): string {
  const v = notebookView('solution.ipynb', notebook(cells), marks);
  if (!('view' in v)) throw new Error(v.problem);
  return v.view.value;
}

describe('notebook in the code viewer', () => {
  it('numbers cells from 1 counting markdown, lines within each cell, with anchors in the evidence format', () => {
    const marks = new Map([['solution.ipynb#cell-3', new Map([[2, ['Leak: scaler fitted before the split']]])]]);
    const out = render([{ cell_type: 'markdown', source: '# Title', metadata: {} }, code('import pandas as pd\n'), code(['x = 1\n', 'y = scaler.fit(X)\n', 'z = 3'])], marks);
    expect(out).toContain('id="cell-1"');
    expect(out).toContain('id="cell-2-L1"');
    expect(out).toMatch(/<tr id="cell-3-L2" class="marked" data-marked title="Leak: scaler fitted before the split">/);
    expect(out).toContain('id="cell-3-L3"');
    expect(out).not.toContain('id="cell-3-L4"');
    // Python's splitlines() breaks at a form feed too, as the harness counts.
    expect(render([code('a = 1\fb = 2\n')])).toContain('id="cell-1-L2"');
  });

  it('links evidence in a notebook to the cell line', () => {
    expect(notebookLocation('sub/solution.ipynb#cell-12')).toEqual({ file: 'sub/solution.ipynb', cell: 12 });
    expect(notebookLocation('solution.py')).toBeNull();
    expect(codeHref('abc', 'solution.ipynb#cell-3', 7)).toBe('/review/submissions/abc/code?file=solution.ipynb#cell-3-L7');
    expect(codeHref('abc', 'solution.ipynb#cell-3')).toBe('/review/submissions/abc/code?file=solution.ipynb#cell-3');
    expect(codeHref('abc', 'explore.py', 4)).toBe('/review/submissions/abc/code?file=explore.py#L4');
  });

  it('shows stored outputs inert: HTML and scripts as escaped source, raster images as data, no remote image', () => {
    const out = render([
      code('display(x)', [
        {
          output_type: 'display_data',
          metadata: {},
          data: { 'text/html': ['<script>alert(1)</script>', '<iframe src="https://evil.example/"></iframe>'], 'text/plain': '<IPython.core.display.HTML object>' },
        },
        { output_type: 'display_data', metadata: {}, data: { 'application/javascript': 'fetch("https://evil.example/x")', 'image/png': PNG } },
        { output_type: 'display_data', metadata: {}, data: { 'image/svg+xml': '<svg onload="alert(1)"></svg>', 'image/png': 'not base64 "><img src=x onerror=alert(1)>' } },
        { output_type: 'stream', name: 'stdout', text: ['<img src=x onerror="alert(2)">\n'] },
        { output_type: 'error', ename: 'ValueError', evalue: '\u001b[31mbad</pre><b>x</b>', traceback: ['\u001b[0;31m---\u001b[0m'] },
        { output_type: 'mystery' },
      ]),
      { cell_type: 'markdown', source: '<script>alert(3)</script> ![x](https://evil.example/p.png)', metadata: {} },
    ]);
    expect(out).not.toMatch(/<(script|iframe|svg|b)[\s>]/i);
    expect(out).not.toMatch(/<img(?![^>]*src="data:image\/png;base64,[A-Za-z0-9+/=]+")/);
    expect(out.match(/<img /g)).toHaveLength(1);
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('data-output-source="application/javascript"');
    expect(out).toContain('not valid base64, not shown');
    expect(out).toContain('ValueError: bad&lt;/pre&gt;&lt;b&gt;x&lt;/b&gt;');
    expect(out).not.toContain('\u001b');
    expect(out).toContain('an output of type mystery, not shown');
    expect(out).not.toContain('src="https://evil.example');
  });

  it('refuses a malformed notebook with a reason instead of failing', () => {
    expect(parseNotebook('{"cells": [')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(parseNotebook('{"worksheets": []}')).toEqual({ ok: false, reason: 'no list of cells (a Jupyter notebook, nbformat 4, was expected)' });
    expect(parseNotebook(notebook([{ cell_type: 'code', source: 42 }]))).toMatchObject({ ok: false, reason: expect.stringMatching(/^cell 1 is malformed \(source:/) });
    expect(parseNotebook(notebook(Array.from({ length: NOTEBOOK_LIMITS.maxCells + 1 }, () => code(''))))).toEqual({
      ok: false,
      reason: `cells: more than ${NOTEBOOK_LIMITS.maxCells} cells`,
    });
    expect(parseNotebook(notebook([code('x'.repeat(NOTEBOOK_LIMITS.maxCellChars + 1))]))).toEqual({ ok: false, reason: `cell 1 has more than ${NOTEBOOK_LIMITS.maxCellChars} characters` });
  });
});
