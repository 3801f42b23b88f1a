import { describe, expect, it } from 'vitest';
import { productionSection } from '../../services/reports/render-production.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';

const check = (id: string, title: string, values: Record<string, number | string | null>) => ({ id, title, values });
const doc = (checks: ReturnType<typeof check>[]) => ({ checks }) as unknown as ReportDocument;

describe('Markdown production section', () => {
  it('states the key numbers of each production check, in report order, with n/a for numbers a check does not have', () => {
    const lines = productionSection(
      doc([
        check('cv.used', 'Cross-validation', { folds: 5 }),
        check('serving.latency', 'Fast enough', { p50Ms: 1.234, p99Ms: 12.5, calls: 200, cpus: 2, coldStartMs: 812.4, batchRowsPerSecond: 51234.6 }),
        check('business.threshold', 'Tuned decisions', { ownCost: 3120, bestCost: 2480, bestThreshold: 0.1234, effectiveThreshold: 0.5, regret: 0.257 }),
        check('calibration', 'Calibrated', { ece: 0.0412, referenceEce: null, brier: 0.101, referenceBrier: 0.12 }),
        check('quality.business_cost', 'Money saved', { savingsVsReference: 1.184, cost: 2900, referenceCost: 3100, nobodyCost: 4200 }),
        check('serving.footprint', 'Lean', {}),
      ]),
    );
    expect(lines).toEqual([
      '',
      '## Production',
      '',
      '- **Fast enough** (`serving.latency`): one customer per call: p50 1.2 ms, p99 12.5 ms over 200 calls (2.0 CPUs); cold start 812 ms; batch 51235 rows/s',
      "- **Tuned decisions** (`business.threshold`): cost 3120 at the candidate's decisions (cut-off p ≥ 0.500) vs 2480 at the best cut-off (p ≥ 0.123); 26% of the possible savings given away",
      '- **Calibrated** (`calibration`): expected calibration error 0.041 (reference n/a); Brier score 0.101 (reference 0.120)',
      '- **Money saved** (`quality.business_cost`): saves 118% of what the reference model saves: cost 2900, reference 3100, calling nobody 4200',
    ]);
  });

  it('is left out when no production check has numbers', () => {
    expect(productionSection(doc([check('cv.used', 'Cross-validation', { folds: 5 }), check('calibration', 'Calibrated', {})]))).toEqual([]);
  });
});
