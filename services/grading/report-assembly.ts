import os from 'node:os';
import type { AssessmentManifest } from '../assessments/assessment-schema.ts';
import type { PredictResult, TrainResult } from '../checks/harness-output.ts';
import type { SandboxResult } from '../sandbox/sandbox.ts';
import { REPORT_SCHEMA_VERSION, reportDocumentSchema, type ReportDocument } from '../reports/report-schema.ts';
import { HARNESS_VERSION } from './harness-output.ts';
import type { MeasureOutput } from './measure.ts';
import type { ReportScores } from './scoring.ts';

/** The containers of a grading, in the order they run. */
export type SandboxStep = 'train' | 'predict' | 'notebooks';

export interface ReportParts {
  /** The grading request's ids and pins (Grader's GradeRequest is one). */
  req: { submissionId: string; gradingId: string; archiveSha256: string; rubric: { id: string }; rubricVersion: number };
  manifest: AssessmentManifest;
  scored: ReportScores;
  measured: MeasureOutput;
  /** The sandbox containers that ran, each named by its step: train, predict, notebooks. */
  steps: { step: SandboxStep; run: SandboxResult }[];
  train: TrainResult | null;
  predict: PredictResult | null;
  notes: string | null;
  datasetSha256: string;
  runnerImage: string;
  runnerImageDigest: string;
}

/** The report document of a grading, from what the grading measured and scored; validated. */
export function assembleReport({ req, manifest: m, scored, measured, steps, train, predict, notes, datasetSha256, runnerImage, runnerImageDigest }: ReportParts): ReportDocument {
  const phases = [...(train?.phases ?? []).map((p) => ({ step: 'train', p })), ...(predict?.phases ?? []).map((p) => ({ step: 'predict', p }))];
  const doc: ReportDocument = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    submissionId: req.submissionId,
    gradingId: req.gradingId,
    assessmentId: m.id,
    ...scored.fields,
    checks: scored.checks,
    metrics: { holdout: measured.holdout, evaluate: measured.evaluate },
    sandbox: steps.map(({ step, run: s }) => ({
      step,
      outcome: s.outcome,
      exitCode: s.exitCode,
      durationMs: Math.round(s.timings.totalMs),
      overheadMs: Math.round(s.timings.totalMs - s.timings.runMs),
      peakMemoryBytes: s.peakMemoryBytes,
    })),
    resources: phases.map(({ step, p }) => ({ step, phase: p.name, status: p.status, durationMs: p.durationMs, cpuMs: p.cpuMs, peakMemoryBytes: p.maxRssBytes })),
    logs: [
      ...phases.map(({ step, p }) => ({
        step,
        phase: p.name,
        stdout: p.stdout,
        stderr: p.stderr,
        stdoutBytes: p.stdoutBytes,
        stderrBytes: p.stderrBytes,
        truncated: p.stdoutBytes > Buffer.byteLength(p.stdout) || p.stderrBytes > Buffer.byteLength(p.stderr),
      })),
      ...steps.map(({ step, run: s }) => ({
        step,
        phase: 'harness',
        stdout: s.stdout.text,
        stderr: s.stderr.text,
        stdoutBytes: s.stdout.totalBytes,
        stderrBytes: s.stderr.totalBytes,
        truncated: s.stdout.truncated || s.stderr.truncated,
      })),
    ],
    lint: (train?.lint ?? []).map((f) => ({ rule: f.rule, file: f.file, line: f.line, message: f.message, code: f.code, ...(f.exploratory ? { exploratory: true } : {}) })),
    notes,
    measurements: measured.measurements,
    provenance: {
      submissionSha256: req.archiveSha256,
      assessmentId: m.id,
      datasetVersion: m.datasetVersion,
      datasetSha256,
      rubricId: req.rubric.id,
      rubricVersion: req.rubricVersion,
      runnerImage,
      runnerImageDigest,
      harnessVersion: train?.harnessVersion ?? HARNESS_VERSION,
      seed: m.seed,
      gradedAt: new Date().toISOString(),
      workerHost: os.hostname(),
    },
  };
  return reportDocumentSchema.parse(doc);
}
