import { z } from 'zod';

/** Where one source file sits in the compared text (0-based first line, line count). */
export interface SourcePart {
  name: string;
  startRow: number;
  rows: number;
}

/** What a submission is compared by: its Python files and notebooks' code cells, as one text. */
export interface ComparedSource {
  text: string;
  parts: SourcePart[];
}

export const sourcePartsSchema = z.array(z.object({ name: z.string(), startRow: z.number().int().min(0), rows: z.number().int().min(0) }));

const notebookSchema = z.object({
  cells: z.array(z.object({ cell_type: z.string(), source: z.union([z.string(), z.array(z.string())]) }).passthrough()),
});

/** Files compared: Python modules and notebooks, outside macOS resource forks and caches. */
export function isComparedFile(name: string): boolean {
  if (/(^|\/)(__MACOSX|__pycache__|\.ipynb_checkpoints)\//.test(name) || /(^|\/)\._/.test(name)) return false;
  return /\.(py|ipynb)$/i.test(name);
}

/** A notebook's code cells joined, one blank line apart; a document that is not a notebook gives null. */
export function notebookCode(json: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return null;
  }
  const nb = notebookSchema.safeParse(doc);
  if (!nb.success) return null;
  return (
    nb.data.cells
      .filter((c) => c.cell_type === 'code')
      .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source).replace(/\s+$/, ''))
      // IPython magics and shell lines are not Python: kept as comments so lines still line up.
      .map((cell) => cell.replace(/^(\s*)([%!])/gm, '$1#$2'))
      .join('\n\n')
  );
}

/**
 * The compared text of a submission from its files (read as text, never run): `.py` files as they
 * are and notebooks as their code cells, in name order, each ending with a line break.
 */
export function comparedSource(files: { name: string; text: string | null }[]): ComparedSource {
  const parts: SourcePart[] = [];
  let text = '';
  let row = 0;
  for (const f of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    if (f.text === null || !isComparedFile(f.name)) continue;
    const body = /\.ipynb$/i.test(f.name) ? notebookCode(f.text) : f.text.replace(/\r\n?/g, '\n');
    if (body === null || body.trim() === '') continue;
    const chunk = body.endsWith('\n') ? body : `${body}\n`;
    const rows = chunk.split('\n').length - 1;
    parts.push({ name: f.name, startRow: row, rows });
    text += chunk;
    row += rows;
  }
  return { text, parts };
}

/** The part a 0-based line of the compared text belongs to, and the line within it (1-based). */
export function locateRow(parts: SourcePart[], row: number): { name: string; line: number } | null {
  const part = parts.find((p) => row >= p.startRow && row < p.startRow + p.rows);
  return part ? { name: part.name, line: row - part.startRow + 1 } : null;
}

const FENCE = /^(```+|~~~+)[ \t]*(python|py|python3|ipython)?[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm;

/** Starter code: the Python code blocks of a brief (the contract's signatures and any given code). */
export function starterCode(briefMarkdown: string): string[] {
  const blocks: string[] = [];
  for (const m of briefMarkdown.matchAll(FENCE)) if (m[2] && m[3]!.trim()) blocks.push(m[3]!);
  return blocks;
}
