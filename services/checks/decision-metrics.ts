/**
 * What a model's probabilities are worth for a decision: calibration (Brier score, expected
 * calibration error, the reliability curve), the business cost at every threshold, the threshold a
 * set of labels effectively used, and latency quantiles. Pure functions on plain arrays.
 */

export interface Costs {
  falseNegative: number;
  falsePositive: number;
}

/** Mean squared difference between the probability and the 0/1 outcome. */
export function brierScore(truth: readonly number[], probs: readonly number[]): number | null {
  if (truth.length === 0 || truth.length !== probs.length) return null;
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += (probs[i]! - truth[i]!) ** 2;
  return s / truth.length;
}

export interface ReliabilityBin {
  /** Lower and upper edge of the probability bin. */
  lo: number;
  hi: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

/**
 * Equal-width probability bins (the last one includes 1) with the mean predicted probability and
 * the observed positive rate of each non-empty bin, and the expected calibration error: the
 * row-weighted mean gap between the two.
 */
export function reliability(truth: readonly number[], probs: readonly number[], bins = 10): { bins: ReliabilityBin[]; ece: number } | null {
  if (truth.length === 0 || truth.length !== probs.length) return null;
  const n = new Array<number>(bins).fill(0);
  const p = new Array<number>(bins).fill(0);
  const y = new Array<number>(bins).fill(0);
  for (let i = 0; i < truth.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(probs[i]! * bins)));
    n[b]!++;
    p[b]! += probs[i]!;
    y[b]! += truth[i]!;
  }
  const out: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (n[b] === 0) continue;
    const meanPredicted = p[b]! / n[b]!;
    const observedRate = y[b]! / n[b]!;
    ece += (n[b]! / truth.length) * Math.abs(meanPredicted - observedRate);
    out.push({ lo: b / bins, hi: (b + 1) / bins, rows: n[b]!, meanPredicted, observedRate });
  }
  return { bins: out, ece };
}

export interface CostPoint {
  /** Flag a row when its probability is at least this. */
  threshold: number;
  cost: number;
}

/**
 * The business cost of "flag when p >= t" for every distinct probability t on the data, plus
 * "flag nobody" (listed just above the largest probability). Ascending t.
 */
export function costByThreshold(truth: readonly number[], probs: readonly number[], costs: Costs): CostPoint[] {
  const idx = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
  let positives = 0;
  for (const t of truth) positives += t === 1 ? 1 : 0;
  // Walking down from the highest probability: everything above the cut is flagged.
  let fn = positives;
  let fp = 0;
  const points: CostPoint[] = [{ threshold: (probs[idx[0]!] ?? 0) + 1e-6, cost: fn * costs.falseNegative }];
  for (let k = 0; k < idx.length;) {
    const t = probs[idx[k]!]!;
    while (k < idx.length && probs[idx[k]!] === t) {
      if (truth[idx[k]!] === 1) fn--;
      else fp++;
      k++;
    }
    points.push({ threshold: t, cost: fn * costs.falseNegative + fp * costs.falsePositive });
  }
  return points.reverse();
}

/** The cheapest threshold on the data (the highest one among equals: fewest calls). */
export function bestThreshold(points: readonly CostPoint[]): CostPoint | null {
  let best: CostPoint | null = null;
  for (const p of points) if (!best || p.cost < best.cost || (p.cost === best.cost && p.threshold > best.threshold)) best = p;
  return best;
}

/**
 * The threshold a set of labels effectively applied to these probabilities: the cut "flag when
 * p >= t" that agrees with the most labels, and the share it agrees with (1: the labels are exactly
 * a threshold on the probabilities; lower: the labels come from something else as well).
 */
export function effectiveThreshold(labels: readonly number[], probs: readonly number[]): { threshold: number; agreement: number } | null {
  if (labels.length === 0 || labels.length !== probs.length) return null;
  const idx = [...probs.keys()].sort((a, b) => probs[a]! - probs[b]!);
  // Cut below everything: all flagged, so agreement = share of labels that are 1.
  let agree = 0;
  for (const l of labels) agree += l === 1 ? 1 : 0;
  let best = { threshold: probs[idx[0]!]!, agree };
  for (let k = 0; k < idx.length;) {
    const t = probs[idx[k]!]!;
    while (k < idx.length && probs[idx[k]!] === t) {
      agree += labels[idx[k]!] === 1 ? -1 : 1; // this row moves below the cut
      k++;
    }
    const next = k < idx.length ? probs[idx[k]!]! : Math.min(1, t + 1e-9);
    if (agree > best.agree) best = { threshold: k < idx.length ? (t + next) / 2 : next, agree };
  }
  return { threshold: best.threshold, agreement: best.agree / labels.length };
}

/** The q-quantile (0..1) by linear interpolation between order statistics. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
