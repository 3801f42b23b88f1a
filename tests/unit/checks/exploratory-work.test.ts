import { describe, expect, it } from 'vitest';
import type { LintFinding } from '../../../services/checks/harness-output.ts';
import { leakagePreprocessing } from '../../../services/checks/leakage/preprocessing.ts';
import { leakageResampling } from '../../../services/checks/leakage/resampling.ts';
import { context } from './check-fixtures.ts';

/** Lint findings in exploratory work (files the graded solution does not import) are shown, and fail nothing by default. */
const finding = (rule: LintFinding['rule'], file: string, exploratory: boolean): LintFinding => ({ rule, file, line: 10, col: 0, message: `${rule} here`, code: 'x', exploratory });

describe('exploratory work in the leakage checks', () => {
  it.each([
    { check: leakageResampling, rule: 'resample-before-split' as const, file: 'scratch_oversample.py' },
    { check: leakagePreprocessing, rule: 'stat-before-split' as const, file: 'eda.ipynb#cell-3' },
  ])('$check.id: shown as exploratory, passes', ({ check, rule, file }) => {
    const m = check.measure(context({ train: { lint: [finding(rule, file, true)] } }));
    expect(m.evidence).toContainEqual({ label: `lint: ${rule} (in exploratory work)`, detail: `${rule} here`, file, line: 10, code: 'x' });
    expect(check.judge(m.values, check.thresholds.parse({}) as never).status).toBe('pass');
  });

  it('the same finding in the graded code fails leakage.resampling', () => {
    const m = leakageResampling.measure(context({ train: { lint: [finding('resample-before-split', 'solution.py', false)] } }));
    expect(leakageResampling.judge(m.values, {}).status).toBe('fail');
  });
});
