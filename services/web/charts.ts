import type { HoldoutMetrics } from '../reports/report-schema.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * Inline SVG charts for the report page. Presentation attributes only (no style attributes), so
 * they work under a strict Content-Security-Policy and print as vectors. Each chart has a title
 * and a text description for screen readers.
 */

export const f = (x: number, d = 1) => Number(x.toFixed(d));
export const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
export const INK = '#172033';
export const MUTED = '#4f5a6e';
export const GRID = '#e3e7ee';
export const ACCENT = '#1f46c4';

let chartSeq = 0;
export const chartId = (kind: string) => `chart-${kind}-${++chartSeq}`;

function mix(a: [number, number, number], b: [number, number, number], t: number): string {
  const c = a.map((v, i) => Math.round(v + (b[i]! - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** 2×2 confusion matrix; correct cells green, errors red, shade by share of the actual class. */
export function confusionMatrixChart(h: HoldoutMetrics, labels: { positive: string; negative: string }): SafeHtml {
  const { tp, fn, fp, tn } = h.confusion;
  const id = chartId('confusion');
  const x0 = 118;
  const y0 = 58;
  const w = 112;
  const hgt = 84;
  const cells = [
    { r: 0, c: 0, n: tp, of: tp + fn, name: 'True positives', good: true },
    { r: 0, c: 1, n: fn, of: tp + fn, name: 'Missed (false negatives)', good: false },
    { r: 1, c: 0, n: fp, of: fp + tn, name: 'False alarms (false positives)', good: false },
    { r: 1, c: 1, n: tn, of: fp + tn, name: 'True negatives', good: true },
  ];
  const desc = `Actual ${labels.positive}: ${tp} predicted ${labels.positive}, ${fn} predicted ${labels.negative}. Actual ${labels.negative}: ${fp} predicted ${labels.positive}, ${tn} predicted ${labels.negative}.`;
  return html`<svg class="chart chart-confusion" viewBox="0 0 350 250" role="img" aria-labelledby="${id}-t ${id}-d">
  <title id="${id}-t">Confusion matrix on the hidden holdout</title>
  <desc id="${id}-d">${desc}</desc>
  <text x="${x0 + w}" y="20" text-anchor="middle" font-size="12" font-weight="700" fill="${MUTED}">Predicted</text>
  <text x="${x0 + w / 2}" y="44" text-anchor="middle" font-size="13" fill="${INK}">${labels.positive}</text>
  <text x="${x0 + w * 1.5}" y="44" text-anchor="middle" font-size="13" fill="${INK}">${labels.negative}</text>
  <text x="16" y="${y0 + hgt}" text-anchor="middle" font-size="12" font-weight="700" fill="${MUTED}" transform="rotate(-90 16 ${y0 + hgt})">Actual</text>
  <text x="${x0 - 10}" y="${y0 + hgt / 2 + 4}" text-anchor="end" font-size="13" fill="${INK}">${labels.positive}</text>
  <text x="${x0 - 10}" y="${y0 + hgt * 1.5 + 4}" text-anchor="end" font-size="13" fill="${INK}">${labels.negative}</text>
  ${cells.map((cell) => {
    const share = cell.of ? cell.n / cell.of : 0;
    const fill = cell.good ? mix([235, 246, 238], [31, 122, 66], share) : mix([253, 236, 236], [176, 32, 32], share);
    const ink = share > 0.5 ? '#ffffff' : INK;
    const x = x0 + cell.c * w;
    const y = y0 + cell.r * hgt;
    return html`<g class="cell">
    <title>${cell.name}: ${cell.n} (${(share * 100).toFixed(1)}% of actual ${cell.r === 0 ? labels.positive : labels.negative})</title>
    <rect x="${x}" y="${y}" width="${w - 3}" height="${hgt - 3}" rx="6" fill="${fill}" stroke="#ffffff"/>
    <text x="${x + (w - 3) / 2}" y="${y + 38}" text-anchor="middle" font-size="22" font-weight="700" fill="${ink}">${cell.n}</text>
    <text x="${x + (w - 3) / 2}" y="${y + 58}" text-anchor="middle" font-size="12" fill="${ink}">${cell.good ? 'correct' : cell.r === 0 ? 'missed' : 'false alarm'}</text>
    <text x="${x + (w - 3) / 2}" y="${y + 74}" text-anchor="middle" font-size="12" fill="${ink}">${(share * 100).toFixed(0)}% of row</text>
  </g>`;
  })}
</svg>`;
}

/** Precision against recall over every threshold, the no-skill line and the model's own labels. */
export function prCurveChart(h: HoldoutMetrics): SafeHtml {
  const id = chartId('pr');
  const L = 50;
  const R = 14;
  const T = 14;
  const B = 46;
  const W = 360;
  const H = 290;
  const pw = W - L - R;
  const ph = H - T - B;
  const X = (r: number) => f(L + r * pw);
  const Y = (p: number) => f(T + (1 - p) * ph);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const prevalence = h.rows ? h.positives / h.rows : 0;
  const pts = [...h.prCurve].sort((a, b) => a.recall - b.recall || b.precision - a.precision);
  // Start at recall 0 with the first point's precision so the curve reads from the left edge.
  const line = pts.length ? [{ recall: 0, precision: pts[0]!.precision }, ...pts] : [];
  const d = line.map((p) => `${X(p.recall)},${Y(p.precision)}`).join(' ');
  const area = line.length ? `${X(0)},${Y(0)} ${d} ${X(line[line.length - 1]!.recall)},${Y(0)}` : '';
  const desc = pts.length
    ? `Precision-recall curve with ${pts.length} points; area ${fmt(h.prAuc ?? NaN)}. At its own labels the model has recall ${fmt(h.recall)} and precision ${fmt(h.precision)}. A model that guesses has precision ${fmt(prevalence)}.`
    : 'No curve: the submission gave no probabilities (predict_proba).';
  return html`<svg class="chart chart-pr" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d">
  <title id="${id}-t">Precision-recall curve on the hidden holdout</title>
  <desc id="${id}-d">${desc}</desc>
  ${ticks.map(
    (t) => html`<line x1="${X(t)}" y1="${T}" x2="${X(t)}" y2="${T + ph}" stroke="${GRID}"/>
  <line x1="${L}" y1="${Y(t)}" x2="${L + pw}" y2="${Y(t)}" stroke="${GRID}"/>
  <text x="${X(t)}" y="${T + ph + 16}" text-anchor="middle" font-size="12.5" fill="${MUTED}">${t}</text>
  <text x="${L - 8}" y="${Y(t) + 4}" text-anchor="end" font-size="12.5" fill="${MUTED}">${t}</text>`,
  )}
  <rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#b9c1cf"/>
  <text x="${L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="13" font-weight="700" fill="${MUTED}">Recall (share of actual positives found)</text>
  <text x="14" y="${T + ph / 2}" text-anchor="middle" font-size="13" font-weight="700" fill="${MUTED}" transform="rotate(-90 14 ${T + ph / 2})">Precision</text>
  <line class="no-skill" x1="${X(0)}" y1="${Y(prevalence)}" x2="${X(1)}" y2="${Y(prevalence)}" stroke="#8a94a6" stroke-dasharray="5 4"/>
  <text x="${X(1) - 4}" y="${Y(prevalence) - 5}" text-anchor="end" font-size="12.5" fill="${MUTED}">guessing (${fmt(prevalence, 2)})</text>
  ${
    pts.length
      ? html`<polygon points="${area}" fill="${ACCENT}" fill-opacity="0.08"/>
  <polyline class="curve" points="${d}" fill="none" stroke="${ACCENT}" stroke-width="2.25" stroke-linejoin="round"/>`
      : html`<text x="${L + pw / 2}" y="${T + ph / 2}" text-anchor="middle" font-size="12.5" fill="${MUTED}">no probabilities from predict_proba()</text>`
  }
  <g class="operating-point">
    <title>The model's own labels: recall ${fmt(h.recall)}, precision ${fmt(h.precision)}</title>
    <circle cx="${X(h.recall)}" cy="${Y(h.precision)}" r="5.5" fill="#ffffff" stroke="#b02020" stroke-width="2.5"/>
  </g>
</svg>`;
}

/**
 * The candidate's own cross-validation fold scores next to the hidden holdout score and its
 * ±2·SE band: folds far to the right of the band mean the candidate's estimate was optimistic.
 */
export function foldScoresChart(e: { metric: string; foldScores: number[]; holdout: number | null; holdoutSe: number | null }): SafeHtml {
  const id = chartId('folds');
  // Narrow (340 units) with the row names above the rows, so the labels stay at 10 px or more
  // when the chart is scaled down to a phone screen.
  const W = 340;
  const H = 206;
  const L = 16;
  const R = 16;
  const pw = W - L - R;
  const folds = e.foldScores.filter(Number.isFinite);
  const mean = folds.length ? folds.reduce((a, b) => a + b, 0) / folds.length : NaN;
  const se = e.holdoutSe ?? 0;
  const vals = [...folds, ...(e.holdout !== null ? [e.holdout - 2 * se, e.holdout + 2 * se] : [])];
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  const pad = Math.max((hi - lo) * 0.12, 0.005);
  lo -= pad;
  hi += pad;
  const X = (v: number) => f(L + ((v - lo) / (hi - lo)) * pw);
  const step = niceStep((hi - lo) / 4);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toFixed(6)));
  const decimals = Math.max(0, Math.min(4, -Math.floor(Math.log10(step))));
  const foldY = 58;
  const holdY = 126;
  const axisY = 160;
  const desc =
    `${folds.length} fold scores of ${e.metric} from the candidate's evaluate(): ${folds.map((v) => fmt(v)).join(', ')} (mean ${fmt(mean)}). ` +
    (e.holdout !== null
      ? `Hidden holdout: ${fmt(e.holdout)} with a ±2 standard error band from ${fmt(e.holdout - 2 * se)} to ${fmt(e.holdout + 2 * se)}.`
      : 'No holdout score could be computed for this metric.');
  return html`<svg class="chart chart-folds" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d">
  <title id="${id}-t">Cross-validation fold scores against the hidden holdout (${e.metric})</title>
  <desc id="${id}-d">${desc}</desc>
  ${ticks.map(
    (t) => html`<line x1="${X(t)}" y1="44" x2="${X(t)}" y2="${axisY}" stroke="${GRID}"/>
  <text x="${X(t)}" y="${axisY + 16}" text-anchor="middle" font-size="12" fill="${MUTED}">${t.toFixed(decimals)}</text>`,
  )}
  ${
    e.holdout !== null
      ? html`<g class="holdout-band">
    <title>Hidden holdout ${fmt(e.holdout)} ± 2·SE (${fmt(e.holdout - 2 * se)} to ${fmt(e.holdout + 2 * se)})</title>
    <rect class="band" x="${X(e.holdout - 2 * se)}" y="44" width="${Math.max(1, X(e.holdout + 2 * se) - X(e.holdout - 2 * se))}" height="${axisY - 44}" fill="#f0a400" fill-opacity="0.18"/>
    <line class="holdout" x1="${X(e.holdout)}" y1="44" x2="${X(e.holdout)}" y2="${axisY}" stroke="#a86f00" stroke-width="2.5"/>
    <circle cx="${X(e.holdout)}" cy="${holdY}" r="6" fill="#a86f00"/>
  </g>`
      : ''
  }
  <line x1="${L}" y1="${axisY}" x2="${L + pw}" y2="${axisY}" stroke="#b9c1cf"/>
  <text x="${L}" y="${foldY - 22}" font-size="13" fill="${INK}" stroke="#ffffff" stroke-width="3" paint-order="stroke">Own CV folds</text>
  <text x="${L}" y="${holdY - 22}" font-size="13" fill="${INK}" stroke="#ffffff" stroke-width="3" paint-order="stroke">Hidden holdout</text>
  ${folds.map(
    (v, i) =>
      html`<circle class="fold" cx="${X(v)}" cy="${foldY + (i % 2 === 0 ? -6 : 6)}" r="5.5" fill="${ACCENT}" fill-opacity="0.85" stroke="#ffffff" stroke-width="1.5"><title>fold ${i + 1}: ${fmt(v)}</title></circle>`,
  )}
  ${Number.isFinite(mean) ? html`<line class="fold-mean" x1="${X(mean)}" y1="${foldY - 16}" x2="${X(mean)}" y2="${foldY + 16}" stroke="${INK}" stroke-width="2.5"><title>mean of folds: ${fmt(mean)}</title></line>` : ''}
  <text x="${L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="13" font-weight="700" fill="${MUTED}">${e.metric}</text>
</svg>`;
}

export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
}

/** A horizontal 0-100 bar (score bars in the category list). */
export function scoreBar(score: number | null, label: string): SafeHtml {
  const w = score === null ? 0 : Math.max(0, Math.min(100, score));
  const color = score === null ? '#b9c1cf' : score >= 80 ? '#1f7a42' : score >= 50 ? '#b77900' : '#b02020';
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${label}">
  <rect x="0" y="0" width="100" height="10" rx="5" fill="#e6e9ef"/>
  <rect x="0" y="0" width="${w}" height="10" rx="5" fill="${color}"/>
</svg>`;
}
