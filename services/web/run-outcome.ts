import type { ReportDocument } from '../reports/report-schema.ts';

/** Where a graded pipeline stopped, in the candidate's progress steps (candidate-pages PHASE_STEPS). */
export interface DidNotRun {
  step: 'training' | 'predicting';
  /** What happened, in words a candidate reads: "crashed", "ran out of time", ... */
  reason: string;
}

const STATUS_WORDS: Record<string, string> = { error: 'stopped with an error', timeout: 'ran out of time', killed: 'was stopped at a resource limit (memory or processes)' };
const OUTCOME_WORDS: Record<string, string> = {
  nonzero_exit: 'stopped with an error',
  timeout: 'ran out of time',
  oom_killed: 'ran out of memory',
  pids_exhausted: 'started too many processes',
};

/**
 * A report whose pipeline produced no predictions on the hidden data: graded (the candidate's own
 * crash, timeout or broken contract is a result), but nothing behind it ran to the end. Null when
 * predictions were made. The failing phase is the first phase or container that did not complete.
 */
export function didNotRun(doc: ReportDocument): DidNotRun | null {
  if (doc.metrics.holdout) return null;
  const stepOf = (s: string): DidNotRun['step'] => (s === 'predict' ? 'predicting' : 'training');
  const phase = doc.resources.find((r) => STATUS_WORDS[r.status]);
  if (phase) return { step: stepOf(phase.step), reason: `${phase.phase.replace(/_/g, ' ')} ${STATUS_WORDS[phase.status]}` };
  // The exploratory notebooks' container runs after prediction and never stops the pipeline.
  const container = doc.sandbox.find((s) => s.step !== 'notebooks' && OUTCOME_WORDS[s.outcome]);
  if (container) return { step: stepOf(container.step), reason: `the ${container.step} step ${OUTCOME_WORDS[container.outcome]}` };
  return {
    step: doc.sandbox.some((s) => s.step === 'predict') ? 'predicting' : 'training',
    reason: 'the pipeline did not produce predictions (solution.py could not be used as the brief describes)',
  };
}
