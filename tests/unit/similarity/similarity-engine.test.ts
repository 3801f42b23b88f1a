import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SimilarityEngine } from '../../../services/similarity/similarity-engine.ts';
import { comparedSource, locateRow, starterCode } from '../../../services/similarity/similarity-source.ts';

// Real texts: the exemplary churn solution, a lightly disguised copy of it, two solutions of the
// contract written independently (both start from the helpers the fixture brief gives).
const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/similarity');
// original.py: the exemplary churn solution, whose renamed-copy.py is a disguised copy.
const ORIGINAL = path.resolve(FIXTURES, '../submissions/churn/exemplary/solution.py');
const read = (name: string) => fs.readFileSync(name === 'original.py' ? ORIGINAL : path.join(FIXTURES, name), 'utf8');

let engine: SimilarityEngine;
const starter = starterCode(read('brief.md'));
const score = (a: string, b: string, given = starter) => engine.compare({ id: a, text: read(a) }, [{ id: b, text: read(b) }], given)[0]!;

beforeAll(async () => {
  engine = await SimilarityEngine.create();
});

describe('similarity of real submissions (Dolos)', () => {
  it('the brief gives two starter blocks: the contract and the helpers', () => {
    expect(starter).toHaveLength(2);
    expect(starter[1]).toContain('def read_export');
  });

  it('a copy with renamed variables, reordered functions and changed comments scores above 0.8', () => {
    const copy = read('renamed-copy.py');
    expect(copy).not.toContain('_training_frame');
    const pair = score('renamed-copy.py', 'original.py');
    expect(pair.similarity).toBeGreaterThan(0.8);
    expect(pair.fragments.length).toBeGreaterThan(0);
  });

  it('stored token streams (parsed once, when indexed) give the same pairs as parsing again', () => {
    const copy = { id: 'copy', text: read('renamed-copy.py') };
    const original = { id: 'original', text: read('original.py') };
    const parsed = engine.compare(copy, [original], starter)[0]!;
    const stored = engine.compare({ ...copy, tokens: engine.index(copy.text).tokens }, [{ ...original, tokens: engine.index(original.text).tokens }], starter)[0]!;
    expect(stored).toEqual(parsed);
    expect(engine.index(original.text).fingerprints.length).toBeGreaterThan(50);
  });

  it('two independent solutions score below 0.3 with the starter code left out, and higher with it', () => {
    const excluded = score('independent-a.py', 'independent-b.py');
    const included = score('independent-a.py', 'independent-b.py', []);
    expect(excluded.similarity).toBeLessThan(0.3);
    expect(included.similarity).toBeGreaterThan(excluded.similarity + 0.1);
  });
});

describe('the compared text of a submission', () => {
  const notebook = JSON.stringify({
    cells: [
      { cell_type: 'markdown', source: ['# Churn\n', 'notes'] },
      { cell_type: 'code', source: ['%matplotlib inline\n', 'import pandas as pd\n'] },
      { cell_type: 'code', source: 'def train(p):\n    return pd.read_csv(p)\n' },
    ],
  });

  it("takes .py files and notebooks' code cells in name order, magics as comments, and maps lines back to files", () => {
    const src = comparedSource([
      { name: 'work/solution.ipynb', text: notebook },
      { name: 'helpers.py', text: 'X = 1\r\nY = 2' },
      { name: 'NOTES.md', text: '# not code' },
      { name: '__MACOSX/._helpers.py', text: 'junk' },
      { name: 'data.py', text: null },
    ]);
    expect(src.text).toBe('X = 1\nY = 2\n#%matplotlib inline\nimport pandas as pd\n\ndef train(p):\n    return pd.read_csv(p)\n');
    expect(src.parts).toEqual([
      { name: 'helpers.py', startRow: 0, rows: 2 },
      { name: 'work/solution.ipynb', startRow: 2, rows: 5 },
    ]);
    expect(locateRow(src.parts, 3)).toEqual({ name: 'work/solution.ipynb', line: 2 });
    expect(locateRow(src.parts, 7)).toBeNull();
  });

  it('a file named .ipynb that is not a notebook contributes nothing', () => {
    expect(comparedSource([{ name: 'a.ipynb', text: '{"cells": 3}' }]).parts).toEqual([]);
  });

  it('the same code as a notebook and as a .py file scores above 0.8', () => {
    const py = read('original.py');
    const cells = py.split(/\n(?=def )/).map((code) => ({ cell_type: 'code', source: code }));
    const nb = comparedSource([{ name: 'solution.ipynb', text: JSON.stringify({ cells }) }]);
    const [pair] = engine.compare({ id: 'nb', text: nb.text }, [{ id: 'py', text: py }], starter);
    expect(pair!.similarity).toBeGreaterThan(0.8);
  });
});
