import type { ReportDocument } from '../reports/report-schema.ts';
import type { Evidence } from '../checks/check-catalog.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import { checkChartOf, type CheckChart } from './check-charts.ts';

/** One check as a candidate may see it; fields beyond the check's visibility are absent. */
export interface CandidateCheck {
  title: string;
  status?: string;
  summary?: string;
  explanation?: string;
  evidence?: Evidence[];
  /** Only at full visibility: the check's chart (its series and marks, nothing else of its values). */
  chart?: CheckChart;
}

/**
 * The part of a report a candidate may see, decided per check by the rubric's visibility:
 * hidden → nothing at all; name → the title; summary → title, status and summary; full → also the
 * explanation, evidence and the check's chart (marks from `rubric`'s thresholds). Scores, holdout
 * metrics, logs, lint and provenance are never included:
 * they would leak the hidden checks in aggregate. Building a new object (rather than deleting from
 * the report) means a field added to reports later stays private until it is added here.
 */
export function candidateView(report: ReportDocument, rubric?: Pick<Rubric, 'checks'>): { checks: CandidateCheck[] } {
  const checks: CandidateCheck[] = [];
  for (const c of report.checks) {
    switch (c.visibility) {
      case 'hidden':
        break;
      case 'name':
        checks.push({ title: c.title });
        break;
      case 'summary':
        checks.push({ title: c.title, status: c.status, summary: c.summary });
        break;
      case 'full': {
        const chart = checkChartOf(c, rubric?.checks[c.id]?.thresholds);
        checks.push({ title: c.title, status: c.status, summary: c.summary, explanation: c.explanation, evidence: c.evidence.map((e) => ({ ...e })), ...(chart ? { chart } : {}) });
        break;
      }
      default: {
        const never: never = c.visibility;
        throw new Error(`unknown visibility ${String(never)}`);
      }
    }
  }
  return { checks };
}
