import { z } from 'zod';
import type { Evidence, Measurement } from '../check-schema.ts';
import { defineCheck, fmt, num } from '../define-check.ts';
import { ev, mb, type MeasureContext } from '../measure-context.ts';

export const sandboxResources = defineCheck({
  id: 'sandbox.resources',
  title: 'Within time and memory limits',
  category: 'engineering',
  basis: 'host',
  explanation: 'The submission must finish within the stated time and memory limits. A run that is killed is reported with its cause.',
  thresholds: z.object({}).strict(),
  measure,
  judge: (v) =>
    v.killed === true
      ? { status: 'fail', summary: String(v.cause) }
      : { status: 'pass', summary: `finished within limits (peak memory ${fmt(num(v, 'peakMemoryMb'), 0)} MB, ${fmt(num(v, 'totalSeconds'), 1)} s)` },
});

function measure({ steps, phases, stopCause: cause, input }: MeasureContext): Measurement {
  const evidence: Evidence[] = [];
  for (const [i, s] of steps.entries()) {
    const step = i === 0 ? 'training container' : 'prediction container';
    evidence.push(ev(step, `${s.outcome}; ${(s.timings.totalMs / 1000).toFixed(1)} s; peak memory ${s.peakMemoryBytes ? mb(s.peakMemoryBytes) + ' MB' : 'n/a'}`));
  }
  for (const p of phases) if (p.status !== 'ok' && p.status !== 'skipped') evidence.push(ev(p.name, `${p.status}${p.error ? `: ${p.error.slice(0, 300)}` : ''}`));
  const peak = Math.max(0, ...steps.map((s) => s.peakMemoryBytes ?? 0), ...phases.map((p) => p.maxRssBytes ?? 0));
  const candidateRan = phases.some((p) => p.status !== 'skipped') || cause !== null;
  return {
    ran: candidateRan,
    ...(candidateRan ? {} : { reason: "none of the submission's code ran", missing: null }),
    values: { killed: cause !== null, cause, peakMemoryMb: mb(peak), limitMb: mb(input.limits.memoryBytes), totalSeconds: steps.reduce((s, x) => s + x.timings.totalMs, 0) / 1000 },
    evidence,
  };
}
