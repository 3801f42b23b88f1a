import { describe, expect, it } from 'vitest';
import { DIFF_LIMITS, diffFile, diffSubmissions, diffText } from '../../../services/web/code-diff.ts';
import { codeDiffSection } from '../../../services/web/pages/compare-code.ts';
import type { SubmissionRow } from '../../../services/submissions/submission-repository.ts';

const side = (name: string, text: string | null, size = text?.length ?? 0) => ({ name, text, size });

describe('code diff for the compare page', () => {
  it('gives line numbers on both sides for changed, added and removed lines', () => {
    const a = 'a = 1\nb = 2\nc = 3\nd = 4\n';
    const b = 'a = 1\nb = 20\nc = 3\nd = 4\ne = 5\n';
    const d = diffFile('solution.py', side('solution.py', a), side('solution.py', b));
    expect(d.status).toBe('changed');
    if (d.status !== 'changed') return;
    expect({ added: d.added, removed: d.removed }).toEqual({ added: 2, removed: 1 });
    expect(d.rows.filter((r) => r.kind !== 'ctx')).toEqual([
      { kind: 'del', old: 2, new: null, text: 'b = 2' },
      { kind: 'add', old: null, new: 2, text: 'b = 20' },
      { kind: 'add', old: null, new: 5, text: 'e = 5' },
    ]);
  });

  it('summarises what it cannot show: identical, not text, too different, too many rows', () => {
    expect(diffFile('x.py', side('x.py', 'same\n'), side('x.py', 'same\n')).status).toBe('same');
    expect(diffFile('m.pkl', side('m.pkl', null, 10), side('m.pkl', null, 12))).toMatchObject({ status: 'summary', reason: expect.stringContaining('not compared line by line') });
    const lines = (seed: string, n: number) => Array.from({ length: n }, (_, i) => `${seed}${i}`).join('\n');
    expect(diffFile('x.py', side('x.py', lines('a', 3000)), side('x.py', lines('b', 3000)))).toMatchObject({
      status: 'summary',
      reason: 'too different to show line by line in time (3000 vs 3000 lines)',
    });
    const every = (n: number, k: number) => Array.from({ length: n }, (_, i) => (i % k === 0 ? `changed ${i}` : `line ${i}`)).join('\n');
    const many = diffFile('x.py', side('x.py', every(1500, 1e9)), side('x.py', every(1500, 10)), 10_000);
    expect(many.status).toBe('changed');
    if (many.status === 'changed') {
      expect(many.rows).toHaveLength(DIFF_LIMITS.maxRows);
      expect(many.hiddenRows).toBeGreaterThan(0);
    }
  });

  it('compares notebooks by their cells and pairs files by name', () => {
    const nb = (src: string) => JSON.stringify({ cells: [{ cell_type: 'code', source: src, outputs: [{ output_type: 'stream', name: 'stdout', text: String(Math.random()) }] }] });
    expect(diffText('n.ipynb', nb('x = 1'))).toBe('# ── cell 1 (code) ──\nx = 1\n');
    // Outputs differ, sources do not: the same code.
    expect(diffFile('n.ipynb', side('n.ipynb', nb('x = 1')), side('n.ipynb', nb('x = 1'))).status).toBe('same');
    const pair = diffSubmissions([side('solution.py', 'a\n'), side('NOTES.md', 'n\n')], [side('solution.py', 'b\n'), side('extra.py', 'e\n')]);
    expect(pair.files.map((f) => [f.name, f.status])).toEqual([['solution.py', 'changed']]);
    expect(pair).toMatchObject({ onlyFirst: ['NOTES.md'], onlySecond: ['extra.py'], notDiffed: [] });
  });

  it('renders candidate text escaped', () => {
    const sub = (id: string, candidate: string) => ({ id, candidate }) as SubmissionRow;
    const pair = diffSubmissions([side('<b>.py', 'x = "</script><script>alert(1)</script>"\n')], [side('<b>.py', 'x = "<img src=x onerror=alert(1)>"\n')]);
    const out = codeDiffSection([{ first: sub('1', '<i>Ada</i>'), second: sub('2', 'Bo'), diff: pair }]).value;
    expect(out).not.toMatch(/<(script|img|b|i)[\s>]/);
    expect(out).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;i&gt;Ada&lt;/i&gt;');
  });
});
