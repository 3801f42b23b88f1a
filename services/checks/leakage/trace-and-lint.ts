import type { Evidence, Measurement } from '../check-schema.ts';
import type { LeakFinding, LintFinding } from '../harness-output.ts';
import { ev, loc, notRun, type MeasureContext } from '../measure-context.ts';

/**
 * What leakage.preprocessing and leakage.resampling share: the run-time trace of the training and
 * evaluate phases and the lint of the code, and when they are not enough to judge.
 */

/** The lint findings of these rules in the graded code (or, with exploratory, in exploration files only). */
export const lintOf = ({ train }: MeasureContext, rules: readonly LintFinding['rule'][], exploratory = false) =>
  (train?.lint ?? []).filter((f) => rules.includes(f.rule) && Boolean(f.exploratory) === exploratory);

/** Why there is no trace or lint finding to judge by; null when there is. */
export function untraced(ctx: MeasureContext): Measurement | null {
  const { train } = ctx;
  if (!train) return notRun(ctx.input.train.problem ?? 'no trace was produced');
  // The trace of a phase is complete only if the phase finished; the lint stands on its own.
  const tracedOk = train.phases.some((p) => (p.name === 'train' || p.name === 'evaluate') && p.status === 'ok');
  if (tracedOk || lintOf(ctx, ['fit-before-split', 'select-before-split', 'resample-before-split', 'stat-before-split', 'fit-on-test-rows']).length > 0) return null;
  return notRun(train.solution.found ? 'neither train() nor evaluate() finished, so there is no complete trace' : "none of the submission's code ran");
}

export const leakEvidence = (l: LeakFinding): Evidence =>
  ev(
    `${l.estimator}.${l.method}() in ${l.phase}`,
    `fitted on ${l.fitRows} rows, including ${l.validationRowsSeen} of the ${l.validationRowsTotal} rows later used for validation${l.splitter ? ` by ${l.splitter}` : ''}` +
      (l.syntheticOrRepeatedValidationRows ? `; ${l.syntheticOrRepeatedValidationRows} validation rows were synthetic or repeated` : ''),
    loc(l),
  );

export const lintEvidence = (f: LintFinding): Evidence =>
  ev(f.exploratory ? `lint: ${f.rule} (in exploratory work)` : `lint: ${f.rule}`, f.message, { file: f.file, line: f.line, code: f.code });
