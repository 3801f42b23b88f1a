import { CATEGORIES, CHECKS } from '../../checks/check-catalog.ts';
import type { ScoredCheck } from '../../grading/scoring.ts';
import type { StoredReport } from '../../reports/report-repository.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import type { DecisionRow } from '../decision-repository.ts';
import type { FinalScore } from '../final-score.ts';
import { foldScoresChart, prCurveChart } from '../charts.ts';
import { html, type HtmlValue, type SafeHtml } from '../html.ts';
import { badge, formatBytes, formatMs, num, page, timeTag, type ReviewerNav } from '../layout.ts';
import { DECISION_TEXT } from './cohort-page.ts';

export interface CompareColumn {
  submission: SubmissionRow;
  report: StoredReport | null;
  final: FinalScore | null;
  decision: DecisionRow | null;
}

type Holdout = NonNullable<StoredReport['document']['metrics']['holdout']>;
const METRICS: [string, (h: Holdout) => string][] = [
  ['Business cost', (h) => String(h.businessCost)],
  ['Cost per 1000', (h) => num(h.costPer1000, 1)],
  ['Balanced accuracy', (h) => num(h.balancedAccuracy)],
  ['Recall', (h) => num(h.recall)],
  ['Precision', (h) => num(h.precision)],
  ['F1', (h) => num(h.f1)],
  ['ROC-AUC', (h) => num(h.rocAuc)],
  ['PR-AUC', (h) => num(h.prAuc)],
];

const catalogueOrder = new Map<string, number>(CHECKS.map((c, i) => [c.id, CATEGORIES.indexOf(c.category) * 1000 + i]));

function row(label: HtmlValue, cols: CompareColumn[], cell: (c: CompareColumn) => HtmlValue, attrs = ''): SafeHtml {
  return html`<tr ${attrs ? html`data-row="${attrs}"` : ''}><th scope="row">${label}</th>${cols.map((c) => html`<td>${c.report ? cell(c) : html`<span class="muted">no report</span>`}</td>`)}</tr>`;
}

/** One submission's holdout charts, in its own column under the table (one column on a phone). */
function chartsColumn(c: CompareColumn): SafeHtml {
  const h = c.report?.document.metrics.holdout;
  const e = c.report?.document.metrics.evaluate;
  return html`<div class="compare-charts-col" data-compare-charts="${c.submission.id}">
    <h3>${c.submission.candidate ?? 'API upload'}</h3>
    ${h ? html`<figure class="chart"><div class="chart-title">Precision–recall curve</div>${prCurveChart(h)}</figure>` : ''}
    ${e ? html`<figure class="chart"><div class="chart-title">Own estimate vs hidden holdout</div>${foldScoresChart(e)}</figure>` : ''}
    ${h || e ? '' : html`<p class="muted">No predictions on the hidden holdout, so no charts.</p>`}
  </div>`;
}

/** Two or three submissions side by side: scores, verdicts, every check, holdout metrics, cost, charts, and the code diff. */
export function comparePage(nav: ReviewerNav, cols: CompareColumn[], code?: SafeHtml): string {
  const checkIds = [...new Set(cols.flatMap((c) => c.final?.checks.map((k) => k.id) ?? []))].sort((a, b) => (catalogueOrder.get(a) ?? 1e9) - (catalogueOrder.get(b) ?? 1e9));
  const checkOf = (c: CompareColumn, id: string): ScoredCheck | undefined => c.final?.checks.find((k) => k.id === id);
  const title = (id: string) => cols.map((c) => checkOf(c, id)?.title).find(Boolean) ?? id;
  const runtime = (c: CompareColumn) => c.report!.document.sandbox.reduce((s, x) => s + x.durationMs, 0);
  const peak = (c: CompareColumn) => Math.max(0, ...c.report!.document.sandbox.map((x) => x.peakMemoryBytes ?? 0));
  return page({
    title: 'Compare submissions',
    reviewer: nav,
    styles: ['code.css', 'code-diff.css'],
    body: html`<div class="page-head"><div><p class="eyebrow"><a href="/review/assessments/${cols[0]!.submission.assessmentId}">${cols[0]!.submission.assessmentId}</a> / compare</p><h1>Compare ${cols.length} submissions</h1></div></div>
    <div class="table-wrap" id="compare">
      <table class="data compare">
        <caption class="visually-hidden">Submissions side by side</caption>
        <thead><tr><th scope="col">&nbsp;</th>${cols.map(
          (c) =>
            html`<th scope="col" data-compare-column="${c.submission.id}"><a href="/review/submissions/${c.submission.id}">${c.submission.candidate ?? 'API upload'}</a><br><span class="small muted">${c.submission.fileName} · ${timeTag(c.submission.createdAt)}</span></th>`,
        )}</tr></thead>
        <tbody>
          ${row('Final score', cols, (c) => html`<strong data-score>${num(c.final!.score, 1)}</strong>`, 'score')}
          ${row('Verdict', cols, (c) => html`${badge(c.final!.passed ? 'passed' : 'not-passed')}${c.final!.provisional ? html`<br><span class="small muted">provisional: ${c.final!.manualScored} of ${c.final!.manualTotal} manual scored</span>` : ''}`, 'verdict')}
          ${row('Automatic score', cols, (c) => num(c.final!.automaticScore, 1), 'automatic')}
          ${row('Manual score', cols, (c) => (c.final!.manualScore === null ? '—' : num(c.final!.manualScore, 1)), 'manual')}
          ${row('Decision', cols, (c) => (c.decision ? html`${DECISION_TEXT[c.decision.decision]}<br><span class="small muted">${c.decision.decidedBy}</span>` : html`<span class="muted">none</span>`), 'decision')}
          <tr><th scope="rowgroup" colspan="${cols.length + 1}" class="group">Checks</th></tr>
          ${checkIds.map((id) =>
            row(
              title(id),
              cols,
              (c) => {
                const k = checkOf(c, id);
                return k ? badge(k.status) : '—';
              },
              `check:${id}`,
            ),
          )}
          <tr><th scope="rowgroup" colspan="${cols.length + 1}" class="group">Hidden holdout</th></tr>
          ${METRICS.map(([label, f]) => row(label, cols, (c) => (c.report!.document.metrics.holdout ? f(c.report!.document.metrics.holdout) : '—'), `metric:${label}`))}
          <tr><th scope="rowgroup" colspan="${cols.length + 1}" class="group">Cost of running</th></tr>
          ${row('Sandbox time', cols, (c) => formatMs(runtime(c)), 'runtime')}
          ${row('Peak memory', cols, (c) => formatBytes(peak(c)), 'memory')}
        </tbody>
      </table>
    </div>
    <section class="card compare-charts" id="compare-charts" aria-labelledby="compare-charts-h">
      <h2 id="compare-charts-h">Charts</h2>
      <p class="small muted">The red ring is each model's own labels; amber is the hidden holdout score with its ±2·SE band, blue dots the candidate's own folds.</p>
      <div class="compare-charts-grid cols-${String(cols.length)}">${cols.map(chartsColumn)}</div>
    </section>
    ${code ?? ''}`,
  });
}
