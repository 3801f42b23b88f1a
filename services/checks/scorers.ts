import { accuracy, averagePrecision, balancedAccuracy, confusion, f1, precision, recall, rocAuc } from './metrics.ts';

/**
 * The scikit-learn scorer names a candidate may report from evaluate(), computed the same way on
 * the hidden holdout, with what a label-blind model scores (chance) for the null-labels check.
 */
export interface Scorer {
  name: string;
  /** Copes with class imbalance (unlike plain accuracy). */
  imbalanceAware: boolean;
  needsScores: boolean;
  compute(truth: number[], labels: number[], scores: number[] | null): number | null;
  /** What a model that learned nothing scores, at best, at prevalence p; null when undefined. */
  chance(p: number): number | null;
}

const withScores = (fn: (t: number[], s: number[]) => number | null) => (t: number[], l: number[], s: number[] | null) => fn(t, s ?? l);

const SCORERS: Scorer[] = [
  { name: 'roc_auc', imbalanceAware: true, needsScores: true, compute: withScores(rocAuc), chance: () => 0.5 },
  { name: 'average_precision', imbalanceAware: true, needsScores: true, compute: withScores(averagePrecision), chance: (p) => p },
  { name: 'f1', imbalanceAware: true, needsScores: false, compute: (t, l) => f1(confusion(t, l)), chance: (p) => (2 * p) / (1 + p) },
  {
    name: 'f1_macro',
    imbalanceAware: true,
    needsScores: false,
    compute: (t, l) => {
      const c = confusion(t, l);
      return (f1(c) + f1({ tp: c.tn, tn: c.tp, fp: c.fn, fn: c.fp })) / 2;
    },
    chance: (p) => Math.max((2 * p) / (1 + p), (2 * (1 - p)) / (2 - p)) / 2 + 0.25,
  },
  { name: 'balanced_accuracy', imbalanceAware: true, needsScores: false, compute: (t, l) => balancedAccuracy(confusion(t, l)), chance: () => 0.5 },
  { name: 'recall', imbalanceAware: true, needsScores: false, compute: (t, l) => recall(confusion(t, l)), chance: () => null },
  { name: 'precision', imbalanceAware: false, needsScores: false, compute: (t, l) => precision(confusion(t, l)), chance: (p) => p },
  { name: 'accuracy', imbalanceAware: false, needsScores: false, compute: (t, l) => accuracy(confusion(t, l)), chance: (p) => Math.max(p, 1 - p) },
  {
    name: 'matthews_corrcoef',
    imbalanceAware: true,
    needsScores: false,
    compute: (t, l) => {
      const { tp, tn, fp, fn } = confusion(t, l);
      const d = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
      return d === 0 ? 0 : (tp * tn - fp * fn) / d;
    },
    chance: () => 0,
  },
  {
    name: 'neg_log_loss',
    imbalanceAware: true,
    needsScores: true,
    compute: (t, _l, s) => {
      if (!s) return null;
      const eps = 1e-15;
      let sum = 0;
      for (let i = 0; i < t.length; i++) {
        const q = Math.min(1 - eps, Math.max(eps, s[i]!));
        sum += t[i] === 1 ? Math.log(q) : Math.log(1 - q);
      }
      return sum / t.length;
    },
    chance: (p) => p * Math.log(p) + (1 - p) * Math.log(1 - p),
  },
  {
    name: 'neg_brier_score',
    imbalanceAware: true,
    needsScores: true,
    compute: (t, _l, s) => (s ? -t.reduce((acc, y, i) => acc + (s[i]! - y) ** 2, 0) / t.length : null),
    chance: (p) => -p * (1 - p),
  },
];

const ALIASES: Record<string, string> = { roc_auc_ovr: 'roc_auc', roc_auc_ovo: 'roc_auc', roc_auc_ovr_weighted: 'roc_auc', pr_auc: 'average_precision' };

export function findScorer(name: string): Scorer | null {
  const key = name.trim().toLowerCase();
  return SCORERS.find((s) => s.name === (ALIASES[key] ?? key)) ?? null;
}
