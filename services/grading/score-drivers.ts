import type { CheckStatus } from '../checks/check-catalog.ts';
import type { ScoreDriver, TopLine } from '../reports/report-schema.ts';

/**
 * The report's top line: in one sentence, what most lifted and what most lowered the final score.
 * Every scored part of the score (a check with a weight and a score, a manual item a reviewer
 * scored) is worth a share of the 100 points; it lifts the score by the points it earned and lowers
 * it by the points it lost, and the earned points of all parts add up to the final score. Pure: the
 * same scored checks and manual scores always give the same sentence.
 */

/** One part of the final score as the top line weighs it. */
export interface ScorePart {
  kind: 'check' | 'manual';
  id: string;
  title: string;
  /** The check's status; null for a manual item. */
  status: CheckStatus | null;
  /** Points of the final 100 this part can give (its weight's share). */
  worth: number;
  /** 0..1: the share of `worth` it earned. */
  score: number;
}

interface ScoredPart {
  id: string;
  title: string;
  status: CheckStatus;
  score: number | null;
  weight: number;
}

interface ManualPart {
  weight: number;
  items: readonly { id: string; title: string; maxPoints: number }[];
}

/**
 * The parts of a final score, as scoring.ts combines them: checks by weight among the checks with a
 * score, making up the automatic score; manual items by maximum points among the scored ones,
 * making up the manual score; the two mixed by the rubric's manual weight once an item is scored.
 */
export function scoreParts(checks: readonly ScoredPart[], manual: ManualPart, scores: readonly { itemId: string; points: number }[]): ScorePart[] {
  const counted = checks.filter((c) => c.score !== null && c.weight > 0);
  const checkWeight = counted.reduce((s, c) => s + c.weight, 0);
  const items = manual.weight > 0 ? manual.items.flatMap((item) => (scores.some((s) => s.itemId === item.id) ? [item] : [])) : [];
  const maxPoints = items.reduce((s, i) => s + i.maxPoints, 0);
  const manualShare = maxPoints > 0 ? manual.weight : 0;
  const parts: ScorePart[] = counted.map((c) => ({
    kind: 'check',
    id: c.id,
    title: c.title,
    status: c.status,
    worth: (100 * (1 - manualShare) * c.weight) / checkWeight,
    score: c.score!,
  }));
  for (const item of maxPoints > 0 ? items : []) {
    const points = scores.find((s) => s.itemId === item.id)!.points;
    parts.push({
      kind: 'manual',
      id: item.id,
      title: item.title,
      status: null,
      worth: (100 * manualShare * item.maxPoints) / maxPoints,
      score: Math.min(item.maxPoints, Math.max(0, points)) / item.maxPoints,
    });
  }
  return parts;
}

/** Points as the sentence shows them: one decimal, none when it is zero ("20", "7.4"). */
const shown = (x: number) => Math.round(x * 10) / 10;
const pointsText = (x: number) => String(shown(x));

/** The parts sharing the largest shown amount (ties at the shown precision), in report order; none when it shows as 0. */
function most(parts: readonly ScorePart[], amount: (p: ScorePart) => number): ScorePart[] {
  const top = Math.max(0, ...parts.map((p) => shown(amount(p))));
  return top > 0 ? parts.filter((p) => shown(amount(p)) === top) : [];
}

const earned = (p: ScorePart) => p.worth * p.score;
const lost = (p: ScorePart) => p.worth * (1 - p.score);

function liftName(p: ScorePart): string {
  return p.kind === 'manual' ? `the manual item “${p.title}”` : `“${p.title}”`;
}

/** What a part that lost points is called: the check with its outcome, the manual item with its share. */
function lowerName(p: ScorePart): string {
  const share = `${Math.round(p.score * 100)}%`;
  if (p.kind === 'manual') return `the manual item “${p.title}” at ${share}`;
  switch (p.status) {
    case 'fail':
      return `failing “${p.title}”`;
    case 'error':
      return `“${p.title}”, which could not be judged,`;
    case 'warn':
      return `the warning on “${p.title}”`;
    default:
      return `“${p.title}” at ${share}`;
  }
}

/** "a", "a and b", "a, b and c", "a, b and 3 others". */
function names(list: string[]): string {
  if (list.length <= 2) return list.join(' and ');
  if (list.length === 3) return `${list[0]}, ${list[1]} and ${list[2]}`;
  return `${list[0]}, ${list[1]} and ${list.length - 2} others`;
}

const driver = (p: ScorePart, points: number): ScoreDriver => ({ kind: p.kind, id: p.id, title: p.title, points: shown(points), of: shown(p.worth) });
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The top line of a score made of `parts` (scoreParts). */
export function topLine(parts: readonly ScorePart[]): TopLine {
  const up = most(parts, earned);
  const down = most(parts, lost);
  const lifted = up.map((p) => driver(p, earned(p)));
  const lowered = down.map((p) => driver(p, lost(p)));
  const liftText = up.length ? `${names(up.map(liftName))} lifted the score most (+${pointsText(earned(up[0]!))}${up.length === 1 ? ` of ${pointsText(up[0]!.worth)}` : ' each'})` : null;
  const lowerText = down.length ? `${names(down.map(lowerName))} lowered it most (−${pointsText(lost(down[0]!))}${down.length === 1 ? '' : ' each'})` : null;
  let sentence: string;
  if (!parts.length) sentence = 'Nothing was scored, so nothing lifted or lowered the score.';
  else if (liftText && lowerText) sentence = `${capitalise(liftText)}; ${lowerText}.`;
  else if (liftText) sentence = `${capitalise(liftText)}; nothing lowered it.`;
  else if (lowerText) sentence = `Nothing lifted the score; ${lowerText}.`;
  else sentence = 'Nothing lifted or lowered the score.';
  return { sentence, lifted, lowered };
}
