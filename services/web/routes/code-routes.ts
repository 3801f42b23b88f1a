import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { readArchiveFiles, type ArchiveFile } from '../../archive/archive-reader.ts';
import { isSolutionCandidate, locateSolution } from '../../archive/solution-contract.ts';
import type { Config } from '../../config.ts';
import { NotFoundError } from '../../errors.ts';
import type { ReportRepository } from '../../reports/report-repository.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import type { SubmissionRepository, SubmissionRow } from '../../submissions/submission-repository.ts';
import { sendHtml, type ReviewerNav } from '../layout.ts';
import { codeHref, codeViewerPage, evidenceMarks } from '../pages/code-viewer-page.ts';

export interface CodeRoutesDeps {
  config: Pick<Config, 'CODE_VIEWER_MAX_FILE_BYTES' | 'UPLOAD_MAX_ENTRIES' | 'UPLOAD_MAX_UNCOMPRESSED_BYTES' | 'UPLOAD_MAX_RATIO'>;
  blobs: BlobStore;
  reports: ReportRepository;
  submissions: SubmissionRepository;
}

/** What the reviewer routes already decide: who is signed in, and which submissions they may see. */
export interface ReviewerGuard {
  requireSession(req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  visibleSubmission(req: FastifyRequest, sub: SubmissionRow | null): SubmissionRow;
  nav(req: FastifyRequest): ReviewerNav;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const codeQuery = z.object({ file: z.string().min(1).max(500).optional().catch(undefined) });
const MEDIA_TYPE: Record<SubmissionRow['archiveFormat'], string> = { zip: 'application/zip', 'tar.gz': 'application/gzip' };
const EXTENSIONS: Record<SubmissionRow['archiveFormat'], RegExp> = { zip: /\.zip$/i, 'tar.gz': /\.(tar\.gz|tgz)$/i };

/** The uploaded name as a download name: plain ASCII for the fallback, the archive's real extension. */
export function archiveDownloadName(sub: Pick<SubmissionRow, 'fileName' | 'archiveFormat' | 'id'>): { ascii: string; utf8: string } {
  const ext = sub.archiveFormat === 'zip' ? '.zip' : '.tar.gz';
  const base = EXTENSIONS[sub.archiveFormat].test(sub.fileName) ? sub.fileName : `submission-${sub.id.slice(0, 8)}${ext}`;
  const ascii = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || `submission${ext}`;
  return { ascii, utf8: base };
}

/**
 * Reviewer-only: the code viewer (the stored archive read in memory through the upload scanner;
 * never extracted, never run) and the archive download. Candidate pages have neither.
 */
export async function codeRoutes(app: FastifyInstance, ctx: CodeRoutesDeps, guard: ReviewerGuard) {
  const limits = { maxEntries: ctx.config.UPLOAD_MAX_ENTRIES, maxUncompressedBytes: ctx.config.UPLOAD_MAX_UNCOMPRESSED_BYTES, maxRatio: ctx.config.UPLOAD_MAX_RATIO };

  async function storedArchive(req: FastifyRequest<{ Params: { id: string } }>): Promise<{ sub: SubmissionRow; path: string }> {
    const sub = guard.visibleSubmission(req, UUID.test(req.params.id) ? await ctx.submissions.getSubmission(req.params.id) : null);
    if (!(await ctx.blobs.exists(sub.archiveSha256))) throw new NotFoundError('the stored archive of this submission');
    return { sub, path: ctx.blobs.pathOf(sub.archiveSha256) };
  }

  app.get<{ Params: { id: string } }>('/review/submissions/:id/code', { preHandler: guard.requireSession }, async (req, reply: FastifyReply) => {
    const { file } = codeQuery.parse(req.query ?? {});
    const { sub, path } = await storedArchive(req);
    // Only the file shown is read whole; the others are sniffed for the list (text or binary).
    const want = file === undefined ? isSolutionCandidate : (name: string) => name === file;
    const { scan, files } = await readArchiveFiles(path, limits, { maxFileBytes: ctx.config.CODE_VIEWER_MAX_FILE_BYTES, want });
    let selected: ArchiveFile | null;
    if (file !== undefined) {
      selected = files.find((f) => f.name === file && f.kind === 'text') ?? null;
      if (!selected) throw new NotFoundError('a text file of that name in this archive');
    } else {
      // The file the harness graded: solution.py, or the notebook standing in for it.
      const solution = [locateSolution(scan.entries, 'solution.py'), locateSolution(scan.entries, 'solution.ipynb')].find((s) => s && 'path' in s);
      selected = (solution && 'path' in solution && files.find((f) => f.name === solution.path && f.text !== null)) || null;
      const first = files.find((f) => f.kind === 'text');
      if (!selected && first) return reply.redirect(codeHref(sub.id, first.name), 303);
    }
    const report = await ctx.reports.latest(sub.id);
    return sendHtml(
      reply,
      200,
      codeViewerPage({ nav: guard.nav(req), submission: sub, files, selected, marks: evidenceMarks(report?.document ?? null), maxFileBytes: ctx.config.CODE_VIEWER_MAX_FILE_BYTES }),
    );
  });

  app.get<{ Params: { id: string } }>('/review/submissions/:id/archive', { preHandler: guard.requireSession }, async (req, reply) => {
    const { sub, path } = await storedArchive(req);
    const name = archiveDownloadName(sub);
    req.log.info({ submissionId: sub.id, by: req.webSession?.principal.name }, 'archive downloaded');
    return reply
      .type(MEDIA_TYPE[sub.archiveFormat])
      .header('content-disposition', `attachment; filename="${name.ascii}"; filename*=UTF-8''${encodeURIComponent(name.utf8)}`)
      .send(fs.createReadStream(path));
  });
}
