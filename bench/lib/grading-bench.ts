import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import pino from 'pino';
import { loadConfig } from '../../services/config.ts';
import { AssessmentRegistry } from '../../services/assessments/assessment-registry.ts';
import { DatasetStore } from '../../services/assessments/dataset-store.ts';
import { DockerSandbox } from '../../services/sandbox/docker-sandbox.ts';
import { Grader } from '../../services/grading/grader.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';
import { tarGzOfFolder } from '../../tests/support/archives.ts';
import { HostSandbox, PYCACHE, SCRATCH } from '../../services/sandbox/host-sandbox.ts';
import { RecordingSandbox, type RecordedRun } from './recording-sandbox.ts';
import { LoadProbe } from './machine.ts';
import { summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ASSESSMENT = 'churn-messy-csv';
const PYTHON = '/usr/bin/python3';

export interface GradingSample {
  kind: 'sandbox' | 'host' | 'noServing';
  wallMs: number;
  /** Host-side time before the first container was asked for, and after the last one ended. */
  beforeMs: number;
  afterMs: number;
  report: ReportDocument;
  runs: RecordedRun[];
}

export interface BareSample {
  wallMs: number;
  steps: { importMs: number; trainMs: number; evaluateMs: number; predictMs: number };
}

export interface Round {
  sandbox: GradingSample;
  host: GradingSample;
  /** The sandbox grading without the serving probe (SERVING_CALLS=0): what the issue-13 checks add. */
  noServing: GradingSample;
  bare: BareSample;
}

export interface GradingBenchResult {
  submission: string;
  rounds: Round[];
  load: ReturnType<LoadProbe['stop']>;
  sandboxOverRatio: Summary;
  sandboxOverBare: Summary;
  hostOverBare: Summary;
  /** Sandbox grading ÷ the same without the serving probe: the share the production checks add. */
  servingOverNone: Summary;
  noServingWall: Summary;
  sandboxWall: Summary;
  hostWall: Summary;
  bareWall: Summary;
  /** The same grading under gVisor (runsc) when the engine has it, next to the runc rounds. */
  runsc: { wall: Summary; overRunc: number; sameStatuses: boolean } | { unavailable: string };
}

/**
 * Sections 1, 2 and the container half of 6: the exemplary submission graded through the Docker
 * sandbox, the same Grader with the harness run on the host (no containers), and the candidate's
 * own train + evaluate + predict run once in a fresh process — interleaved, in rotating order, in
 * this one process, so that the machine's background load hits all three alike.
 */
export async function gradingBench(opts: { rounds: number; runscRounds: number; log: (s: string) => void; fixture?: string }): Promise<GradingBenchResult> {
  const fixture = opts.fixture ?? path.join(ROOT, 'tests/fixtures/submissions/churn/exemplary');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-grading-'));
  const config = loadConfig(process.env, {
    DATA_DIR: dataDir,
    DATASET_CACHE_DIR: path.join(ROOT, '.data', 'datasets'),
    ASSESSMENTS_DIR: path.join(ROOT, 'assessments'),
    LOG_LEVEL: 'warn',
  });
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const assessments = AssessmentRegistry.load(config.ASSESSMENTS_DIR);
  const docker = new DockerSandbox({ runtime: config.SANDBOX_RUNTIME, logger });
  await docker.ping();
  const datasets = new DatasetStore(config.DATASET_CACHE_DIR!, docker, config.RUNNER_IMAGE);
  const dataset = await datasets.get(assessments.get(ASSESSMENT));
  const rubric = await assessments.defaultRubric(ASSESSMENT);
  const inDocker = new RecordingSandbox(docker);
  const onHost = new RecordingSandbox(new HostSandbox({ python: PYTHON }));
  const graders = {
    sandbox: new Grader({ config, sandbox: inDocker, assessments, datasets, logger }),
    host: new Grader({ config, sandbox: onHost, assessments, datasets, logger }),
    noServing: new Grader({ config: { ...config, SERVING_CALLS: 0 }, sandbox: inDocker, assessments, datasets, logger }),
  };
  const archive = path.join(dataDir, 'submission.tar.gz');
  fs.writeFileSync(archive, await tarGzOfFolder(fixture));
  const sha = crypto.createHash('sha256').update(fs.readFileSync(archive)).digest('hex');

  const grade = async (kind: GradingSample['kind']): Promise<GradingSample> => {
    const recorder = kind === 'host' ? onHost : inDocker;
    recorder.take();
    const t = performance.now();
    const report = await graders[kind].grade({
      gradingId: crypto.randomUUID(),
      submissionId: crypto.randomUUID(),
      assessmentId: ASSESSMENT,
      archivePath: archive,
      archiveSha256: sha,
      rubric,
      rubricVersion: 0,
    });
    const end = performance.now();
    const runs = recorder.take();
    const first = Math.min(...runs.map((r) => r.calledAt));
    const last = Math.max(...runs.map((r) => r.endedAt));
    return { kind, wallMs: end - t, beforeMs: first - t, afterMs: end - last, report, runs };
  };
  const holdout = path.join(dataset.holdoutDir, `${assessments.get(ASSESSMENT).manifest.primaryVariant}.csv`);
  const bare = () => bareRun(fixture, dataset.trainCsv, holdout);

  try {
    opts.log('  warm-up: one of each (not counted)');
    await grade('sandbox');
    await grade('host');
    await bare();
    const rounds: Round[] = [];
    const probe = new LoadProbe().start();
    for (let i = 0; i < opts.rounds; i++) {
      const order = (['sandbox', 'host', 'noServing', 'bare'] as const).map((_, k, a) => a[(k + i) % a.length]!);
      const r: Partial<Round> = {};
      for (const kind of order) {
        if (kind === 'bare') r.bare = await bare();
        else r[kind] = await grade(kind);
      }
      const round = r as Round;
      for (const g of [round.sandbox, round.host, round.noServing]) {
        // Without the probe serving.latency cannot run; everything else must pass.
        const failing = g.report.checks.filter((c) => c.status !== 'pass' && !(g.kind === 'noServing' && c.id === 'serving.latency')).map((c) => `${c.id}=${c.status}`);
        if (failing.length) throw new Error(`the ${g.kind} grading of the exemplary submission did not pass every check: ${failing.join(', ')}`);
      }
      rounds.push(round);
      opts.log(
        `  round ${i + 1}/${opts.rounds} (${order.join(' → ')}): sandbox ${(round.sandbox.wallMs / 1000).toFixed(2)} s, ` +
          `host ${(round.host.wallMs / 1000).toFixed(2)} s, without the serving probe ${(round.noServing.wallMs / 1000).toFixed(2)} s, bare ${(round.bare.wallMs / 1000).toFixed(2)} s`,
      );
    }
    const load = probe.stop();
    const runsc = await runscGradings(opts.runscRounds, rounds, opts.log, (sandbox) => new Grader({ config, sandbox, assessments, datasets, logger }), {
      archive,
      sha,
      rubric,
    });
    return {
      runsc,
      submission: path.relative(ROOT, fixture),
      rounds,
      load,
      sandboxOverRatio: summarize(rounds.map((r) => r.sandbox.wallMs / r.host.wallMs)),
      sandboxOverBare: summarize(rounds.map((r) => r.sandbox.wallMs / r.bare.wallMs)),
      hostOverBare: summarize(rounds.map((r) => r.host.wallMs / r.bare.wallMs)),
      servingOverNone: summarize(rounds.map((r) => r.sandbox.wallMs / r.noServing.wallMs)),
      noServingWall: summarize(rounds.map((r) => r.noServing.wallMs)),
      sandboxWall: summarize(rounds.map((r) => r.sandbox.wallMs)),
      hostWall: summarize(rounds.map((r) => r.host.wallMs)),
      bareWall: summarize(rounds.map((r) => r.bare.wallMs)),
    };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A few gradings under gVisor after the runc rounds (minutes each on the ptrace platform, so not interleaved). */
async function runscGradings(
  n: number,
  rounds: Round[],
  log: (s: string) => void,
  graderWith: (sandbox: DockerSandbox) => Grader,
  sub: { archive: string; sha: string; rubric: Awaited<ReturnType<AssessmentRegistry['defaultRubric']>> },
): Promise<GradingBenchResult['runsc']> {
  if (n <= 0) return { unavailable: 'not asked for (--runsc-rounds 0)' };
  const sandbox = new DockerSandbox({ runtime: 'runsc' });
  const info = (await sandbox.docker.info()) as { Runtimes?: Record<string, unknown> };
  if (!info.Runtimes?.runsc) return { unavailable: 'the engine has no runsc runtime' };
  const grader = graderWith(sandbox);
  const walls: number[] = [];
  let same = true;
  const runcStatuses = JSON.stringify(rounds[0]?.sandbox.report.checks.map((c) => c.status));
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const report = await grader.grade({
      gradingId: crypto.randomUUID(),
      submissionId: crypto.randomUUID(),
      assessmentId: ASSESSMENT,
      archivePath: sub.archive,
      archiveSha256: sub.sha,
      rubric: sub.rubric,
      rubricVersion: 0,
    });
    walls.push(performance.now() - t);
    same &&= JSON.stringify(report.checks.map((c) => c.status)) === runcStatuses;
    log(`  runsc grading ${i + 1}/${n}: ${(walls.at(-1)! / 1000).toFixed(2)} s`);
  }
  const wall = summarize(walls);
  return { wall, overRunc: wall.median / summarize(rounds.map((r) => r.sandbox.wallMs)).median, sameStatuses: same };
}

/** The candidate's own pipeline once, in a fresh host Python process, timed from spawn to exit. */
async function bareRun(sub: string, trainCsv: string, holdoutCsv: string): Promise<BareSample> {
  const tmp = fs.mkdtempSync(path.join(SCRATCH, 'bench-bare-'));
  const t = performance.now();
  const child = spawn(PYTHON, ['-X', `pycache_prefix=${PYCACHE}`, path.join(ROOT, 'bench/bare_candidate.py'), sub, trainCsv, holdoutCsv], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', TMPDIR: tmp, HOME: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const wallMs = performance.now() - t;
  fs.rmSync(tmp, { recursive: true, force: true });
  if (code !== 0) throw new Error(`the bare candidate run failed (exit ${code}): ${err.slice(-2000)}`);
  return { wallMs, steps: JSON.parse(out.trim().split('\n').pop()!) };
}

/** Raw timings of the sandbox steps of one grading (the predict container's wait included). */
export function containerTimings(runs: RecordedRun[]) {
  return runs.map((r) => {
    const t = r.result.timings;
    return {
      step: r.step,
      calledAt: r.calledAt,
      endedAt: r.endedAt,
      // image inspect + output volume, before the container exists
      prepareMs: t.totalMs - t.createMs - t.startMs - t.runMs - t.collectMs - t.removeMs,
      createMs: t.createMs,
      startMs: t.startMs,
      runMs: t.runMs,
      collectMs: t.collectMs,
      removeMs: t.removeMs,
      totalMs: t.totalMs,
      peakMemoryBytes: r.result.peakMemoryBytes,
      document: r.document as {
        phases?: { name: string; durationMs: number; cpuMs: number | null; maxRssBytes: number | null }[];
        variants?: Record<string, { durationMs: number }>;
        repeat?: { durationMs: number } | null;
      } | null,
    };
  });
}
