import { describe, expect, it } from 'vitest';
import { lintSection } from '../../../services/web/pages/report-page.ts';

const finding = (file: string, exploratory?: boolean) => ({
  rule: 'stat-before-split',
  file,
  line: 2,
  message: 'mean of all rows <script>',
  code: 'df.fillna(df.mean())',
  ...(exploratory === undefined ? {} : { exploratory }),
});

describe("the report's lint list", () => {
  it('marks findings in exploratory work and leaves the graded code unmarked', () => {
    const out = String(lintSection([finding('solution.ipynb#cell-4'), finding('eda.ipynb#cell-3', true), finding('old.py', false)], 'sub-1'));
    const items = out.split('<li').slice(1);
    expect(items).toHaveLength(3);
    expect(items[0]).not.toContain('exploratory');
    expect(items[1]).toContain(' data-exploratory="true"><span class="label">stat-before-split</span> <span class="muted">in exploratory work</span>');
    // Read as a person says it; the link keeps the code viewer's anchor.
    expect(items[1]).toContain('href="/review/submissions/sub-1/code?file=eda.ipynb#cell-3-L2">eda.ipynb, cell 3, line 2</a>');
    expect(items[2]).toContain('>old.py:2</a>');
    expect(items[2]).not.toContain('exploratory');
    expect(out).not.toContain('<script>'); // candidate text stays inert
  });

  it('is left out when there are no findings', () => {
    expect(lintSection([], 'sub-1')).toBe('');
  });
});
