import { z } from 'zod';

/**
 * A submitted `.ipynb` read for display: untrusted JSON parsed with zod, within limits, never run.
 * Cells are numbered from 1 counting every cell (markdown included) and lines from 1 within a cell,
 * as the harness does (docker/runner/harness/notebook.py), so evidence at `solution.ipynb#cell-N`
 * line M finds its line here.
 */

/** The harness's own limits: a notebook it would refuse is not rendered either. */
export const NOTEBOOK_LIMITS = { maxBytes: 5_000_000, maxCells: 2_000, maxCellChars: 200_000 } as const;

const multiline = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v.join('') : v));

const outputSchema = z.discriminatedUnion('output_type', [
  z.object({ output_type: z.literal('stream'), name: z.string().catch('stdout'), text: multiline.catch('') }),
  z.object({ output_type: z.literal('error'), ename: z.string().catch(''), evalue: z.string().catch(''), traceback: z.array(z.string()).catch([]) }),
  z.object({ output_type: z.enum(['execute_result', 'display_data', 'update_display_data']), data: z.record(z.string(), z.unknown()).catch({}) }),
]);

const cellSchema = z.object({
  cell_type: z.string(),
  source: multiline,
  execution_count: z.number().int().nullable().optional().catch(null),
  // An output of a kind nbformat does not know is kept as its type alone, so one odd output does not hide the notebook.
  outputs: z.array(z.unknown()).optional(),
});

const notebookSchema = z.object({ cells: z.array(z.unknown()).max(NOTEBOOK_LIMITS.maxCells, `more than ${NOTEBOOK_LIMITS.maxCells} cells`) });

export type NotebookOutput =
  | { kind: 'text'; stream: string; text: string }
  | { kind: 'error'; name: string; value: string; traceback: string }
  /** A display bundle: each media type with its payload as a string (base64 for images), or null when it is not text. */
  | { kind: 'data'; items: { mime: string; data: string | null }[] }
  | { kind: 'unknown'; type: string };

export interface NotebookCell {
  /** 1-based, counting every cell. */
  number: number;
  type: 'code' | 'markdown' | 'raw' | 'other';
  source: string;
  executionCount: number | null;
  outputs: NotebookOutput[];
}

export type NotebookParse = { ok: true; cells: NotebookCell[] } | { ok: false; reason: string };

// ANSI colour codes: IPython tracebacks are full of them.
// eslint-disable-next-line no-control-regex -- the escape character is what this matches
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
const stripAnsi = (s: string) => s.replace(ANSI, '');

function output(raw: unknown): NotebookOutput {
  const parsed = outputSchema.safeParse(raw);
  if (!parsed.success) {
    const type = z.object({ output_type: z.string() }).safeParse(raw);
    return { kind: 'unknown', type: type.success ? type.data.output_type.slice(0, 80) : 'malformed' };
  }
  const o = parsed.data;
  if (o.output_type === 'stream') return { kind: 'text', stream: o.name, text: stripAnsi(o.text) };
  if (o.output_type === 'error') return { kind: 'error', name: o.ename, value: stripAnsi(o.evalue), traceback: stripAnsi(o.traceback.join('\n')) };
  return { kind: 'data', items: Object.entries(o.data).map(([mime, v]) => ({ mime: mime.slice(0, 100), data: multiline.safeParse(v).data ?? null })) };
}

const CELL_TYPES = new Set(['code', 'markdown', 'raw']);

/** The notebook's cells, or the reason it cannot be shown as a notebook (for the reviewer, in plain words). */
export function parseNotebook(text: string): NotebookParse {
  if (text.length > NOTEBOOK_LIMITS.maxBytes) return { ok: false, reason: `larger than ${NOTEBOOK_LIMITS.maxBytes / 1_000_000} MB` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message.slice(0, 200)})` };
  }
  const nb = notebookSchema.safeParse(json);
  if (!nb.success)
    return { ok: false, reason: nb.error.issues[0]!.code === 'too_big' ? `cells: ${nb.error.issues[0]!.message}` : 'no list of cells (a Jupyter notebook, nbformat 4, was expected)' };
  const cells: NotebookCell[] = [];
  for (const [i, raw] of nb.data.cells.entries()) {
    const number = i + 1;
    const cell = cellSchema.safeParse(raw);
    if (!cell.success) return { ok: false, reason: `cell ${number} is malformed (${cell.error.issues[0]!.path.join('.') || 'cell'}: ${cell.error.issues[0]!.message})` };
    const c = cell.data;
    if (c.source.length > NOTEBOOK_LIMITS.maxCellChars) return { ok: false, reason: `cell ${number} has more than ${NOTEBOOK_LIMITS.maxCellChars} characters` };
    const type = CELL_TYPES.has(c.cell_type) ? (c.cell_type as NotebookCell['type']) : 'other';
    cells.push({ number, type, source: c.source, executionCount: c.execution_count ?? null, outputs: type === 'code' ? (c.outputs ?? []).map(output) : [] });
  }
  return { ok: true, cells };
}

// Where a report location points in a notebook: parsed in one place with its human-readable form.
export { notebookLocation } from '../checks/evidence-location.ts';
