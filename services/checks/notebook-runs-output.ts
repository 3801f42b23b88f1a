import { z } from 'zod';

/**
 * What `run.py notebooks` (docker/runner/harness/notebook_runs.py) writes to /out/notebooks.json:
 * the exploratory notebooks executed top to bottom. Produced next to candidate code, so parsed as
 * untrusted input like the rest of the harness output (harness-output.ts).
 */

const short = z.string().max(2000);

export const notebookRunSchema = z.object({
  /** The notebook's path in the submission. */
  path: z.string().max(1000),
  /** ok: ran clean; error: a cell raised (or the kernel died); timeout: a cell or the whole notebook ran out of time; unreadable: nbformat refused it; not_run: the time for all notebooks was used up. */
  status: z.enum(['ok', 'error', 'timeout', 'unreadable', 'not_run']),
  cells: z.number().int().nonnegative().nullable(),
  codeCells: z.number().int().nonnegative().nullable(),
  /** The cell that failed or was running when time ran out, counted from 1 with markdown cells (notebook.py). */
  cell: z.number().int().positive().nullable(),
  errorName: z.string().max(200).nullable(),
  errorValue: short.nullable(),
  /** The result in words (null when it ran clean). */
  error: short.nullable(),
  durationMs: z.number().nonnegative(),
  kernelStartMs: z.number().nonnegative().nullable(),
});

export const notebooksResultSchema = z.object({
  harnessVersion: z.string().max(32),
  mode: z.literal('notebooks'),
  solutionPath: z.string().max(1000).nullable(),
  notebooks: z.array(notebookRunSchema).max(20),
  /** Exploratory notebooks beyond the harness's cap, not run. */
  notRun: z.array(z.string().max(1000)).max(100),
  limits: z.object({ cellSeconds: z.number(), notebookSeconds: z.number(), totalSeconds: z.number(), maxNotebooks: z.number().int() }).nullable(),
  /** A harness failure (run.py's fallback document). */
  error: z.string().max(200_000).optional(),
});

export type NotebookRun = z.infer<typeof notebookRunSchema>;
export type NotebooksResult = z.infer<typeof notebooksResultSchema>;
