import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../../services/context.ts';
import { Grader } from '../../services/grading/grader.ts';
import { predictResultSchema, trainResultSchema } from '../../services/grading/harness-output.ts';
import type { Sandbox, SandboxResult, SandboxRunSpec } from '../../services/sandbox/sandbox.ts';
import { tarGzOfFolder } from '../../tests/support/archives.ts';
import { RecordingSandbox } from './recording-sandbox.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Passes runs through to the real sandbox (as RecordingSandbox) and keeps a copy of what each step left in its output folder. */
class CapturingSandbox extends RecordingSandbox {
  constructor(
    inner: Sandbox,
    private readonly into: string,
  ) {
    super(inner);
  }
  override async run(spec: SandboxRunSpec): Promise<SandboxResult> {
    const result = await super.run(spec);
    const to = path.join(this.into, spec.step);
    await fsp.mkdir(to, { recursive: true });
    for (const o of result.outputs) if (!o.name.includes('/')) await fsp.copyFile(path.join(spec.collectTo, o.name), path.join(to, o.name));
    return result;
  }
}

/** True when the recorded documents still parse under the harness's current output contract. */
function stillValid(dir: string): boolean {
  try {
    trainResultSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'train/result.json'), 'utf8')));
    predictResultSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'predict/predictions.json'), 'utf8')));
    return true;
  } catch {
    return false;
  }
}

/**
 * What the timing sandbox plays back: the output folders of one real grading of `fixture` in the
 * Docker sandbox, kept under .data/timing-recording per runner image id and assessment, and made again
 * when the image or the harness's output contract changes. Refuses a grading that did not go all the
 * way (no holdout predictions): the simulation would then time a failure.
 */
export async function recordGrading(ctx: Context, assessmentId: string, fixture: string, log: (m: string) => void): Promise<string> {
  const imageId = await ctx.sandbox.imageId(ctx.config.RUNNER_IMAGE);
  const key = crypto.createHash('sha256').update(`${imageId}\0${assessmentId}\0${fixture}`).digest('hex').slice(0, 16);
  const dir = path.join(ROOT, '.data', 'timing-recording', key);
  if (stillValid(dir)) return dir;
  log(`recording one real grading of ${path.relative(ROOT, fixture)} in Docker (${ctx.config.RUNNER_IMAGE})`);
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'timing-recording-'));
  try {
    const archive = path.join(tmp, 'submission.tar.gz');
    await fsp.writeFile(archive, await tarGzOfFolder(fixture));
    const grader = new Grader({ ...ctx, sandbox: new CapturingSandbox(ctx.sandbox, path.join(tmp, 'recording')) });
    const report = await grader.grade({
      gradingId: crypto.randomUUID(),
      submissionId: crypto.randomUUID(),
      assessmentId,
      archivePath: archive,
      archiveSha256: crypto
        .createHash('sha256')
        .update(await fsp.readFile(archive))
        .digest('hex'),
      rubric: await ctx.assessments.defaultRubric(assessmentId),
      rubricVersion: 1,
    });
    if (!report.metrics.holdout) throw new Error(`the recorded grading of ${fixture} produced no holdout predictions`);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(path.dirname(dir), { recursive: true });
    await fsp.rename(path.join(tmp, 'recording'), dir);
    if (!stillValid(dir)) throw new Error(`the recording in ${dir} does not parse as harness output`);
    return dir;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
