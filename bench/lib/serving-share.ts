import { z } from 'zod';
import { servingSchema } from '../../services/grading/harness-output.ts';
import type { Round } from './grading-bench.ts';
import { median, sec } from './stats.ts';

/**
 * Where the serving probe's time goes in one round (issue 13: "the new measurements add at most 15%
 * to a grading's wall time; say where it goes if more"). What the probe adds is the sandbox grading
 * minus the same grading without it (SERVING_CALLS=0); its parts are the probe's own measurements in
 * predictions.json, timed by the harness's supervisor.
 */
export interface ServingShare {
  addedMs: number;
  /** Loading model.pkl and the first single-row answer. */
  coldStartMs: number | null;
  warmCalls: number;
  /** All warm single-row calls together (wall time). */
  warmMs: number | null;
  /** The whole holdout as one file. */
  batchMs: number | null;
}

const predictDocument = z.object({ serving: servingSchema.nullable() });

export function servingShare(round: Round): ServingShare {
  const doc = predictDocument.safeParse(round.sandbox.runs.find((r) => r.step === 'predict')?.document);
  const s = doc.success ? doc.data.serving : null;
  return {
    addedMs: round.sandbox.wallMs - round.noServing.wallMs,
    coldStartMs: s?.coldStartMs ?? null,
    warmCalls: s?.warmMs.length ?? 0,
    warmMs: s ? s.warmMs.reduce((a, b) => a + b, 0) : null,
    batchMs: s?.batchMs ?? null,
  };
}

/** One sentence for the report, medians over the rounds: the added time and where it goes. */
export function servingShareText(rounds: readonly Round[]): string {
  const shares = rounds.map(servingShare);
  const med = (f: (s: ServingShare) => number | null) => {
    const xs = shares.map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const added = med((s) => s.addedMs)!;
  const parts = [med((s) => s.coldStartMs), med((s) => s.warmMs), med((s) => s.batchMs)];
  if (parts.some((p) => p === null)) return `the probe adds ${sec(added, 1)}; its parts were not recorded (no serving result in predictions.json)`;
  const [cold, warm, batch] = parts as number[];
  return (
    `the probe adds ${sec(added, 1)}: cold start ${sec(cold!)}, ${Math.round(med((s) => s.warmCalls)!)} warm single-row calls ${sec(warm!)}, ` +
    `batch ${sec(batch!)}; the other ${sec(added - cold! - warm! - batch!)} is the serving process's start before its first request, its clean-up, and the two gradings' spread`
  );
}
