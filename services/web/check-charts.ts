import type { SeriesPoint } from '../checks/check-catalog.ts';
import { ACCENT, GRID, INK, MUTED, chartId, f, fmt, niceStep } from './charts.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * Charts that belong to one check (its measurement's `series`), drawn inside that check on the
 * report pages. Same rules as charts.ts: inline SVG with presentation attributes only (strict
 * CSP), a title and a text description each. The viewBoxes are narrow (320 units) and no text is
 * under 12 units, so text stays at 10 px or more when a phone shrinks a chart to ~270 px.
 */

/** What one check's chart needs: the series and the marks drawn on it. */
export type CheckChart =
  | { kind: 'latency'; points: SeriesPoint[]; budgetMs: number | null }
  /** bestCost / effectiveCost: the check's exact costs at those cut-offs (the series is sampled every 0.01). */
  | { kind: 'cost'; points: SeriesPoint[]; best: number | null; effective: number | null; bestCost?: number | null; effectiveCost?: number | null }
  | { kind: 'reliability'; points: SeriesPoint[] };

interface ChartSource {
  id: string;
  series?: Record<string, SeriesPoint[]> | undefined;
  values: Record<string, unknown>;
}

const RED = '#b02020';
const GREEN = '#1f7a42';
const AMBER = '#b77900';
const W = 320;

const finiteNumber = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const clean = (ps: SeriesPoint[] | undefined) => (ps ?? []).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
/** Axis numbers: 12000 → "12k", so cost labels fit the left margin. */
const compact = (n: number) => (Math.abs(n) >= 10_000 ? `${f(n / 1000, 1)}k` : String(f(n, 2)));

/**
 * The chart of a check, or null when it has none (or no points). `thresholds`: the rubric's
 * thresholds for that check; the latency budget line is drawn only when they name one.
 */
export function checkChartOf(c: ChartSource, thresholds?: Record<string, unknown>): CheckChart | null {
  const s = c.series ?? {};
  if (c.id === 'serving.latency') {
    const points = clean(s.latencyMs);
    return points.length ? { kind: 'latency', points, budgetMs: finiteNumber(thresholds?.p99Ms) } : null;
  }
  if (c.id === 'business.threshold') {
    const points = clean(s.costByThreshold);
    return points.length
      ? {
          kind: 'cost',
          points,
          best: finiteNumber(c.values.bestThreshold),
          effective: finiteNumber(c.values.effectiveThreshold),
          bestCost: finiteNumber(c.values.bestCost),
          effectiveCost: finiteNumber(c.values.ownCost),
        }
      : null;
  }
  if (c.id === 'calibration') {
    const points = clean(s.reliability);
    return points.length ? { kind: 'reliability', points } : null;
  }
  return null;
}

/** A check's chart in its figure, with a title and a caption that says how to read it. */
export function checkChartFigure(chart: CheckChart): SafeHtml {
  switch (chart.kind) {
    case 'latency':
      return html`<figure class="chart check-chart" data-chart="latency"><div class="chart-title">Time per answer</div>${latencyChart(chart.points, chart.budgetMs)}<figcaption>Single-customer calls per time bucket (ms, uneven buckets).${chart.budgetMs !== null ? ` Red bars are slower than the ${fmt(chart.budgetMs, 0)} ms budget (dashed line).` : ''}</figcaption></figure>`;
    case 'cost':
      return html`<figure class="chart check-chart" data-chart="cost"><div class="chart-title">Business cost by cut-off</div>${costThresholdChart(chart.points, chart.best, chart.effective, { best: chart.bestCost ?? null, effective: chart.effectiveCost ?? null })}<figcaption>Cost on the hidden holdout if customers with a probability at or above the cut-off are called. Green: the cheapest cut-off; red ring: the cut-off the candidate's labels correspond to.</figcaption></figure>`;
    case 'reliability':
      return html`<figure class="chart check-chart" data-chart="reliability"><div class="chart-title">Reliability</div>${reliabilityChart(chart.points)}<figcaption>Customers grouped by predicted probability: how many churned against what was predicted. On the dashed diagonal the probabilities mean what they say.</figcaption></figure>`;
    default: {
      const never: never = chart;
      throw new Error(`unknown chart ${String(never)}`);
    }
  }
}

/** Ticks from 0 to a round number at or above `max`. */
function countTicks(max: number): { top: number; ticks: number[] } {
  const step = niceStep(Math.max(max, 1) / 4);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let t = 0; t <= top + 1e-9; t += step) ticks.push(Number(t.toFixed(6)));
  return { top, ticks };
}

interface Frame {
  H: number;
  L: number;
  T: number;
  pw: number;
  ph: number;
}

/** Grid, axis labels and titles shared by the three charts. */
function axes(fr: Frame, x: { pos: number; label: string }[], y: { pos: number; label: string }[], xTitle: string, yTitle: string): SafeHtml {
  const { L, T, pw, ph } = fr;
  return html`${y.map(
    (t) => html`<line x1="${L}" y1="${t.pos}" x2="${L + pw}" y2="${t.pos}" stroke="${GRID}"/>
  <text x="${L - 6}" y="${t.pos + 4}" text-anchor="end" font-size="12" fill="${MUTED}">${t.label}</text>`,
  )}
  ${x.map((t) => html`<text x="${t.pos}" y="${T + ph + 16}" text-anchor="middle" font-size="12" fill="${MUTED}">${t.label}</text>`)}
  <rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#b9c1cf"/>
  <text x="${L + pw / 2}" y="${T + ph + 36}" text-anchor="middle" font-size="12" font-weight="700" fill="${MUTED}">${xTitle}</text>
  <text x="13" y="${T + ph / 2}" text-anchor="middle" font-size="12" font-weight="700" fill="${MUTED}" transform="rotate(-90 13 ${T + ph / 2})">${yTitle}</text>`;
}

/**
 * Latency histogram: x = each bucket's upper edge in ms (the last bucket holds everything slower),
 * y = calls. Buckets are drawn equally wide; the budget line sits between the edges around it.
 */
export function latencyChart(points: SeriesPoint[], budgetMs: number | null): SafeHtml {
  const id = chartId('latency');
  const fr: Frame = { H: 250, L: 46, T: 28, pw: W - 46 - 12, ph: 250 - 28 - 50 };
  const buckets = [...points].sort((a, b) => a.x - b.x);
  const n = buckets.length;
  const band = fr.pw / n;
  const { top, ticks } = countTicks(Math.max(0, ...buckets.map((b) => b.y)));
  const X = (pos: number) => f(fr.L + pos * band);
  const Y = (v: number) => f(fr.T + (1 - v / top) * fr.ph);
  const lower = (i: number) => (i === 0 ? 0 : buckets[i - 1]!.x);
  const range = (i: number) => (i === n - 1 ? `over ${fmt(lower(i), 0)} ms` : `${fmt(lower(i), 0)}–${fmt(buckets[i]!.x, 0)} ms`);
  // Where the budget falls, in bucket widths from the left: log-interpolated inside its bucket.
  let budgetPos: number | null = null;
  if (budgetMs !== null && budgetMs > 0) {
    const i = buckets.findIndex((b) => budgetMs <= b.x);
    if (i < 0) budgetPos = n;
    else if (i === 0) budgetPos = budgetMs / buckets[0]!.x;
    else budgetPos = i + Math.log(budgetMs / lower(i)) / Math.log(buckets[i]!.x / lower(i));
  }
  const fill = (i: number) => (budgetMs === null || buckets[i]!.x <= budgetMs ? ACCENT : lower(i) >= budgetMs && i > 0 ? RED : AMBER);
  const total = buckets.reduce((s, b) => s + b.y, 0);
  const desc = `${total} calls. ${buckets
    .map((b, i) => (b.y ? `${range(i)}: ${b.y}` : ''))
    .filter(Boolean)
    .join('; ')}.${budgetMs !== null ? ` Budget ${fmt(budgetMs, 0)} ms.` : ''}`;
  const xTicks = [{ pos: X(0), label: '0' }, ...buckets.map((b, i) => ({ pos: X(i + 1), label: compact(b.x), i })).filter((t) => t.i % 2 === 0 && t.i < n - 1)];
  const budgetX = budgetPos === null ? null : X(budgetPos);
  return html`<svg class="chart chart-latency" viewBox="0 0 ${W} ${fr.H}" role="img" aria-labelledby="${id}-t ${id}-d">
  <title id="${id}-t">Time per single-customer answer</title>
  <desc id="${id}-d">${desc}</desc>
  ${axes(
    fr,
    xTicks,
    ticks.map((t) => ({ pos: Y(t), label: compact(t) })),
    'Milliseconds per answer',
    'Calls',
  )}
  ${buckets.map((b, i) =>
    b.y > 0
      ? html`<rect class="bar" x="${f(X(i) + 1)}" y="${Y(b.y)}" width="${f(Math.max(1, band - 2))}" height="${f(fr.T + fr.ph - Y(b.y))}" fill="${fill(i)}"><title>${range(i)}: ${b.y} calls</title></rect>`
      : '',
  )}
  ${
    budgetX !== null
      ? html`<g class="budget"><line x1="${budgetX}" y1="${fr.T - 4}" x2="${budgetX}" y2="${fr.T + fr.ph}" stroke="${RED}" stroke-width="2" stroke-dasharray="5 3"/>
  <text x="${budgetX}" y="${fr.T - 9}" text-anchor="${budgetX > fr.L + fr.pw * 0.7 ? 'end' : budgetX < fr.L + fr.pw * 0.3 ? 'start' : 'middle'}" font-size="12" font-weight="700" fill="${RED}">budget ${fmt(budgetMs!, 0)} ms</text></g>`
      : ''
  }
</svg>`;
}

/** Business cost at every cut-off "call when p ≥ x", with the cheapest and the candidate's cut-off marked. */
export function costThresholdChart(
  points: SeriesPoint[],
  best: number | null,
  effective: number | null,
  exact: { best: number | null; effective: number | null } = { best: null, effective: null },
): SafeHtml {
  const id = chartId('cost');
  const fr: Frame = { H: 292, L: 48, T: 14, pw: W - 48 - 12, ph: 292 - 14 - 92 };
  const curve = [...points].sort((a, b) => a.x - b.x);
  const { top, ticks } = countTicks(Math.max(0, ...curve.map((p) => p.y)));
  const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
  const X = (v: number) => f(fr.L + clamp01(v) * fr.pw);
  const Y = (v: number) => f(fr.T + (1 - v / top) * fr.ph);
  // The cost at a cut-off: the listed point nearest to it.
  const costAt = (t: number) => curve.reduce((a, b) => (Math.abs(b.x - t) < Math.abs(a.x - t) ? b : a)).y;
  const marks = [
    ...(best !== null ? [{ cls: 'best', t: best, cost: exact.best ?? costAt(best), color: GREEN, dash: '', name: 'cheapest cut-off' }] : []),
    ...(effective !== null ? [{ cls: 'effective', t: effective, cost: exact.effective ?? costAt(effective), color: RED, dash: '5 3', name: "candidate's cut-off" }] : []),
  ];
  const legendY = fr.T + fr.ph + 58;
  const desc = `Cost from ${compact(curve[0]!.y)} at cut-off ${fmt(curve[0]!.x, 2)} to ${compact(curve.at(-1)!.y)} at ${fmt(curve.at(-1)!.x, 2)}. ${marks.map((m) => `${m.name}: p ≥ ${fmt(m.t)}, cost ${compact(m.cost)}`).join('. ')}`;
  return html`<svg class="chart chart-cost" viewBox="0 0 ${W} ${fr.H}" role="img" aria-labelledby="${id}-t ${id}-d">
  <title id="${id}-t">Business cost by decision cut-off</title>
  <desc id="${id}-d">${desc}</desc>
  ${axes(
    fr,
    [0, 0.25, 0.5, 0.75, 1].map((t) => ({ pos: X(t), label: String(t) })),
    ticks.map((t) => ({ pos: Y(t), label: compact(t) })),
    'Cut-off (call when p ≥ x)',
    'Cost',
  )}
  <polyline class="curve" points="${curve.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ')}" fill="none" stroke="${ACCENT}" stroke-width="2.25" stroke-linejoin="round"/>
  ${marks.map(
    (m, i) => html`<g class="${m.cls}"><title>${m.name}: p ≥ ${fmt(m.t)}, cost ${compact(m.cost)}</title>
    <line x1="${X(m.t)}" y1="${fr.T}" x2="${X(m.t)}" y2="${fr.T + fr.ph}" stroke="${m.color}" stroke-width="2" ${m.dash ? html`stroke-dasharray="${m.dash}"` : ''}/>
    <circle cx="${X(m.t)}" cy="${Y(m.cost)}" r="5" fill="#ffffff" stroke="${m.color}" stroke-width="2.5"/>
    <line x1="${fr.L}" y1="${legendY + i * 18 - 4}" x2="${fr.L + 18}" y2="${legendY + i * 18 - 4}" stroke="${m.color}" stroke-width="2" ${m.dash ? html`stroke-dasharray="${m.dash}"` : ''}/>
    <text x="${fr.L + 24}" y="${legendY + i * 18}" font-size="12" fill="${INK}">${m.name}: p ≥ ${fmt(m.t, 2)}, cost ${compact(m.cost)}</text></g>`,
  )}
</svg>`;
}

/** Observed rate against mean predicted probability per bin, with the diagonal of perfect calibration. */
export function reliabilityChart(points: SeriesPoint[]): SafeHtml {
  const id = chartId('reliability');
  const fr: Frame = { H: 300, L: 46, T: 14, pw: W - 46 - 12, ph: 300 - 14 - 54 };
  const bins = [...points].sort((a, b) => a.x - b.x);
  const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
  const X = (v: number) => f(fr.L + clamp01(v) * fr.pw);
  const Y = (v: number) => f(fr.T + (1 - clamp01(v)) * fr.ph);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const desc = `${bins.length} bins. ${bins.map((b) => `predicted ${fmt(b.x * 100, 0)}%, observed ${fmt(b.y * 100, 0)}%`).join('; ')}.`;
  return html`<svg class="chart chart-reliability" viewBox="0 0 ${W} ${fr.H}" role="img" aria-labelledby="${id}-t ${id}-d">
  <title id="${id}-t">Predicted probability against observed churn rate</title>
  <desc id="${id}-d">${desc}</desc>
  ${axes(
    fr,
    ticks.map((t) => ({ pos: X(t), label: String(t) })),
    ticks.map((t) => ({ pos: Y(t), label: String(t) })),
    'Mean predicted probability',
    'Observed rate',
  )}
  <line class="diagonal" x1="${X(0)}" y1="${Y(0)}" x2="${X(1)}" y2="${Y(1)}" stroke="#8a94a6" stroke-dasharray="5 4"/>
  <polyline class="curve" points="${bins.map((b) => `${X(b.x)},${Y(b.y)}`).join(' ')}" fill="none" stroke="${ACCENT}" stroke-width="2.25" stroke-linejoin="round"/>
  ${bins.map((b) => html`<circle class="bin" cx="${X(b.x)}" cy="${Y(b.y)}" r="4.5" fill="${ACCENT}" stroke="#ffffff" stroke-width="1.5"><title>predicted ${fmt(b.x * 100, 1)}%, observed ${fmt(b.y * 100, 1)}%</title></circle>`)}
</svg>`;
}
