import { structuredPatch } from 'diff';
import type { SubmissionRow } from '../submissions/submission-repository.ts';
import { parseNotebook } from './notebook-document.ts';

/**
 * Line diffs between two submissions' shared files, for the compare page. jsdiff (the `diff`
 * package: the most used, kept-up Myers diff for JavaScript) finds the hunks; its edit-length cap
 * and timeout bound the work, so two unrelated or huge files are summarised instead of diffed.
 */
export const DIFF_LIMITS = {
  /** Files over this are summarised (also the read limit of the compare page). */
  maxFileBytes: 256 * 1024,
  /** Edits beyond this: "too different to show line by line". */
  maxEditLength: 1_500,
  /** Per file, and for all the files of one pair. */
  timeoutMs: 500,
  pairBudgetMs: 1_500,
  /** Diff rows shown per file; the rest is counted. */
  maxRows: 800,
  /** Shared files diffed per pair; the others are listed. */
  maxFiles: 40,
} as const;

export interface DiffRow {
  kind: 'ctx' | 'add' | 'del' | 'gap';
  /** Line numbers in the first and second file (1-based); null on the side the line is not in. */
  old: number | null;
  new: number | null;
  text: string;
}

export type FileDiff =
  | { name: string; status: 'same' }
  | { name: string; status: 'changed'; added: number; removed: number; rows: DiffRow[]; hiddenRows: number }
  | { name: string; status: 'summary'; reason: string };

export interface DiffSide {
  /** Path relative to the submission root (the solution's folder), so `ada/solution.py` meets `solution.py`. */
  name: string;
  /** Null: binary or over the read limit. */
  text: string | null;
  size: number;
}

/** What a line diff compares for a file: a notebook as its cells' sources under a cell header, anything else as text. */
export function diffText(name: string, text: string): string {
  const t = text.replace(/\r\n?/g, '\n');
  if (!/\.ipynb$/i.test(name)) return t;
  const nb = parseNotebook(t);
  if (!nb.ok) return t;
  return nb.cells.map((c) => `# ── cell ${c.number} (${c.type}) ──\n${c.source.replace(/\r\n?/g, '\n').replace(/\n?$/, '\n')}`).join('');
}

const lineCount = (s: string) => s.split('\n').length - (s.endsWith('\n') ? 1 : 0);

/** One shared file: identical, a bounded list of diff rows, or a one-line summary. */
export function diffFile(name: string, a: DiffSide, b: DiffSide, timeoutMs: number = DIFF_LIMITS.timeoutMs): FileDiff {
  if (a.text === null || b.text === null) {
    if (a.size === b.size && a.text === b.text) return { name, status: 'summary', reason: 'not text or too large to compare; same size' };
    return { name, status: 'summary', reason: `not text or over ${DIFF_LIMITS.maxFileBytes / 1024} KB (${a.size} vs ${b.size} bytes): not compared line by line` };
  }
  if (a.text === b.text) return { name, status: 'same' };
  const left = diffText(name, a.text);
  const right = diffText(name, b.text);
  if (left === right) return { name, status: 'same' };
  const patch = structuredPatch('a', 'b', left, right, undefined, undefined, { context: 3, maxEditLength: DIFF_LIMITS.maxEditLength, timeout: Math.max(1, timeoutMs) });
  if (!patch) return { name, status: 'summary', reason: `too different to show line by line in time (${lineCount(left)} vs ${lineCount(right)} lines)` };
  const rows: DiffRow[] = [];
  let added = 0;
  let removed = 0;
  for (const [h, hunk] of patch.hunks.entries()) {
    if (h > 0 || hunk.oldStart > 1 || hunk.newStart > 1)
      rows.push({ kind: 'gap', old: null, new: null, text: `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@` });
    let o = hunk.oldStart;
    let n = hunk.newStart;
    for (const line of hunk.lines) {
      const sign = line[0];
      const text = line.slice(1);
      if (sign === '-') {
        rows.push({ kind: 'del', old: o++, new: null, text });
        removed++;
      } else if (sign === '+') {
        rows.push({ kind: 'add', old: null, new: n++, text });
        added++;
      } else if (sign === ' ') rows.push({ kind: 'ctx', old: o++, new: n++, text });
      // '\' lines ("No newline at end of file") are jsdiff's notes, not content.
    }
  }
  return { name, status: 'changed', added, removed, rows: rows.slice(0, DIFF_LIMITS.maxRows), hiddenRows: Math.max(0, rows.length - DIFF_LIMITS.maxRows) };
}

export interface PairDiff {
  files: FileDiff[];
  /** Shared files beyond maxFiles: named, not diffed. */
  notDiffed: string[];
  onlyFirst: string[];
  onlySecond: string[];
}

/** Every file the two submissions share (by path under their root), diffed; the rest named. */
export function diffSubmissions(first: DiffSide[], second: DiffSide[]): PairDiff {
  const byName = new Map(second.map((s) => [s.name, s]));
  const firstNames = new Set(first.map((f) => f.name));
  const shared = first.filter((f) => byName.has(f.name)).sort((x, y) => x.name.localeCompare(y.name));
  const deadline = Date.now() + DIFF_LIMITS.pairBudgetMs;
  return {
    files: shared.slice(0, DIFF_LIMITS.maxFiles).map((f) => {
      const left = deadline - Date.now();
      if (left <= 0) return { name: f.name, status: 'summary', reason: 'not compared: the time for this pair’s diffs was spent on the files above' };
      return diffFile(f.name, f, byName.get(f.name)!, Math.min(DIFF_LIMITS.timeoutMs, left));
    }),
    notDiffed: shared.slice(DIFF_LIMITS.maxFiles).map((f) => f.name),
    onlyFirst: first.filter((f) => !byName.has(f.name)).map((f) => f.name),
    onlySecond: second.filter((s) => !firstNames.has(s.name)).map((s) => s.name),
  };
}

export interface ComparedPair {
  first: SubmissionRow;
  second: SubmissionRow;
  /** Null when either archive is not stored. */
  diff: PairDiff | null;
}
