import { z } from 'zod';
import { defineCheck, fmt, num, pct, rate } from '../define-check.ts';
import { quantile } from '../decision-metrics.ts';
import { ev, notRun, type MeasureContext } from '../measure-context.ts';

export const servingLatency = defineCheck({
  id: 'serving.latency',
  title: 'Fast enough to answer one customer at a time',
  category: 'production',
  basis: 'host',
  explanation:
    'In production the model is asked about one customer per request. We load the trained model in a fresh process and send it single customers one after another, timing each answer ourselves: the slowest 1% of answers (p99) must stay within the budget (80 ms by default). Slow answers usually mean the model refits, recomputes or re-reads something on every request.',
  thresholds: z
    .object({
      p99Ms: z.number().positive().max(60_000).default(80),
      /**
       * A warning band below the budget, off by default (equal to it): single-call CPU times move
       * with the machine's load by tens of percent, and a clean model must not be warned for that.
       */
      warnP99Ms: z.number().positive().max(60_000).default(80),
      /** Share of single-row answers that may differ from the same rows' whole-file answers. */
      maxMismatchRate: rate.default(0.05),
    })
    .strict(),
  measure,
  judge: (v, t) => {
    const p99 = num(v, 'p99Ms');
    const mism = num(v, 'mismatchRate');
    const what = `p50 ${fmt(num(v, 'p50Ms'), 1)} ms, p99 ${fmt(p99, 1)} ms per customer over ${v.calls} calls (${v.cpus} CPUs); cold start ${fmt(num(v, 'coldStartMs'), 0)} ms`;
    if (mism > t.maxMismatchRate)
      return { status: 'fail', summary: `${what}; ${pct(mism)} of single-customer answers differ from the same customers' answers in a whole file, so the timings cannot be trusted` };
    if (p99 > t.p99Ms) return { status: 'fail', summary: `${what}: slower than the ${t.p99Ms} ms budget` };
    if (p99 > t.warnP99Ms || mism > 0) return { status: 'warn', summary: `${what}${mism > 0 ? `; ${pct(mism)} of answers differ from the whole-file answers` : ': close to the budget'}` };
    return { status: 'pass', summary: what };
  },
});

function measure({ pred, labels, input }: MeasureContext) {
  const s = pred?.serving;
  if (!s) return notRun(pred ? 'the serving probe did not run: predict() gave no valid answers on the holdout' : (input.predict?.problem ?? 'no trained model to test'));
  if (s.coldStartMs === null) return notRun(s.problem ?? 'the model answered no single-customer request');
  // Each call counts with the smaller of its wall and CPU time: waiting for a CPU that other work on
  // the machine holds is not the model's; threads working in parallel make wall the smaller one.
  const calls = s.warmMs.map((w, i) => (s.warmCpuMs.length === s.warmMs.length ? Math.min(w, s.warmCpuMs[i]!) : w));
  const budgetMs = s.budgetS * 1000;
  // Not even one warm answer within the budget: the call took at least the rest of it.
  const judged = calls.length ? calls : [Math.max(budgetMs - s.coldStartMs, s.coldStartMs)];
  const compared = labels ? s.answers.filter(([row]) => row < labels.length) : [];
  const mismatches = compared.filter(([row, label]) => label !== labels![row]).length;
  const rowsPerSecond = s.batchMs ? (1000 * s.batchRows) / s.batchMs : null;
  return {
    ran: true,
    values: {
      calls: calls.length,
      p50Ms: quantile(judged, 0.5),
      p99Ms: quantile(judged, 0.99),
      wallP50Ms: quantile(s.warmMs, 0.5),
      wallP99Ms: quantile(s.warmMs, 0.99),
      cpuP99Ms: quantile(s.warmCpuMs, 0.99),
      coldStartMs: s.coldStartMs,
      batchRowsPerSecond: rowsPerSecond,
      cpus: input.limits.cpus ?? null,
      mismatches,
      mismatchRate: compared.length ? mismatches / compared.length : 0,
      budgetS: s.budgetS,
    },
    evidence: [
      ev(
        'Single customers',
        `${calls.length} warm calls of predict() on a one-row file${calls.length < 200 ? ` (the ${s.budgetS} s budget ended the series)` : ''}; each timed by the grader from handing the row over to reading the answer`,
      ),
      ev('Cold start', `loading model.pkl and the first answer: ${s.coldStartMs.toFixed(0)} ms`),
      ev('Batch', rowsPerSecond ? `${Math.round(rowsPerSecond)} customers per second on the whole holdout (${s.batchRows} rows)` : (s.batchProblem ?? 'not measured')),
      ...(s.problem ? [ev('Problem', s.problem)] : []),
    ],
    series: { latencyMs: latencyHistogram(judged) },
  };
}

/** Upper edges (ms) of the latency chart's buckets; the last bucket holds everything slower. */
const LATENCY_EDGES_MS = [1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240];

/** Calls per latency bucket for the report's chart: x = the bucket's upper edge in ms. */
function latencyHistogram(ms: number[]): { x: number; y: number }[] {
  const counts = LATENCY_EDGES_MS.map(() => 0);
  for (const m of ms) {
    const b = LATENCY_EDGES_MS.findIndex((hi) => m <= hi);
    counts[b < 0 ? counts.length - 1 : b]!++;
  }
  return LATENCY_EDGES_MS.map((x, i) => ({ x, y: counts[i]! }));
}
