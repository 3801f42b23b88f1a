import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Context } from '../../services/context.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';

/**
 * Grades archive bytes through the real Grader (sandbox, harness, checks, scoring) under the
 * assessment's default rubric, without the API or the queue. The archive is written into `work`.
 */
export async function gradeArchive(ctx: Context, assessmentId: string, name: string, bytes: Buffer, work: string): Promise<ReportDocument> {
  const archive = path.join(work, `${name}.tar.gz`);
  fs.writeFileSync(archive, bytes);
  return ctx.grader.grade({
    gradingId: crypto.randomUUID(),
    submissionId: crypto.randomUUID(),
    assessmentId,
    archivePath: archive,
    archiveSha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    rubric: await ctx.assessments.defaultRubric(assessmentId),
    rubricVersion: 1,
  });
}
