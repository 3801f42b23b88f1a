import type { ReportDocument } from './report-schema.ts';

type Values = ReportDocument['checks'][number]['values'];

const n = (v: Values[string] | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** A number for prose: fixed decimals, or "n/a" when the check has none. */
const num = (v: Values[string] | undefined, d: number, unit = '') => {
  const x = n(v);
  return x === null ? 'n/a' : `${x.toFixed(d)}${unit}`;
};
const pct = (v: Values[string] | undefined) => {
  const x = n(v);
  return x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`;
};

/** One line per production check: the numbers a reviewer reads first, from the check's values. */
const LINES: Record<string, (v: Values) => string> = {
  'serving.latency': (v) =>
    `one customer per call: p50 ${num(v.p50Ms, 1, ' ms')}, p99 ${num(v.p99Ms, 1, ' ms')} over ${num(v.calls, 0)} calls (${v.cpus === null || v.cpus === undefined ? 'CPU quota not stated' : `${num(v.cpus, 1)} CPUs`}); cold start ${num(v.coldStartMs, 0, ' ms')}; batch ${num(v.batchRowsPerSecond, 0)} rows/s`,
  'serving.footprint': (v) =>
    `model file ${num(v.modelMb, 1, ' MB')} (training data ${num(v.trainMb, 1, ' MB')}); serving peak memory ${num(v.servingPeakMb, 0, ' MB')}; training customer ids found in the model: ${num(v.idsFound, 0)} of ${num(v.idsSampled, 0)}`,
  'business.threshold': (v) =>
    `cost ${num(v.ownCost, 0)} at the candidate's decisions (cut-off p ≥ ${num(v.effectiveThreshold, 3)}) vs ${num(v.bestCost, 0)} at the best cut-off (p ≥ ${num(v.bestThreshold, 3)}); ${pct(v.regret)} of the possible savings given away`,
  calibration: (v) => `expected calibration error ${num(v.ece, 3)} (reference ${num(v.referenceEce, 3)}); Brier score ${num(v.brier, 3)} (reference ${num(v.referenceBrier, 3)})`,
  'quality.business_cost': (v) =>
    `saves ${pct(v.savingsVsReference)} of what the reference model saves: cost ${num(v.cost, 0)}, reference ${num(v.referenceCost, 0)}, calling nobody ${num(v.nobodyCost, 0)}`,
};

/** The Markdown report's "Production" section; empty when the report has none of these checks with numbers. */
export function productionSection(r: ReportDocument): string[] {
  const rows = r.checks.filter((c) => LINES[c.id] && Object.keys(c.values).length);
  if (!rows.length) return [];
  return ['', '## Production', '', ...rows.map((c) => `- **${c.title}** (\`${c.id}\`): ${LINES[c.id]!(c.values)}`)];
}
