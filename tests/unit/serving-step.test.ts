import { describe, expect, it } from 'vitest';
import { withServing } from '../../services/grading/serving-step.ts';
import type { PredictResult, ServingResult } from '../../services/checks/harness-output.ts';
import type { StepOutcome } from '../../services/checks/measure-context.ts';

const labelled = { labels: [0, 1] as (0 | 1)[], probabilities: null, labelsProblem: null, probabilitiesProblem: null, durationMs: 5 };
const predict = (labels: boolean): PredictResult => ({
  harnessVersion: '2.5.0',
  mode: 'predict',
  phases: [],
  variants: { prediction_time: labels ? labelled : { ...labelled, labels: null, labelsProblem: 'predict raised' } },
  repeat: null,
  transductive: null,
});
const probe = {
  coldStartMs: 300,
  warmMs: [4, 5],
  warmCpuMs: [3, 4],
  budgetS: 20,
  answers: [[1, 1] as [number, 1]],
  batchMs: 40,
  batchRows: 2,
  batchProblem: null,
  peakRssBytes: 1e8,
  problem: null,
};
const step = (result: ServingResult | null, problem: string | null = null): StepOutcome<ServingResult> => ({ sandbox: null, result, problem });

describe('withServing: the serving container folded into the prediction result', () => {
  it('puts the probe where the checks and a rescore read it', () => {
    const got = withServing(predict(true), 'prediction_time', step({ harnessVersion: '2.5.0', mode: 'serve', serving: probe, problem: null }), 20);
    expect(got.serving).toEqual(probe);
    expect(got.variants).toEqual(predict(true).variants);
  });

  it('drops the probe when the whole-file answers it is checked against are missing', () => {
    expect(withServing(predict(false), 'prediction_time', step({ harnessVersion: '2.5.0', mode: 'serve', serving: probe, problem: null }), 20).serving).toBeNull();
  });

  it.each([
    [
      'the harness said why',
      step({ harnessVersion: '2.5.0', mode: 'serve', serving: null, problem: 'no model.pkl to serve: No such file' }),
      'the serving probe did not run: no model.pkl to serve: No such file',
    ],
    [
      'the container left nothing',
      step(null, 'the run produced no serving.json (the container ended: timeout)'),
      'the serving probe did not run: the run produced no serving.json (the container ended: timeout)',
    ],
  ])('a probe that did not run says why (%s)', (_, outcome, problem) => {
    const s = withServing(predict(true), 'prediction_time', outcome, 20).serving!;
    expect(s).toMatchObject({ coldStartMs: null, warmMs: [], answers: [], budgetS: 20, problem });
  });
});
