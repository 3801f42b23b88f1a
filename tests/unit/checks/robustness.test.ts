import { describe, it } from 'vitest';
import { robustnessMessyInput } from '../../../services/checks/robustness/messy-input.ts';
import { expectJudged, expectMeasured, LABELS, measureInput, predictions, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

describe('robustness.messy_input', () => {
  it.each<JudgeCase>([
    { name: 'every messy input predicted', values: { variants: 3, failedVariants: 0 }, status: 'pass', summary: 'valid predictions on all 3 messy inputs' },
    { name: 'one failed', values: { variants: 3, failedVariants: 1 }, status: 'fail', summary: 'predict() failed or returned invalid output on 1 of 3 messy inputs' },
  ])('judge: $name', (c) => expectJudged('robustness.messy_input', c));

  const manifest = { ...measureInput().manifest, messyVariants: ['messy', 'new_columns'] };
  it.each<MeasureCase>([
    { name: 'valid predictions on the messy input', change: {}, values: { variants: 1, failedVariants: 0 }, evidence: 'messy' },
    {
      name: 'predict() raised on one, another not predicted',
      change: { input: { manifest }, predict: { variants: { prediction_time: predictions(LABELS), messy: predictions(null, { labelsProblem: 'predict raised KeyError: plan' }) } } },
      values: { variants: 2, failedVariants: 2 },
      evidence: 'predict raised KeyError: plan | no predictions returned',
    },
    {
      name: 'labels with a problem count as failed',
      change: { predict: { variants: { prediction_time: predictions(LABELS), messy: predictions(LABELS, { labelsProblem: 'labels out of range' }) } } },
      values: { failedVariants: 1 },
    },
    { name: 'no trained model', change: { predict: null }, reason: 'prediction was not run' },
    {
      name: 'no valid holdout predictions',
      change: { predict: { variants: { prediction_time: predictions(null), messy: predictions(LABELS) } } },
      reason: 'predict() does not give valid output on the ordinary holdout',
    },
    { name: 'an assessment without messy inputs', change: { input: { manifest: { ...manifest, messyVariants: [] } } }, reason: 'this assessment defines no messy inputs' },
  ])('measure: $name', (c) => expectMeasured(robustnessMessyInput.measure, c));
});
