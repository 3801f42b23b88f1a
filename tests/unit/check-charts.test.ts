import { describe, expect, it } from 'vitest';
import { candidateView } from '../../services/web/candidate-view.ts';
import { checkChartFigure, checkChartOf, costThresholdChart, latencyChart, reliabilityChart } from '../../services/web/check-charts.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';
import { valueLabel } from '../../services/web/value-label.ts';

const EDGES = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240];
const latency = EDGES.map((x, i) => ({ x, y: [0, 3, 120, 60, 10, 4, 1, 2, 0, 0, 0, 0, 0, 1][i]! }));
const cost = Array.from({ length: 101 }, (_, i) => ({ x: i / 100, y: 1000 + 40 * (i - 20) ** 2 }));
const reliability = [
  { x: 0.05, y: 0.02 },
  { x: 0.3, y: 0.22 },
  { x: 0.7, y: 0.81 },
];

/** Every attribute `name` of the SVG, as numbers. */
const attrs = (svg: string, name: string) => [...svg.matchAll(new RegExp(` ${name}="([^"]*)"`, 'g'))].map((m) => Number(m[1]));
const viewBox = (svg: string) =>
  svg
    .match(/viewBox="0 0 (\d+) (\d+)"/)!
    .slice(1)
    .map(Number);

/** What every chart must hold to: CSP-safe, no broken numbers, text legible when shrunk, inside its box. */
function expectWellFormed(svg: string) {
  expect(svg).not.toMatch(/style=|<script|NaN|Infinity|undefined/);
  expect(svg).toMatch(/<title id="chart-[a-z]+-\d+-t">[^<]+<\/title>\s*<desc id="chart-[a-z]+-\d+-d">[^<]+<\/desc>/);
  const sizes = attrs(svg, 'font-size');
  expect(sizes.length).toBeGreaterThan(5);
  expect(Math.min(...sizes)).toBeGreaterThanOrEqual(12);
  const [w, h] = viewBox(svg);
  // 320 units wide: at 270 px on a phone, 12-unit text is 10 px.
  expect(w).toBe(320);
  const xs = [...attrs(svg, 'x'), ...attrs(svg, 'x1'), ...attrs(svg, 'x2'), ...attrs(svg, 'cx')];
  const ys = [...attrs(svg, 'y'), ...attrs(svg, 'y1'), ...attrs(svg, 'y2'), ...attrs(svg, 'cy')];
  expect(Math.min(...xs, ...ys)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...xs)).toBeLessThanOrEqual(w!);
  expect(Math.max(...ys)).toBeLessThanOrEqual(h!);
}

describe('latency histogram', () => {
  it('draws a bar per non-empty bucket, the budget line between the 40 and 80 ms buckets and the slower buckets red', () => {
    const svg = latencyChart(latency, 80).value;
    expectWellFormed(svg);
    const bars = [...svg.matchAll(/<rect class="bar" x="([\d.]+)"[^>]*fill="([^"]+)"><title>([^<]+)<\/title>/g)];
    expect(bars.map((b) => b[3])).toEqual([
      '1–2 ms: 3 calls',
      '2–5 ms: 120 calls',
      '5–10 ms: 60 calls',
      '10–20 ms: 10 calls',
      '20–40 ms: 4 calls',
      '40–80 ms: 1 calls',
      '80–160 ms: 2 calls',
      'over 5120 ms: 1 calls',
    ]);
    expect(bars.map((b) => b[2])).toEqual([...Array(6).fill('#1f46c4'), '#b02020', '#b02020']);
    // The line sits at the right edge of the 40-80 ms bucket: 7 of 14 bucket widths into the plot.
    const budgetX = Number(svg.match(/<g class="budget"><line x1="([\d.]+)"/)![1]);
    expect(budgetX).toBeCloseTo(46 + (7 * (320 - 58)) / 14, 0);
    expect(svg).toContain('budget 80 ms');
    // The tallest bar reaches a round axis maximum of at least 120.
    expect(svg).toMatch(/>1[2-5]0<\/text>/);
  });

  it('puts a budget between bucket edges inside its bucket, and draws no line without a budget', () => {
    const at = (b: number) => Number(latencyChart(latency, b).value.match(/<g class="budget"><line x1="([\d.]+)"/)![1]);
    expect(at(50)).toBeGreaterThan(at(40));
    expect(at(50)).toBeLessThan(at(80));
    expect(latencyChart(latency, null).value).not.toContain('class="budget"');
  });
});

describe('cost by cut-off', () => {
  it('draws the curve through every point and marks the cheapest and the candidate cut-off with their costs', () => {
    const svg = costThresholdChart(cost, 0.2, 0.5).value;
    expectWellFormed(svg);
    expect(svg.match(/<polyline class="curve" points="([^"]+)"/)![1]!.split(' ')).toHaveLength(101);
    expect(svg).toMatch(/<g class="best">[\s\S]*cheapest cut-off: p ≥ 0\.20, cost 1000<\/text><\/g>/);
    expect(svg).toMatch(/<g class="effective">[\s\S]*candidate&#39;s cut-off: p ≥ 0\.50, cost 37k<\/text><\/g>/);
    // The cheapest point sits at the bottom of the curve.
    const ring = (cls: string) => Number(svg.match(new RegExp(`<g class="${cls}">[\\s\\S]*?<circle cx="[\\d.]+" cy="([\\d.]+)"`))![1]);
    expect(ring('best')).toBeGreaterThan(ring('effective'));
  });

  it("labels the marks with the check's exact costs when it has them, the sampled curve's otherwise", () => {
    const svg = costThresholdChart(cost, 0.2, 0.5, { best: 990, effective: null }).value;
    expect(svg).toContain('cheapest cut-off: p ≥ 0.20, cost 990</text>');
    expect(svg).toContain('cut-off: p ≥ 0.50, cost 37k</text>');
    expect(
      checkChartOf({ id: 'business.threshold', series: { costByThreshold: cost }, values: { bestThreshold: 0.2, bestCost: 990, effectiveThreshold: 0.5, ownCost: 36500 } }),
    ).toMatchObject({ bestCost: 990, effectiveCost: 36500 });
  });

  it('leaves out a mark it has no number for', () => {
    const svg = costThresholdChart(cost, null, 0.5).value;
    expect(svg).not.toContain('class="best"');
    expect(svg).toContain('class="effective"');
  });
});

describe('reliability curve', () => {
  it('draws the diagonal from (0,0) to (1,1) and one dot per bin', () => {
    const svg = reliabilityChart(reliability).value;
    expectWellFormed(svg);
    const d = svg
      .match(/<line class="diagonal" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/)!
      .slice(1)
      .map(Number);
    expect(d).toEqual([46, 246, 308, 14]);
    expect(svg.match(/<circle class="bin"/g)).toHaveLength(3);
    expect(svg).toContain('predicted 70.0%, observed 81.0%');
  });
});

describe('which check gets which chart', () => {
  const check = (id: string, series: Record<string, { x: number; y: number }[]>, values: Record<string, unknown> = {}) => ({ id, series, values });

  it('takes the latency budget from the rubric thresholds only when it is a number, the marks from the check values', () => {
    expect(checkChartOf(check('serving.latency', { latencyMs: latency }), { p99Ms: 120 })).toMatchObject({ kind: 'latency', budgetMs: 120 });
    expect(checkChartOf(check('serving.latency', { latencyMs: latency }), { p99Ms: '<script>alert(1)</script>' })).toMatchObject({ budgetMs: null });
    expect(checkChartOf(check('business.threshold', { costByThreshold: cost }, { bestThreshold: 0.12, effectiveThreshold: 'x' }))).toMatchObject({
      kind: 'cost',
      best: 0.12,
      effective: null,
    });
    expect(checkChartOf(check('calibration', { reliability: [...reliability, { x: Number.NaN, y: 1 }] }))).toEqual({ kind: 'reliability', points: reliability });
    expect(checkChartOf(check('calibration', { reliability: [] }))).toBeNull();
    expect(checkChartOf(check('cv.used', { reliability }))).toBeNull();
  });

  it('wraps each chart in a figure with its caption', () => {
    const fig = checkChartFigure({ kind: 'latency', points: latency, budgetMs: 80 }).value;
    expect(fig).toMatch(/^<figure class="chart check-chart" data-chart="latency"><div class="chart-title">Time per answer<\/div><svg class="chart chart-latency"/);
    expect(fig).toContain('slower than the 80 ms budget');
    expect(checkChartFigure({ kind: 'reliability', points: reliability }).value).toContain('data-chart="reliability"');
  });

  it('gives a candidate the chart only for checks shown in full', () => {
    const c = (visibility: string, id: string, series: Record<string, { x: number; y: number }[]>) => ({
      id,
      title: id,
      status: 'pass',
      visibility,
      summary: 's',
      explanation: 'e',
      values: { p99Ms: 12, bestThreshold: 0.1, effectiveThreshold: 0.5 },
      evidence: [],
      series,
    });
    const doc = {
      checks: [c('full', 'calibration', { reliability }), c('summary', 'serving.latency', { latencyMs: latency }), c('name', 'business.threshold', { costByThreshold: cost })],
    } as unknown as ReportDocument;
    const v = candidateView(doc, { checks: { 'serving.latency': { weight: 1, severity: 'major', thresholds: { p99Ms: 80 }, visibility: 'summary', whenNotRun: 'skipped' } } });
    expect(v.checks[0]!.chart).toEqual({ kind: 'reliability', points: reliability });
    expect(v.checks.slice(1).map((k) => k.chart)).toEqual([undefined, undefined]);
    expect(JSON.stringify(v.checks.slice(1))).not.toMatch(/p99|series|points|0\.5/);
  });
});

describe('value labels of the production checks', () => {
  it('reads units and abbreviations as people write them', () => {
    expect(['referenceEce', 'p99Ms', 'servingPeakMb', 'coldStartMs'].map(valueLabel)).toEqual(['Reference ECE', 'P99 ms', 'Serving peak MB', 'Cold start ms']);
  });
});
