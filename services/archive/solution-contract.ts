import { z } from 'zod';
import { ArchiveRejectedError } from '../errors.ts';
import type { ArchiveEntry } from './archive-scanner.ts';
import type { ArchiveFile } from './archive-reader.ts';
import type { SourceParser } from './python-parser.ts';

/** Folders the harness never looks into (docker/runner/harness/contract.py, SKIP_DIRS), besides hidden ones. */
export const SKIP_DIRS = new Set(['__pycache__', '__MACOSX', '.git', '.ipynb_checkpoints', 'venv', '.venv', 'env', 'node_modules', 'site-packages']);
const REQUIRED = ['train', 'predict'] as const;
/** solution.py (or .ipynb) larger than this is refused: no real pipeline is that long, and the parser reads it whole. */
export const SOLUTION_MAX_BYTES = 2 * 1024 * 1024;
function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** Which entries could be the solution: solution.py / solution.ipynb at the root or one folder down. */
export function isSolutionCandidate(name: string): boolean {
  const parts = name.split('/');
  return parts.length <= 2 && (parts.at(-1) === 'solution.py' || parts.at(-1) === 'solution.ipynb');
}

/** Where the harness would find `file` (contract.locate_solution), or why it would not. */
export function locateSolution(entries: readonly ArchiveEntry[], file: 'solution.py' | 'solution.ipynb'): { path: string } | { problem: string } | null {
  const names = new Set(entries.map((e) => e.name));
  if (names.has(file)) return { path: file };
  const folders = [...new Set(entries.filter((e) => e.name.includes('/')).map((e) => e.name.split('/')[0]!))].filter((f) => !f.startsWith('.') && !SKIP_DIRS.has(f));
  const hits = folders.filter((f) => names.has(`${f}/${file}`)).sort();
  if (hits.length === 1) return { path: `${hits[0]}/${file}` };
  if (hits.length > 1) return { problem: `${file} is in several top-level folders (${hits.map((h) => `${h}/`).join(', ')}): keep exactly one` };
  const nested = entries.map((e) => e.name).filter((n) => n.endsWith(`/${file}`) && !n.split('/').some((p) => p.startsWith('.') || SKIP_DIRS.has(p)));
  if (nested.length) return { problem: `${file} must be at the top of the archive or directly inside one folder; found ${nested.slice(0, 3).join(', ')}` };
  return null;
}

const notebookSchema = z
  .object({
    cells: z.array(z.object({ cell_type: z.string(), source: z.union([z.string(), z.array(z.string())]) }).passthrough()),
  })
  .passthrough();

// The harness's rules (docker/runner/harness/notebook.py): a line magic or shell escape, also as the
// value of an assignment (`files = !ls`), becomes `pass` at its indentation; a cell magic (`%%bash`)
// blanks its whole cell.
const MAGIC = /^\s*(%%?|!)/;
const ASSIGN_ESCAPE = /^\s*[A-Za-z_][A-Za-z0-9_.]*\s*=\s*[%!](?!=)/;
/** Cell magics whose body IPython runs as Python: only their first line goes. */
const PYTHON_BODY_MAGIC = /^\s*%%(time|timeit|capture|prun)\b/;

/** The code cells of a notebook as one module, built as the harness builds it, and where each of its lines is in the notebook. */
function notebookSource(text: string): { source: string; where: (line: number) => string } | null {
  const nb = notebookSchema.safeParse(safeJson(text));
  if (!nb.success) return null;
  const out: string[] = [];
  const at: (string | null)[] = [];
  nb.data.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    const src = (Array.isArray(c.source) ? c.source.join('') : c.source).replace(/\r\n?/g, '\n');
    const lines = src.split('\n');
    if (src.endsWith('\n')) lines.pop();
    const cellMagic = lines[0]?.trimStart().startsWith('%%') ?? false;
    const pythonBody = cellMagic && PYTHON_BODY_MAGIC.test(lines[0]!);
    lines.forEach((l, m) => {
      out.push(cellMagic && (m === 0 || !pythonBody) ? '' : MAGIC.test(l) || ASSIGN_ESCAPE.test(l) ? `${l.slice(0, l.length - l.trimStart().length)}pass` : l);
      at.push(`cell ${i + 1}, line ${m + 1}`); // cells counted from 1, markdown included, as notebook.py does
    });
    // A blank line between cells keeps one cell's unfinished block from swallowing the next.
    out.push('');
    at.push(null);
  });
  return { source: `${out.join('\n')}\n`, where: (line) => at[line - 1] ?? `line ${line} of the joined code cells` };
}

/**
 * Refuses, before anything is stored, an archive the harness could not grade: no solution.py (or a
 * notebook named solution.ipynb whose code cells parse) where the contract says, a file that does
 * not parse as Python, or no top-level train / predict. Throws ArchiveRejectedError with the reason.
 */
export async function checkSolution(entries: readonly ArchiveEntry[], files: readonly ArchiveFile[], parser: SourceParser): Promise<void> {
  const py = locateSolution(entries, 'solution.py');
  const nb = py && 'path' in py ? null : locateSolution(entries, 'solution.ipynb');
  const found = py && 'path' in py ? py : nb && 'path' in nb ? nb : null;
  if (!found) {
    const problem = (py && 'problem' in py ? py.problem : null) ?? (nb && 'problem' in nb ? nb.problem : null);
    throw new ArchiveRejectedError(null, problem ?? 'there is no solution.py at the top of the archive or directly inside one folder');
  }
  const file = files.find((f) => f.name === found.path);
  if (!file || file.size > SOLUTION_MAX_BYTES) throw new ArchiveRejectedError(found.path, `larger than ${SOLUTION_MAX_BYTES / 1024 / 1024} MB`);
  if (file.text === null) throw new ArchiveRejectedError(found.path, 'not a UTF-8 text file');
  const built = found.path.endsWith('.ipynb') ? notebookSource(file.text) : null;
  if (found.path.endsWith('.ipynb') && built === null) throw new ArchiveRejectedError(found.path, 'not a Jupyter notebook (JSON with a list of cells)');
  const parsed = await parser.parse(built ? built.source : file.text);
  if (!parsed.ok)
    throw new ArchiveRejectedError(found.path, `does not parse as Python${parsed.line ? ` (${built ? built.where(parsed.line) : `line ${parsed.line}`})` : ''}: ${parsed.message}`);
  if (parsed.star) return; // `from x import *` may bind them; the harness will tell
  const missing = REQUIRED.filter((n) => !parsed.names.includes(n));
  if (missing.length) throw new ArchiveRejectedError(found.path, `defines no top-level ${missing.map((m) => `${m}()`).join(' or ')} (a def, an import or an assignment at module level)`);
}
