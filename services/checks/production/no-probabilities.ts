import { notRun, type MeasureContext } from '../measure-context.ts';

/** The measurement of a check judged on probabilities when predict_proba() gave none: not provided. */
export function noProbabilities({ train, primary }: MeasureContext, judged: string) {
  const has = train?.solution.functions.predict_proba ?? false;
  const why = primary?.probabilitiesProblem ?? (has ? 'predict_proba() gave no valid probabilities' : 'the submission has no predict_proba()');
  return notRun(`without probabilities ${judged} cannot be judged: ${why}`, 'predict_proba');
}
