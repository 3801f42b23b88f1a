/** Abbreviations kept as abbreviations when a measurement key is read out. */
const ACRONYMS: Record<string, string> = {
  auc: 'AUC',
  roc: 'ROC',
  pr: 'PR',
  cv: 'CV',
  se: 'SE',
  sd: 'SD',
  fn: 'FN',
  fp: 'FP',
  tp: 'TP',
  tn: 'TN',
  id: 'ID',
  ids: 'IDs',
  csv: 'CSV',
  f1: 'F1',
  ks: 'KS',
  p: 'p',
  ece: 'ECE',
  ms: 'ms',
  mb: 'MB',
};

/** A measurement key as people read it: "holdoutRocAuc" → "Holdout ROC AUC", "n_folds" → "N folds". */
export function valueLabel(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter(Boolean)
    .map((w) => ACRONYMS[w.toLowerCase()] ?? w.toLowerCase());
  const first = words[0] ?? key;
  return [first === first.toLowerCase() ? first.charAt(0).toUpperCase() + first.slice(1) : first, ...words.slice(1)].join(' ');
}
