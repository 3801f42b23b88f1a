import { z } from 'zod';
import type { CheckStatus, Measurement } from './check-schema.ts';
import { cvEstimateCalibrated } from './cv/estimate-calibrated.ts';
import { cvStratified } from './cv/stratified.ts';
import { cvUsed } from './cv/used.ts';
import { contractInterface } from './engineering/contract-interface.ts';
import { reproducibilityDeterministic } from './engineering/reproducibility-deterministic.ts';
import { reproducibilityNotebookRuns } from './reproducibility/notebook-runs.ts';
import { sandboxResources } from './engineering/sandbox-resources.ts';
import { imbalanceBeatsBaseline } from './imbalance/beats-baseline.ts';
import { imbalanceMetric } from './imbalance/metric.ts';
import { imbalanceMinorityRecall } from './imbalance/minority-recall.ts';
import { leakageNullLabels } from './leakage/null-labels.ts';
import { leakagePreprocessing } from './leakage/preprocessing.ts';
import { leakageResampling } from './leakage/resampling.ts';
import { leakageTarget } from './leakage/target.ts';
import { leakageTransductive } from './leakage/transductive.ts';
import { robustnessMessyInput } from './robustness/messy-input.ts';
import { businessThreshold } from './production/business-threshold.ts';
import { calibration } from './production/calibration.ts';
import { modelQuality } from './production/model-quality.ts';
import { servingFootprint } from './production/serving-footprint.ts';
import { servingLatency } from './production/serving-latency.ts';

/**
 * The hidden checks, one module each under services/checks/<family>/: id, category, what each
 * measures in words a recruiter understands, its thresholds (with defaults and ranges the rubric
 * is validated against), how it is measured from a grading and how a measurement turns into a
 * status. Measurements are taken once per sandbox run; statuses are recomputed from them whenever
 * a rubric changes, without running anything again. The order here is the order of reports.
 */
export const CHECKS = [
  contractInterface,
  leakageTarget,
  leakagePreprocessing,
  leakageResampling,
  leakageTransductive,
  leakageNullLabels,
  cvUsed,
  cvStratified,
  cvEstimateCalibrated,
  imbalanceMetric,
  imbalanceBeatsBaseline,
  imbalanceMinorityRecall,
  robustnessMessyInput,
  reproducibilityDeterministic,
  reproducibilityNotebookRuns,
  sandboxResources,
  servingLatency,
  servingFootprint,
  businessThreshold,
  calibration,
  modelQuality,
] as const;

export * from './check-schema.ts';

export type CheckId = (typeof CHECKS)[number]['id'];
export const CHECK_IDS = CHECKS.map((c) => c.id) as [CheckId, ...CheckId[]];
export const checkIdSchema = z.enum(CHECK_IDS);

export function checkDefinition(id: string) {
  const def = CHECKS.find((c) => c.id === id);
  if (!def) throw new Error(`unknown check ${id}`);
  return def;
}

/** Status and summary of one check from its measurement and (validated) thresholds. */
export function judgeCheck(id: CheckId, m: Measurement, thresholds: Record<string, unknown>): { status: CheckStatus; summary: string; score?: number } {
  if (!m.ran) return { status: 'skipped', summary: m.reason ?? 'not run' };
  const def = checkDefinition(id);
  const t = def.thresholds.parse(thresholds) as never;
  try {
    return def.judge(m.values, t);
  } catch (err) {
    return { status: 'error', summary: `check could not be judged: ${(err as Error).message}` };
  }
}
