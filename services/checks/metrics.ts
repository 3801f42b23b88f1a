/**
 * Classification metrics on 0/1 labels, written out so that scoring never needs Python and the
 * platform's numbers do not depend on a library a candidate could also touch.
 */

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusion(truth: readonly number[], pred: readonly number[]): Confusion {
  if (truth.length !== pred.length) throw new Error(`length mismatch: ${truth.length} labels vs ${pred.length} predictions`);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < truth.length; i++) {
    if (pred[i] === 1) truth[i] === 1 ? c.tp++ : c.fp++;
    else truth[i] === 1 ? c.fn++ : c.tn++;
  }
  return c;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export const recall = (c: Confusion) => ratio(c.tp, c.tp + c.fn);
export const precision = (c: Confusion) => ratio(c.tp, c.tp + c.fp);
export const specificity = (c: Confusion) => ratio(c.tn, c.tn + c.fp);
export const accuracy = (c: Confusion) => ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn);
export const balancedAccuracy = (c: Confusion) => (recall(c) + specificity(c)) / 2;
export const f1 = (c: Confusion) => ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
export const cost = (c: Confusion, costs: { falseNegative: number; falsePositive: number }) => c.fn * costs.falseNegative + c.fp * costs.falsePositive;

/**
 * Scores of the positives and of the negatives, each sorted ascending. Typed-array sorts (no
 * comparator) keep the bootstrap's hundreds of recomputations cheap.
 */
function splitSorted(truth: readonly number[], score: readonly number[]): { pos: Float64Array; neg: Float64Array } {
  let p = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === 1) p++;
  const pos = new Float64Array(p);
  const neg = new Float64Array(truth.length - p);
  let a = 0;
  let b = 0;
  for (let i = 0; i < truth.length; i++) truth[i] === 1 ? (pos[a++] = score[i]!) : (neg[b++] = score[i]!);
  return { pos: pos.sort(), neg: neg.sort() };
}

/** ROC-AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs ranked right, ties half. */
export function rocAuc(truth: readonly number[], score: readonly number[]): number | null {
  const { pos, neg } = splitSorted(truth, score);
  if (pos.length === 0 || neg.length === 0) return null;
  // For each positive: negatives scored below it, plus half of those scored the same.
  let wins = 0;
  let below = 0;
  let upTo = 0;
  for (let i = 0; i < pos.length; i++) {
    const s = pos[i]!;
    while (below < neg.length && neg[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < neg.length && neg[upTo]! <= s) upTo++;
    wins += below + (upTo - below) / 2;
  }
  return wins / (pos.length * neg.length);
}

/** Average precision (area under the step-wise precision-recall curve), as scikit-learn defines it. */
export function averagePrecision(truth: readonly number[], score: readonly number[]): number | null {
  const curve = prCurvePoints(truth, score);
  if (!curve) return null;
  let ap = 0;
  let prevRecall = 0;
  for (const p of curve) {
    ap += (p.recall - prevRecall) * p.precision;
    prevRecall = p.recall;
  }
  return ap;
}

/** Precision and recall at every distinct threshold, from the highest score down. */
export function prCurvePoints(truth: readonly number[], score: readonly number[]): { threshold: number; precision: number; recall: number }[] | null {
  const { pos, neg } = splitSorted(truth, score);
  const totalPos = pos.length;
  if (totalPos === 0) return null;
  const points: { threshold: number; precision: number; recall: number }[] = [];
  let tp = 0;
  let fp = 0;
  let i = pos.length - 1;
  let j = neg.length - 1;
  while (i >= 0 || j >= 0) {
    // The next threshold down, and every row scored exactly that.
    const s = i < 0 ? neg[j]! : j < 0 ? pos[i]! : Math.max(pos[i]!, neg[j]!);
    while (i >= 0 && pos[i] === s) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === s) {
      fp++;
      j--;
    }
    points.push({ threshold: s, precision: tp / (tp + fp), recall: tp / totalPos });
  }
  return points;
}

/** At most `max` points of the PR curve, evenly spread over recall, for charts. */
export function downsampleCurve<T extends { recall: number }>(points: T[], max = 60): T[] {
  if (points.length <= max) return points;
  const out: T[] = [];
  let nextRecall = 0;
  for (const p of points)
    if (p.recall >= nextRecall) {
      out.push(p);
      nextRecall = p.recall + 1 / max;
    }
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]!);
  return out;
}

/** Deterministic PRNG (mulberry32) for bootstraps: the same grading gives the same numbers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}
