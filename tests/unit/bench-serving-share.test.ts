import { describe, expect, it } from 'vitest';
import type { GradingSample, Round } from '../../bench/lib/grading-bench.ts';
import { servingShare, servingShareText } from '../../bench/lib/serving-share.ts';

/** A round whose sandbox grading took `wallMs` and left `serving` in predictions.json; without the probe: `noServingMs`. */
function round(wallMs: number, noServingMs: number, serving: unknown): Round {
  const sample = (kind: GradingSample['kind'], ms: number, document: unknown): GradingSample =>
    ({ kind, wallMs: ms, runs: [{ step: 'predict', calledAt: 0, endedAt: ms, document }] }) as unknown as GradingSample;
  return {
    sandbox: sample('sandbox', wallMs, { harnessVersion: 'x', serving }),
    host: sample('host', wallMs, null),
    noServing: sample('noServing', noServingMs, { serving: null }),
    bare: { wallMs: 1000, steps: { importMs: 0, trainMs: 0, evaluateMs: 0, predictMs: 0 } },
  };
}

const probe = (coldStartMs: number, warm: number[], batchMs: number) => ({
  coldStartMs,
  warmMs: warm,
  warmCpuMs: [],
  budgetS: 20,
  answers: [],
  batchMs,
  batchRows: 4000,
  batchProblem: null,
  peakRssBytes: null,
  problem: null,
});

describe("the bench's serving probe share (issue 13)", () => {
  it('splits what the probe adds into cold start, warm calls, batch and the rest', () => {
    const share = servingShare(round(20_000, 15_000, probe(400, Array(200).fill(10), 300)));
    expect(share).toEqual({ addedMs: 5000, coldStartMs: 400, warmCalls: 200, warmMs: 2000, batchMs: 300 });
    expect(servingShareText([round(20_000, 15_000, probe(400, Array(200).fill(10), 300))])).toBe(
      "the probe adds 5.0 s: cold start 0.40 s, 200 warm single-row calls 2.00 s, batch 0.30 s; the other 2.30 s is the serving process's start before its first request, its clean-up, and the two gradings' spread",
    );
  });

  it('takes medians over the rounds', () => {
    const rounds = [round(20_000, 15_000, probe(400, [10, 10], 300)), round(30_000, 15_000, probe(600, [20, 20], 500)), round(21_000, 15_000, probe(500, [15, 15], 400))];
    expect(servingShareText(rounds)).toMatch(/^the probe adds 6\.0 s: cold start 0\.50 s, 2 warm single-row calls 0\.03 s, batch 0\.40 s;/);
  });

  it('says so when predictions.json held no serving result', () => {
    expect(servingShareText([round(16_000, 15_000, null)])).toBe('the probe adds 1.0 s; its parts were not recorded (no serving result in predictions.json)');
  });
});
