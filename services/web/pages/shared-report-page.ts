import type { AssessmentManifest } from '../../assessments/assessment-schema.ts';
import type { StoredReport } from '../../reports/report-repository.ts';
import type { Rubric } from '../../rubrics/rubric-schema.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import type { FinalScore } from '../final-score.ts';
import { html, type SafeHtml } from '../html.ts';
import { badge, formatTime, num, page, timeTag } from '../layout.ts';
import type { ManualScoreRow } from '../manual-score-repository.ts';
import { renderMarkdown } from '../markdown.ts';
import { checksSection, holdoutSection } from './report-page.ts';

export interface SharedReportData {
  submission: SubmissionRow;
  report: StoredReport;
  rubric: Rubric;
  final: FinalScore;
  manifest: AssessmentManifest;
  manual: Pick<ManualScoreRow, 'itemId' | 'points'>[];
  expiresAt: Date;
}

/** The score, with "provisional" and "n of m scored" while manual items are missing. */
export function scoreSummary(f: FinalScore, rubric: Rubric): SafeHtml {
  return html`<div class="scorecard">
    <div><p class="eyebrow">Final score</p><div class="score-big" data-final-score="${f.score.toFixed(2)}">${f.score.toFixed(0)}<small>/100</small></div></div>
    <div>
      ${badge(f.passed ? 'passed' : 'not-passed')} ${f.provisional ? badge('warn', 'Provisional') : ''}
      <p class="verdict">${f.verdict}</p>
      <p class="top-line" data-top-line>${f.topLine.sentence}</p>
      ${f.provisional ? html`<p class="small" data-provisional>Provisional until every manual item is scored: ${f.manualScored} of ${f.manualTotal} scored.</p>` : ''}
      <div class="score-parts">
        <span>Automatic <strong>${f.automaticScore.toFixed(1)}</strong></span>
        <span>Manual <strong>${f.manualScore === null ? (f.manualTotal ? 'not scored' : 'none') : f.manualScore.toFixed(1)}</strong>${f.manualTotal ? ` (${f.manualScored} of ${f.manualTotal} scored)` : ''}</span>
        <span>Pass mark <strong>${rubric.passMark}</strong></span>
      </div>
    </div>
  </div>`;
}

/**
 * What a share link shows: one report, read-only. No reviewer navigation, no links into the
 * reviewer pages, no code, logs or archive, no reviewer comments or decisions.
 */
export function sharedReportPage(d: SharedReportData): string {
  const doc = d.report.document;
  const points = new Map(d.manual.map((m) => [m.itemId, m.points]));
  return page({
    title: `Report · ${d.submission.candidate ?? 'candidate'}`,
    body: html`<div class="page-head"><div>
      <p class="eyebrow">${d.manifest.title} · shared report</p>
      <h1>${d.submission.candidate ?? 'Candidate'}</h1>
      <p class="sub">Submitted ${timeTag(d.submission.createdAt)} · graded ${timeTag(doc.provenance.gradedAt)} · this link works until ${formatTime(d.expiresAt)}</p>
    </div></div>
    <section class="card" aria-label="Final score" data-shared-report>${scoreSummary(d.final, d.rubric)}</section>
    ${
      d.rubric.manual.items.length
        ? html`<section class="card" aria-labelledby="manual-h"><h2 id="manual-h">Manual review</h2><ul>${d.rubric.manual.items.map(
            (i) => html`<li>${i.title}: ${points.has(i.id) ? html`<strong>${num(points.get(i.id)!, 1)}</strong> / ${i.maxPoints}` : html`<span class="muted">not scored yet</span>`}</li>`,
          )}</ul></section>`
        : ''
    }
    <section class="card" aria-labelledby="checks-h"><h2 id="checks-h">Checks</h2>${checksSection(d.final.checks, undefined, d.rubric)}</section>
    <section class="card" aria-labelledby="holdout-h"><h2 id="holdout-h">Hidden holdout performance</h2>${holdoutSection(doc, d.manifest)}</section>
    <section class="card" aria-labelledby="notes-h"><h2 id="notes-h">Candidate's NOTES.md</h2>${doc.notes ? html`<div class="prose">${renderMarkdown(doc.notes)}</div>` : html`<p class="muted">The submission has no NOTES.md.</p>`}</section>`,
  });
}
