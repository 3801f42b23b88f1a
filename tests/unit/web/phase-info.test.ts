import { describe, expect, it } from 'vitest';
import { GRADER_PHASES } from '../../../services/submissions/grading-states.ts';
import { PHASE_STEPS, phaseInfo } from '../../../services/web/pages/candidate-pages.ts';

describe("the candidate's progress steps", () => {
  it('every step the grader reports shows as its own progress step with its own words', () => {
    const shown = GRADER_PHASES.map((phase) => phaseInfo({ status: 'running', phase }, null));
    for (const info of shown) {
      expect(PHASE_STEPS.map((s) => s.key)).toContain(info.step);
      expect(info.step).not.toBe('queued');
      expect(info.terminal).toBe(false);
    }
    expect(new Set(shown.map((i) => i.label)).size).toBe(GRADER_PHASES.length);
  });

  it('the exploratory notebooks are named while they run, not "predicting"', () => {
    const info = phaseInfo({ status: 'running', phase: 'notebooks' }, null);
    expect(info.label).toMatch(/notebooks/);
    expect(info.label).not.toMatch(/Predicting/);
    expect(PHASE_STEPS.findIndex((s) => s.key === info.step)).toBeLessThan(PHASE_STEPS.findIndex((s) => s.key === 'scoring'));
  });
});
