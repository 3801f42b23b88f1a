import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { extractArchive } from '../archive/archive-scanner.ts';
import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { DatasetStore } from '../assessments/dataset-store.ts';
import type { PrivateFile, Sandbox, SandboxLimits, SandboxResult } from '../sandbox/sandbox.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import { predictResultSchema, trainResultSchema, type PredictResult, type TrainResult } from './harness-output.ts';
import { measure, type MeasureInput, type StepOutcome } from './measure.ts';
import { modelFootprint } from './model-footprint.ts';
import { mayHoldExploratoryNotebooks, noExploratoryNotebooks, runNotebookStep, wantsNotebookRuns } from './notebook-step.ts';
import { notebooksResultSchema } from '../checks/notebook-runs-output.ts';
import { reportScores } from './scoring.ts';
import { assembleReport } from './report-assembly.ts';
import type { ReportDocument } from '../reports/report-schema.ts';
import type { z } from 'zod';
import type { GraderPhase } from '../submissions/grading-states.ts';

export interface GradeRequest {
  gradingId: string;
  submissionId: string;
  assessmentId: string;
  archivePath: string;
  archiveSha256: string;
  rubric: Rubric;
  rubricVersion: number;
  signal?: AbortSignal;
  onPhase?: (phase: GraderPhase) => void | Promise<void>;
  /** Told the runner image's digest before any candidate code runs; throws to refuse (services/grading/runner-image-pin.ts). */
  onImage?: (digest: string) => Promise<void>;
}

export interface GraderDeps {
  config: Config;
  sandbox: Sandbox;
  assessments: AssessmentRegistry;
  datasets: DatasetStore;
  logger: Logger;
}

const MAX_NOTES_BYTES = 64 * 1024;

/**
 * One grading: extract the archive, train and evaluate in one sandbox (no holdout data inside),
 * predict the holdout in a second one (no labels inside), then measure and score on the host.
 * A candidate's failure ends up in the report; only platform failures throw.
 *
 * The prediction container starts next to the training one and does everything that needs no model
 * (interpreter, libraries, preparing the inputs) while training runs; it runs no candidate code until
 * the host has copied the trained models in and said go. The two containers share nothing: the
 * training one never sees holdout rows, neither sees labels. In both, the harness supervisor alone
 * reads the data and writes what the host reads back; each candidate process runs under a uid of its
 * own and is gone before anything is collected (docker/runner/harness/identity.py).
 */
export class Grader {
  constructor(private readonly deps: GraderDeps) {}

  async grade(req: GradeRequest): Promise<ReportDocument> {
    const { config, sandbox, assessments, datasets, logger } = this.deps;
    const assessment = assessments.get(req.assessmentId);
    const m = assessment.manifest;
    const work = path.join(config.DATA_DIR, 'work', `${process.pid}-${req.gradingId}`);
    await fsp.rm(work, { recursive: true, force: true });
    await fsp.mkdir(work, { recursive: true, mode: 0o711 });
    const log = logger.child({ gradingId: req.gradingId, submissionId: req.submissionId });
    try {
      await req.onPhase?.('preparing');
      const scan = await extractArchive(req.archivePath, path.join(work, 'submission'), {
        maxEntries: config.UPLOAD_MAX_ENTRIES,
        maxUncompressedBytes: config.UPLOAD_MAX_UNCOMPRESSED_BYTES,
        maxRatio: config.UPLOAD_MAX_RATIO,
      });
      const topLevel = [...new Set(scan.entries.map((e) => e.name.split('/')[0]!))].sort();
      const notes = await readNotes(path.join(work, 'submission'), topLevel);
      const dataset = await datasets.get(assessment);
      const imageDigest = await sandbox.imageId(config.RUNNER_IMAGE);
      await req.onImage?.(imageDigest);
      const memoryBytes = Math.min(config.SANDBOX_MEMORY_BYTES, m.limits.memoryMb * 1024 * 1024);
      const cap = (s: number) => Math.min(s, config.PHASE_TIMEOUT_CAP_S ?? Infinity);
      const trainSeconds = cap(m.limits.trainSeconds);
      const predictSeconds = cap(m.limits.predictSeconds);
      const limits = (phaseSeconds: number, phases: number, extraMs = 0): SandboxLimits => ({
        memoryBytes,
        cpus: config.SANDBOX_CPUS,
        pids: config.SANDBOX_PIDS,
        wallMs: phases * phaseSeconds * 1000 + 60_000 + extraMs,
        tmpfsBytes: config.SANDBOX_TMPFS_BYTES,
        outputBytes: config.SANDBOX_OUTPUT_BYTES,
        logBytes: config.SANDBOX_LOG_BYTES,
        nofile: 1024,
        fsizeBytes: config.SANDBOX_OUTPUT_BYTES,
      });
      // Phases run side by side on the container's CPUs (the harness uses at most 2); a phase that
      // shared the container and ran out of memory or pids is run again alone, hence the extra
      // wall-clock room (the phases' own time limits are unchanged).
      const jobs = String(Math.max(1, Math.min(2, Math.floor(config.SANDBOX_CPUS))));
      const common = ['--target', m.target, '--positive', m.positiveLabel, '--negative', m.negativeLabel, '--seed', String(m.seed), '--jobs', jobs];
      const submission = { hostPath: path.join(work, 'submission'), containerPath: '/submission' };
      const trainLimits = limits(trainSeconds, 6);

      // The harness supervisor alone reads /in; the models and the go-ahead file arrive there after
      // training (in that order), from a host folder no container can write.
      const handover = path.join(work, 'handover');
      await fsp.mkdir(handover, { mode: 0o700 });
      let handOver!: (files: PrivateFile[]) => void;
      const later = new Promise<PrivateFile[]>((resolve) => (handOver = resolve));
      const holdoutFiles = (await fsp.readdir(dataset.holdoutDir)).filter((f) => f.endsWith('.csv')).sort();
      const predictOut = path.join(work, 'predict-out');
      const predictCalledAt = performance.now();
      const predictRun = sandbox
        .run({
          gradingId: req.gradingId,
          step: 'predict',
          image: imageDigest, // the image verified and pinned above, not whatever the tag names by now
          command: [
            'python3',
            '-I',
            '/opt/harness/run.py',
            'predict',
            '--submission',
            '/submission',
            '--models',
            '/in/models',
            '--inputs',
            '/in/holdout',
            '--primary',
            m.primaryVariant,
            '--proba-variants',
            [m.primaryVariant, ...(m.recordedVariant ? [m.recordedVariant] : [])].join(','),
            '--id-column',
            m.idColumn,
            '--wait-for',
            `/in/${GO_AHEAD}`,
            '--wait-timeout-s',
            String(Math.ceil(trainLimits.wallMs / 1000)),
            '--out',
            '/out',
            ...common,
            '--phase-timeout-s',
            String(predictSeconds),
            '--serving-calls',
            String(config.SERVING_CALLS),
            '--serving-budget-s',
            String(config.SERVING_BUDGET_S),
            // A container's cgroup counts every CPU second its processes spend, the ended ones too;
            // the host sandbox has no cgroup of its own, only the candidate's live processes.
            '--cpu-clock',
            config.SANDBOX === 'docker' ? 'cgroup' : 'processes',
          ],
          mounts: [submission],
          supervisor: true,
          privateInputs: {
            containerPath: '/in',
            files: holdoutFiles.map((f) => ({ name: `holdout/${f}`, hostPath: path.join(dataset.holdoutDir, f) })),
            later,
          },
          outputPath: '/out',
          collectTo: predictOut,
          limits: limits(predictSeconds, 4, trainLimits.wallMs + (config.SERVING_BUDGET_S + SERVING_GRACE_S) * 1000),
          signal: req.signal,
        })
        .then(
          (run) => ({ run, error: null }),
          (error: unknown) => ({ run: null, error }),
        );
      let goAheadAt: number | null = null;
      const goAhead = async (models: string[]) => {
        if (goAheadAt !== null) return;
        goAheadAt = performance.now();
        await fsp.writeFile(path.join(handover, GO_AHEAD), JSON.stringify({ proceed: models.length > 0 }), { mode: 0o600 });
        handOver([...models.map((f) => ({ name: `models/${f}`, hostPath: path.join(trainOut, f) })), { name: GO_AHEAD, hostPath: path.join(handover, GO_AHEAD) }]);
      };

      const trainOut = path.join(work, 'train-out');
      // The shuffled-label copy's permutation: secret (derived from a server secret), fixed per dataset.
      const trainSecrets = path.join(handover, 'secrets.json');
      const nullSeed = crypto.createHmac('sha256', config.INVITE_SECRET).update(`null-permutation\0${dataset.sha256}`).digest('hex').slice(0, 16);
      await fsp.writeFile(trainSecrets, JSON.stringify({ nullSeed }), { mode: 0o600 });
      let trainRun: SandboxResult;
      let train: StepOutcome<TrainResult>;
      let predict: StepOutcome<PredictResult> | null = null;
      let model: MeasureInput['model'] = null;
      try {
        await req.onPhase?.('training');
        trainRun = await sandbox.run({
          gradingId: req.gradingId,
          step: 'train',
          image: imageDigest, // the image verified and pinned above, not whatever the tag names by now
          command: [
            'python3',
            '-I',
            '/opt/harness/run.py',
            'train',
            '--submission',
            '/submission',
            '--train',
            '/in/train.csv',
            '--secrets',
            '/in/secrets.json',
            ...m.postOutcomeColumns.map((c) => `--post-outcome=${c}`),
            '--out',
            '/out',
            ...common,
            '--phase-timeout-s',
            String(trainSeconds),
          ],
          mounts: [submission],
          supervisor: true,
          privateInputs: {
            containerPath: '/in',
            files: [
              { name: 'train.csv', hostPath: dataset.trainCsv },
              { name: 'secrets.json', hostPath: trainSecrets },
            ],
          },
          outputPath: '/out',
          collectTo: trainOut,
          limits: trainLimits,
          signal: req.signal,
        });
        assertHarnessAccepted(trainRun, 'train', 'result.json');
        train = await readStep(trainRun, trainOut, 'result.json', trainResultSchema);
        log.info({ outcome: trainRun.outcome, ms: Math.round(trainRun.timings.totalMs) }, 'training step finished');

        const models = (train.result?.models ?? []).filter((f) => (f === 'model.pkl' || f === 'model_repeat.pkl') && trainRun.outputs.some((o) => o.name === f));
        if (models.includes('model.pkl')) {
          model = await modelFootprint(path.join(trainOut, 'model.pkl'), dataset.trainCsv, m.idColumn);
          await req.onPhase?.('predicting');
          await goAhead(models);
          const { run, error } = await predictRun;
          if (!run) throw error;
          assertHarnessAccepted(run, 'predict', 'predictions.json');
          const own = ownTime(run, predictCalledAt, goAheadAt!);
          predict = await readStep(own, predictOut, 'predictions.json', predictResultSchema);
          log.info({ outcome: run.outcome, ms: Math.round(own.timings.totalMs), waitedMs: Math.round(run.timings.totalMs - own.timings.totalMs) }, 'prediction step finished');
        } else if (train.result) {
          predict = { sandbox: null, result: null, problem: 'no trained model was produced, so nothing could be predicted' };
        }
      } finally {
        // Without a model (or when training failed) the waiting container gives up and is removed.
        await goAhead([]).catch(() => {});
        await predictRun;
      }

      // Optional (reproducibility.notebook_runs): after training and prediction, in its own container.
      let notebooks: MeasureInput['notebooks'];
      if (wantsNotebookRuns(req.rubric)) {
        if (!mayHoldExploratoryNotebooks(scan.entries.map((e) => e.name))) notebooks = noExploratoryNotebooks();
        else {
          await req.onPhase?.('notebooks');
          const notebooksOut = path.join(work, 'notebooks-out');
          const run = await runNotebookStep({
            sandbox,
            gradingId: req.gradingId,
            image: imageDigest,
            submission,
            trainCsv: dataset.trainCsv,
            limits: limits(0, 0),
            capSeconds: config.PHASE_TIMEOUT_CAP_S,
            collectTo: notebooksOut,
            signal: req.signal,
          });
          assertHarnessAccepted(run, 'notebooks', 'notebooks.json');
          notebooks = await readStep(run, notebooksOut, 'notebooks.json', notebooksResultSchema);
          log.info({ outcome: run.outcome, ms: Math.round(run.timings.totalMs) }, 'exploratory notebooks step finished');
        }
      }

      await req.onPhase?.('scoring');
      const measured = measure({
        manifest: m,
        truth: dataset.truth,
        reference: dataset.reference,
        train,
        predict,
        seed: m.seed,
        limits: { memoryBytes, trainSeconds, predictSeconds, pids: config.SANDBOX_PIDS, cpus: config.SANDBOX_CPUS },
        model,
        topLevelEntries: topLevel,
        ...(notebooks ? { notebooks } : {}),
      });
      const scored = reportScores(measured.measurements, req.rubric, [], { hadPredictions: !!predict?.result });
      return assembleReport({
        req,
        manifest: m,
        scored,
        measured,
        steps: [
          { step: 'train' as const, run: trainRun },
          { step: 'predict' as const, run: predict?.sandbox },
          { step: 'notebooks' as const, run: notebooks?.sandbox },
        ].flatMap(({ step, run }) => (run ? [{ step, run }] : [])),
        train: train.result,
        predict: predict?.result ?? null,
        notes,
        datasetSha256: dataset.sha256,
        runnerImage: config.RUNNER_IMAGE,
        runnerImageDigest: imageDigest,
      });
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  }
}

/** The serving probe's room in the prediction container's wall-clock limit beyond its budget: the
 * harness's grace for import, model load and batch (predict_mode.SERVING_GRACE_S), and slack. */
const SERVING_GRACE_S = 30 + 10;

/** The file in the prediction container's /models folder that tells its harness to go on. */
const GO_AHEAD = 'go-ahead.json';

/**
 * The prediction step as the grading sees it: the time its container spent waiting for training
 * (which ran next to it) is not its own. Create/start overhead that ran in parallel stays counted.
 */
function ownTime(run: SandboxResult, calledAt: number, goAheadAt: number): SandboxResult {
  const t = run.timings;
  const execStartedAt = calledAt + t.totalMs - t.runMs - t.collectMs - t.removeMs;
  const waited = Math.min(t.runMs, Math.max(0, goAheadAt - execStartedAt));
  return { ...run, timings: { ...t, runMs: t.runMs - waited, totalMs: t.totalMs - waited } };
}

/**
 * The harness refused the command the grader gave it (argparse: exit 2, "run.py: error: ..." on the
 * supervisor's stderr, no document written). That is the platform's fault — a grader and a runner
 * image that disagree — not the candidate's: thrown, so the grading is retried and shows as failed
 * instead of being graded. Candidate processes cannot cause it: their output never reaches the
 * supervisor's stderr, and they cannot end the supervisor.
 */
export function assertHarnessAccepted(run: Pick<SandboxResult, 'exitCode' | 'stderr' | 'outputs'>, step: string, file: string): void {
  if (run.exitCode !== 2 || run.outputs.some((o) => o.name === file)) return;
  const refusal = /^run\.py: error: .*$/m.exec(run.stderr.text);
  if (refusal) throw new Error(`the ${step} step's harness refused its command (grader and runner image disagree?): ${refusal[0].slice(0, 500)}`);
}

/** Parses a document the harness wrote, as untrusted input: problems become words, not crashes. */
async function readStep<T>(run: SandboxResult, dir: string, file: string, schema: z.ZodType<T>): Promise<StepOutcome<T>> {
  const ended = run.outcome === 'completed' ? '' : ` (the container ended: ${run.outcome.replace('_', ' ')})`;
  if (!run.outputs.some((o) => o.name === file)) return { sandbox: run, result: null, problem: `the run produced no ${file}${ended}${tail(run.stderr.text)}` };
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(path.join(dir, file), 'utf8'));
  } catch (err) {
    return { sandbox: run, result: null, problem: `${file} is not valid JSON${ended}: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    return {
      sandbox: run,
      result: null,
      problem: `${file} is malformed${ended}: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    };
  return { sandbox: run, result: parsed.data, problem: null };
}

const tail = (s: string) => (s.trim() ? `; last output: ${s.trim().slice(-500)}` : '');

async function readNotes(root: string, topLevel: string[]): Promise<string | null> {
  const candidates = ['NOTES.md', ...(topLevel.length === 1 ? [path.join(topLevel[0]!, 'NOTES.md')] : [])];
  for (const rel of candidates) {
    const p = path.join(root, rel);
    const fh = await fsp.open(p, 'r').catch(() => null);
    if (!fh) continue;
    try {
      const st = await fh.stat();
      if (!st.isFile()) continue;
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(MAX_NOTES_BYTES), 0, MAX_NOTES_BYTES, 0);
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      return st.size > MAX_NOTES_BYTES ? `${text}\n\n…[NOTES.md truncated at ${MAX_NOTES_BYTES} bytes]` : text;
    } finally {
      await fh.close();
    }
  }
  return null;
}
