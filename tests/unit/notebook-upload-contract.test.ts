import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSolution } from '../../services/archive/solution-contract.ts';
import { PythonParser } from '../../services/archive/python-parser.ts';
import { ArchiveRejectedError } from '../../services/errors.ts';

/**
 * The upload-time contract check on notebooks (issue 14): which broken notebooks are refused before
 * anything is stored, with the reason in cell terms, and which go on to be graded (the harness's
 * stricter nbformat validation then says why it did not run: tests/integration/churn-notebooks.test.ts).
 * The check parses the code cells with the host's Python (ast.parse only, never run).
 */
const DIR = path.resolve(import.meta.dirname, '../fixtures/submissions/churn-notebooks');
const parser = new PythonParser({ processes: 1, timeoutMs: 5_000, maxRequestsPerProcess: 100 });
afterAll(() => parser.close());

async function upload(name: string): Promise<ArchiveRejectedError | null> {
  const text = fs.readFileSync(path.join(DIR, name, 'solution.ipynb'), 'utf8');
  const size = Buffer.byteLength(text);
  try {
    await checkSolution([{ name: 'solution.ipynb', size }], [{ name: 'solution.ipynb', size, kind: 'text', text }], parser);
    return null;
  } catch (err) {
    if (err instanceof ArchiveRejectedError) return err;
    throw err;
  }
}

describe('notebooks at upload', () => {
  it('a syntax error in one cell is refused, naming the cell and the line in it', async () => {
    const err = await upload('syntax-error-notebook');
    expect(err?.entry).toBe('solution.ipynb');
    expect(err?.reason).toBe("does not parse as Python (cell 15, line 1): expected ':'");
  });

  it('a notebook cut off mid-file (not JSON) is refused as not a notebook', async () => {
    const err = await upload('malformed-notebook');
    expect(err?.reason).toBe('not a Jupyter notebook (JSON with a list of cells)');
  });

  it('JSON with code cells that nbformat would not accept passes here: the harness refuses it when grading', async () => {
    expect(await upload('invalid-notebook')).toBeNull();
  });

  it('magics and shell escapes are dropped as the harness drops them: a notebook full of them is accepted', async () => {
    // `files = !ls`, a %%bash cell of shell commands and `!cmd` inside a function body are not
    // Python; blanking only lines that start with % or ! refused this notebook.
    const text = fs.readFileSync(path.join(DIR, 'leak-target-notebook', 'solution.ipynb'), 'utf8');
    expect(text).toContain('files = !ls -la');
    expect(text).toContain('%%bash');
    expect(await upload('leak-target-notebook')).toBeNull();
  });

  it('a contract function defined in a %%time cell counts (IPython runs its body), one in a %%bash cell does not', async () => {
    const nb = (magic: string) => {
      const cell = (source: string) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
      const text = JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [cell(`${magic}\ndef train(csv):\n    return 1`), cell('def predict(model, csv):\n    return [0]')],
      });
      return checkSolution([{ name: 'solution.ipynb', size: text.length }], [{ name: 'solution.ipynb', size: text.length, kind: 'text', text }], parser);
    };
    await expect(nb('%%time')).resolves.toBeUndefined();
    await expect(nb('%%bash')).rejects.toThrow('defines no top-level train()');
  });

  it.each(['leak-preprocessing-notebook', 'cv-unstratified-notebook'])('the twin %s is accepted', async (name) => {
    expect(await upload(name)).toBeNull();
  });
});
