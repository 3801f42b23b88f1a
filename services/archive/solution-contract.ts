import { spawn } from 'node:child_process';
import { z } from 'zod';
import { ArchiveRejectedError } from '../errors.ts';
import type { ArchiveEntry } from './archive-scanner.ts';
import type { ArchiveFile } from './archive-reader.ts';

/** Folders the harness never looks into for solution.py (docker/runner/harness/contract.py, SKIP_DIRS). */
const SKIP_DIRS = new Set(['__pycache__', '__MACOSX', '.git', '.ipynb_checkpoints', 'venv', '.venv', 'env', 'node_modules', 'site-packages']);
const REQUIRED = ['train', 'predict'] as const;
/** solution.py (or .ipynb) larger than this is refused: no real pipeline is that long, and the parser reads it whole. */
export const SOLUTION_MAX_BYTES = 2 * 1024 * 1024;
const PARSE_TIMEOUT_MS = 5_000;
const PYTHON = '/usr/bin/python3';

/**
 * Lists the names a module binds at its top level (def, class, assignment, import, also inside
 * top-level if/try/with blocks) without running it: ast.parse only builds the syntax tree. The
 * source comes on stdin; the answer is one JSON line.
 */
const PARSE_SCRIPT = `
import ast, json, sys
def out(d):
    sys.stdout.write(json.dumps(d)); sys.exit(0)
try:
    tree = ast.parse(sys.stdin.buffer.read(), filename="solution.py")
except SyntaxError as e:
    out({"ok": False, "line": e.lineno, "message": str(e.msg)[:300]})
except (ValueError, RecursionError, MemoryError) as e:
    out({"ok": False, "line": None, "message": (type(e).__name__ + ": " + str(e))[:300]})
names, star = set(), False
def targets(t):
    if isinstance(t, ast.Name): names.add(t.id)
    elif isinstance(t, (ast.Tuple, ast.List)):
        for e in t.elts: targets(e)
def walk(body):
    global star
    for n in body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name)
        elif isinstance(n, ast.Assign):
            for t in n.targets: targets(t)
        elif isinstance(n, (ast.AnnAssign, ast.AugAssign)): targets(n.target)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                if a.name == "*": star = True
                else: names.add(a.asname or a.name.split(".")[0])
        elif isinstance(n, ast.If): walk(n.body); walk(n.orelse)
        elif isinstance(n, (ast.With, ast.AsyncWith)): walk(n.body)
        elif isinstance(n, ast.Try):
            walk(n.body); walk(n.orelse); walk(n.finalbody)
            for h in n.handlers: walk(h.body)
walk(tree.body)
out({"ok": True, "names": sorted(names), "star": star})
`;

const parseAnswer = z.union([
  z.object({ ok: z.literal(true), names: z.array(z.string()), star: z.boolean() }),
  z.object({ ok: z.literal(false), line: z.number().int().nullable(), message: z.string() }),
]);
export type PythonParse = z.infer<typeof parseAnswer>;

/** Parses Python source with the host's interpreter in isolated mode, bounded in time; never imports or runs it. */
export function parsePython(source: string): Promise<PythonParse> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-I', '-S', '-c', PARSE_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: {}, timeout: PARSE_TIMEOUT_MS, killSignal: 'SIGKILL' });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(0, 1_000_000)));
    child.stderr.resume();
    child.stdin.on('error', () => {}); // a parser that died early; its exit says why
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal) return resolve({ ok: false, line: null, message: `parsing took longer than ${PARSE_TIMEOUT_MS / 1000} s` });
      const parsed = parseAnswer.safeParse(safeJson(out));
      if (code !== 0 || !parsed.success) return reject(new Error(`python parser failed (exit ${code})`));
      resolve(parsed.data);
    });
    child.stdin.end(source);
  });
}

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
export async function checkSolution(entries: readonly ArchiveEntry[], files: readonly ArchiveFile[]): Promise<void> {
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
  const parsed = await parsePython(built ? built.source : file.text);
  if (!parsed.ok)
    throw new ArchiveRejectedError(found.path, `does not parse as Python${parsed.line ? ` (${built ? built.where(parsed.line) : `line ${parsed.line}`})` : ''}: ${parsed.message}`);
  if (parsed.star) return; // `from x import *` may bind them; the harness will tell
  const missing = REQUIRED.filter((n) => !parsed.names.includes(n));
  if (missing.length) throw new ArchiveRejectedError(found.path, `defines no top-level ${missing.map((m) => `${m}()`).join(' or ')} (a def, an import or an assignment at module level)`);
}
