import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Sandbox, SandboxResult, SandboxRunSpec } from './sandbox.ts';

/** One measured grading: how long its training and (own) prediction steps took, in ms. */
export const gradingTimeSchema = z.object({ trainMs: z.number().positive(), predictMs: z.number().positive() });
export type GradingTime = z.infer<typeof gradingTimeSchema>;

export interface TimingSandboxOptions {
  /** A folder with `train/` and `predict/`: the files a real grading's two steps left in their output folders. */
  recording: string;
  /** The measured distribution the durations are drawn from. */
  samples: GradingTime[];
  /** Every duration is multiplied by this (e.g. 0.02: a 10 s grading sleeps 200 ms). */
  scale: number;
  /** The process's NODE_ENV (config.NODE_ENV); defaults to the environment's. */
  nodeEnv?: string;
}

const STEPS = ['train', 'predict'] as const;

/**
 * NO CANDIDATE CODE, NO ISOLATION — for the scale simulation (bench/simulate.ts) only; refused when
 * NODE_ENV=production, and no setting selects it (createSandbox does not know it): only the
 * simulation's worker entry builds one.
 *
 * Plays a grading's two sandbox steps back without running anything: each step sleeps for a duration
 * drawn from measured gradings (the same draw for both steps of a grading, chosen by its id, so a
 * retried grading takes as long again) times `scale`, then leaves the recorded harness documents in
 * the step's output folder. The prediction step waits for the host's go-ahead first, as the harness
 * does, so the host's side of a grading (archive, measure, score, report) runs for real.
 */
export class TimingSandbox implements Sandbox {
  constructor(private readonly opts: TimingSandboxOptions) {
    if ((opts.nodeEnv ?? process.env.NODE_ENV) === 'production') throw new Error('the timing sandbox runs no candidate code and grades nothing real; it is refused when NODE_ENV=production');
    if (!opts.samples.length) throw new Error('the timing sandbox needs at least one measured grading time');
    if (!(opts.scale > 0)) throw new Error(`the timing sandbox's scale must be positive, not ${opts.scale}`);
    for (const step of STEPS) if (!fs.existsSync(path.join(opts.recording, step))) throw new Error(`no recorded ${step} step under ${opts.recording}`);
  }

  async ping(): Promise<void> {}
  async reap(): Promise<number> {
    return 0;
  }
  async imageId(): Promise<string> {
    return 'timing-sandbox';
  }

  /** The measured grading this grading plays (stable per grading id). */
  draw(gradingId: string): GradingTime {
    const n = crypto.createHash('sha256').update(gradingId).digest().readUInt32BE(0);
    return this.opts.samples[n % this.opts.samples.length]!;
  }

  async run(spec: SandboxRunSpec): Promise<SandboxResult> {
    const step = STEPS.find((s) => s === spec.step);
    if (!step) throw new Error(`the timing sandbox plays train and predict steps only, not ${spec.step}`);
    const t0 = performance.now();
    if (step === 'predict' && spec.privateInputs?.later) {
      const files = await spec.privateInputs.later;
      const goAhead = files.find((f) => f.name === 'go-ahead.json');
      const proceed = goAhead ? (JSON.parse(await fsp.readFile(goAhead.hostPath, 'utf8')) as { proceed?: boolean }).proceed : false;
      if (!proceed) return this.result([], t0, 0);
    }
    const time = this.draw(spec.gradingId);
    const ms = (step === 'train' ? time.trainMs : time.predictMs) * this.opts.scale;
    const tRun = performance.now();
    await sleep(ms, undefined, { signal: spec.signal });
    const from = path.join(this.opts.recording, step);
    await fsp.mkdir(spec.collectTo, { recursive: true });
    const outputs: { name: string; bytes: number }[] = [];
    for (const name of await fsp.readdir(from)) {
      await fsp.copyFile(path.join(from, name), path.join(spec.collectTo, name));
      outputs.push({ name, bytes: (await fsp.stat(path.join(from, name))).size });
    }
    return this.result(outputs, t0, performance.now() - tRun);
  }

  private result(outputs: { name: string; bytes: number }[], t0: number, runMs: number): SandboxResult {
    const totalMs = performance.now() - t0;
    const empty = { text: '', totalBytes: 0, truncated: false };
    return {
      outcome: 'completed',
      exitCode: 0,
      stdout: empty,
      stderr: empty,
      outputs,
      ignoredOutputs: [],
      oomKilled: false,
      pidsLimitHit: false,
      timings: { createMs: 0, startMs: 0, runMs, collectMs: 0, removeMs: 0, totalMs },
      peakMemoryBytes: null,
      peakPids: null,
      imageId: 'timing-sandbox',
    };
  }
}
