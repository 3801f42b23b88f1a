import { readArchiveFiles } from '../../archive/archive-reader.ts';
import type { ArchiveLimits } from '../../archive/archive-scanner.ts';
import { locateSolution } from '../../archive/solution-contract.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import { DIFF_LIMITS, diffSubmissions, type ComparedPair, type DiffSide } from '../code-diff.ts';

/** Archive clutter that is nobody's code: macOS resource forks, caches, checkpoints. */
const CLUTTER = /(^|\/)(__MACOSX|__pycache__|\.ipynb_checkpoints|\.git)\/|(^|\/)\._|(^|\/)\.DS_Store$/;

/**
 * A submission's files for the diff, read in memory through the upload scanner (never extracted,
 * never run), named relative to the folder holding the solution; null when the archive is not stored.
 */
export async function diffSides(blobs: BlobStore, limits: ArchiveLimits, sub: SubmissionRow): Promise<DiffSide[] | null> {
  if (!(await blobs.exists(sub.archiveSha256))) return null;
  const { scan, files } = await readArchiveFiles(blobs.pathOf(sub.archiveSha256), limits, { maxFileBytes: DIFF_LIMITS.maxFileBytes, want: (name) => !CLUTTER.test(name) });
  const solution = [locateSolution(scan.entries, 'solution.py'), locateSolution(scan.entries, 'solution.ipynb')].find((s) => s && 'path' in s);
  const path = solution && 'path' in solution ? solution.path : '';
  const root = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  return files
    .filter((f) => !CLUTTER.test(f.name))
    .map((f) => ({ name: f.name.startsWith(root) ? f.name.slice(root.length) : f.name, text: f.kind === 'text' ? f.text : null, size: f.size }));
}

/** The first submission against each of the others. */
export async function comparePairs(blobs: BlobStore, limits: ArchiveLimits, subs: SubmissionRow[]): Promise<ComparedPair[]> {
  const sides = await Promise.all(subs.map((s) => diffSides(blobs, limits, s)));
  return subs.slice(1).map((second, i) => {
    const a = sides[0];
    const b = sides[i + 1];
    return { first: subs[0]!, second, diff: a && b ? diffSubmissions(a, b) : null };
  });
}
