import { z } from 'zod';
import type { Evidence } from '../check-schema.ts';
import { defineCheck } from '../define-check.ts';
import { ev, notRun, type MeasureContext } from '../measure-context.ts';

export const contractInterface = defineCheck({
  id: 'contract.interface',
  title: 'Submission contract',
  category: 'engineering',
  basis: 'mixed',
  explanation: 'The submission can be imported and provides train() and predict() that return well-formed results. Without this nothing else can be judged.',
  thresholds: z.object({}).strict(),
  measure,
  judge: (v) => {
    if (v.blocking === true) return { status: 'fail', summary: String(v.problem ?? 'the submission does not follow the contract') };
    if (typeof v.optionalProblems === 'number' && v.optionalProblems > 0)
      return { status: 'warn', summary: `required functions work; ${v.optionalProblems} optional part(s) malformed: ${v.problem}` };
    return { status: 'pass', summary: 'train() and predict() work and return well-formed results' };
  },
});

function measure(ctx: MeasureContext) {
  const { input, train } = ctx;
  const killed = ctx.stopCause !== null;
  const problems: string[] = [];
  const optional: string[] = [];
  const evidence: Evidence[] = [];
  if (!train) {
    if (killed) return notRun(`the run was stopped before the interface could be checked: ${input.train.problem ?? ''}`.trim());
    problems.push(input.train.problem ?? 'the grading harness produced no result');
  } else if (!train.solution.found) {
    const seen = input.topLevelEntries.slice(0, 10).join(', ');
    problems.push(`no solution.py at the archive root or inside a single top-level folder (the archive holds: ${seen || 'nothing'})`);
  } else if (train.solution.importError) {
    problems.push(`importing ${train.solution.path} failed: ${train.solution.importError}`);
  } else {
    const f = train.solution.functions;
    if (!f.train) problems.push(`${train.solution.path} defines no function train(train_csv)`);
    if (!f.predict) problems.push(`${train.solution.path} defines no function predict(model, csv)`);
    const tp = train.phases.find((p) => p.name === 'train');
    if (f.train && tp && tp.status !== 'ok') {
      if (tp.status === 'error') problems.push(`train() failed: ${tp.error ?? 'unknown error'}`);
      else if (killed) return notRun(`train() did not finish (${tp.status}), so predict() could not be checked`);
    }
    if (problems.length === 0 && f.predict) {
      const primary = ctx.primary ?? undefined;
      if (!input.predict?.result) problems.push(input.predict?.problem ?? 'predict() was not run');
      else if (!primary || !primary.labels) problems.push(`predict(): ${primary?.labelsProblem ?? 'no output'}`);
      else if (!ctx.labels) problems.push(`predict() returned ${primary.labels.length} labels for ${input.truth.length} rows`);
      if (primary?.probabilitiesProblem && f.predict_proba) optional.push(`predict_proba(): ${primary.probabilitiesProblem}`);
    }
    if (f.evaluate && train.evaluateProblem) optional.push(`evaluate(): ${train.evaluateProblem}`);
    evidence.push(
      ev(
        'Functions found',
        Object.entries(f)
          .map(([k, v]) => `${k}: ${v ? 'yes' : 'no'}`)
          .join(', '),
      ),
    );
  }
  // A notebook's magics and shell escapes are not Python: the module was built without them.
  const dropped = train?.solution.notes ?? [];
  if (dropped.length) evidence.push(ev(`Notebook: ${dropped.length} IPython line(s) dropped, not run`, dropped.join('; '), { file: train!.solution.path ?? undefined }));
  for (const p of problems) evidence.unshift(ev('Problem', p));
  for (const p of optional) evidence.push(ev('Optional part', p));
  return {
    ran: true,
    values: { blocking: problems.length > 0, problem: problems[0] ?? optional[0] ?? null, optionalProblems: optional.length },
    evidence,
  };
}
