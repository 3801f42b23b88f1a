import type { AssessmentManifest } from '../../assessments/assessment-schema.ts';
import { BASIS_TEXT, CATEGORIES } from '../../checks/check-catalog.ts';
import type { ScoredCheck } from '../../grading/scoring.ts';
import type { StoredReport } from '../../reports/report-repository.ts';
import type { ReportDocument } from '../../reports/report-schema.ts';
import type { Rubric } from '../../rubrics/rubric-schema.ts';
import type { GradingRow, SubmissionRow } from '../../submissions/submission-repository.ts';
import { confusionMatrixChart, foldScoresChart, prCurveChart, scoreBar } from '../charts.ts';
import { checkChartFigure, checkChartOf } from '../check-charts.ts';
import type { CohortPosition, Standing } from '../cohort-position.ts';
import type { FinalScore } from '../final-score.ts';
import { html, type SafeHtml } from '../html.ts';
import { badge, formatBytes, formatMs, num, page, timeTag, type ReviewerNav } from '../layout.ts';
import type { ManualScoreRow } from '../manual-score-repository.ts';
import { renderMarkdown } from '../markdown.ts';
import { codeWhere } from './code-viewer-page.ts';
import { valueLabel } from '../value-label.ts';
import { didNotRun } from '../run-outcome.ts';

export interface ReportPageData {
  nav: ReviewerNav;
  submission: SubmissionRow;
  candidateEmail: string | null;
  grading: GradingRow | null;
  report: StoredReport;
  history: { id: string; createdAt: string; score: number; rubricVersion: number }[];
  manifest: AssessmentManifest;
  rubric: Rubric;
  rubricVersion: number;
  final: FinalScore;
  manualHistory: ManualScoreRow[];
  /** Reviewer-only percentiles among the assessment's graded submissions; never on candidate or shared pages. */
  cohort?: CohortPosition;
  /** Reviewer panels shown after the score (decision, share links). */
  panels?: SafeHtml;
  notice?: { kind: 'ok' | 'error'; text: string };
}

const VISIBILITY_TEXT: Record<string, string> = {
  hidden: 'hidden from the candidate',
  name: 'candidate sees the name',
  summary: 'candidate sees name, status and summary',
  full: 'candidate sees everything, evidence included',
};

const LOG_PREVIEW_LINES = 60;

function logBlock(label: string, text: string, totalBytes: number): SafeHtml {
  if (!text) return html`<p class="small muted">${label}: empty</p>`;
  const lines = text.split('\n');
  const preview = lines.length > LOG_PREVIEW_LINES ? lines.slice(-LOG_PREVIEW_LINES).join('\n') : text;
  return html`<p class="small"><strong>${label}</strong> <span class="muted">(${formatBytes(totalBytes)}${lines.length > LOG_PREVIEW_LINES ? `, last ${LOG_PREVIEW_LINES} of ${lines.length} lines` : ''})</span></p>
  <pre class="log-text">${preview}</pre>
  ${lines.length > LOG_PREVIEW_LINES ? html`<details><summary>Show all ${lines.length} lines</summary><pre class="log-text">${text}</pre></details>` : ''}`;
}

/** A pass that rests only on what the graded code produced inside the sandbox says so. */
function sandboxOnlyPass(c: ScoredCheck): SafeHtml | '' {
  if (c.status !== 'pass' || c.basis !== 'sandbox') return '';
  return html`<p class="small" data-sandbox-only>${badge('warn', 'In-sandbox evidence only')} This pass ${BASIS_TEXT.sandbox.detail}; nothing measured on the host confirms it.</p>`;
}

/** A check's chart (checks with `series`), its marks from the rubric's thresholds for that check. */
function checkChart(c: ScoredCheck, rubric?: Pick<Rubric, 'checks'>): SafeHtml | '' {
  const chart = checkChartOf(c, rubric?.checks[c.id]?.thresholds);
  return chart ? checkChartFigure(chart) : '';
}

function standingText(s: Standing | null, what: string): string {
  if (!s) return `no ${what} to compare`;
  if (s.of < 2) return `the only graded submission with ${what} so far`;
  return `better than ${Math.round(s.betterThan * 100)}% of the ${s.of - 1} other graded submission${s.of === 2 ? '' : 's'} on ${what}`;
}

/** Where this submission stands in its assessment (latest report of each graded submission). */
function cohortLine(c: CohortPosition): SafeHtml {
  return html`<p class="small" data-cohort-position>${badge('info', 'Reviewers only')} <span data-cohort-quality>${standingText(c.quality, 'money saved')}</span>; <span data-cohort-score>${standingText(c.score, 'final score')}</span>.</p>`;
}

/** `codeFor`: the submission whose code viewer evidence links to (reviewers' pages only). */
export function checksSection(checks: ScoredCheck[], codeFor?: string, rubric?: Pick<Rubric, 'checks'>): SafeHtml {
  const order: Record<string, number> = { fail: 0, error: 1, warn: 2, skipped: 3, pass: 4 };
  return html`${CATEGORIES.filter((cat) => checks.some((c) => c.category === cat)).map(
    (cat) => html`<h3 class="eyebrow">${cat}</h3>
    ${checks
      .filter((c) => c.category === cat)
      .sort((a, b) => order[a.status]! - order[b.status]!)
      .map(
        (c) => html`<article class="check" id="check-${c.id}" data-check="${c.id}" data-status="${c.status}" data-basis="${c.basis}">
      <div class="check-head">${badge(c.status)}<h3>${c.title}</h3><span class="meta"><code>${c.id}</code> · <span title="${BASIS_TEXT[c.basis].detail}">${BASIS_TEXT[c.basis].label}</span> · ${c.severity} · weight ${c.weight} · ${VISIBILITY_TEXT[c.visibility]}</span></div>
      <p class="summary">${c.summary}</p>
      ${sandboxOnlyPass(c)}
      <p class="explain">${c.explanation}</p>
      ${
        c.evidence.length
          ? html`<ul class="evidence">${c.evidence.map(
              (e) =>
                html`<li><span class="label">${e.label}:</span> ${e.detail}${e.file ? html` ${codeWhere(e.file, e.line, codeFor)}` : ''}${e.code ? html`<pre class="wrap"><code>${e.code}</code></pre>` : ''}</li>`,
            )}</ul>`
          : ''
      }
      ${checkChart(c, rubric)}
      ${
        Object.keys(c.values).length
          ? html`<details class="values"><summary>Numbers behind this check</summary><dl>${Object.entries(c.values).map(
              ([k, v]) => html`<dt title="${k}">${valueLabel(k)}</dt><dd>${typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v)}</dd>`,
            )}</dl></details>`
          : ''
      }
    </article>`,
      )}`,
  )}`;
}

export function holdoutSection(doc: ReportDocument, m: AssessmentManifest): SafeHtml {
  const h = doc.metrics.holdout;
  const e = doc.metrics.evaluate;
  if (!h && !e) return html`<p class="muted">No predictions on the hidden holdout, so there are no metrics to show.</p>`;
  const tiles = h
    ? [
        ['Business cost', String(h.businessCost), `calling nobody: ${h.baselines.majorityCost}${h.baselines.referenceCost !== null ? `; reference: ${h.baselines.referenceCost}` : ''}`],
        ['Cost per 1000', num(h.costPer1000, 1), `FN costs ${m.costs.falseNegative}, FP ${m.costs.falsePositive}`],
        ['Balanced accuracy', num(h.balancedAccuracy), h.baselines.referenceBalancedAccuracy !== null ? `reference ${num(h.baselines.referenceBalancedAccuracy)}` : ''],
        ['Recall', num(h.recall), h.baselines.referenceRecall !== null ? `reference ${num(h.baselines.referenceRecall)}` : ''],
        ['Precision', num(h.precision), ''],
        ['F1', num(h.f1), ''],
        ['ROC-AUC', num(h.rocAuc), ''],
        ['PR-AUC', num(h.prAuc), `guessing: ${num(h.rows ? h.positives / h.rows : null)}`],
      ]
    : [];
  return html`${h ? html`<p class="muted small">${h.rows} hidden rows, ${h.positives} of them “${m.positiveLabel}”.</p>` : ''}
  <div class="metrics">${tiles.map(([k, v, sub]) => html`<div class="metric"><div class="k">${k}</div><div class="v">${v}</div>${sub ? html`<div class="small muted">${sub}</div>` : ''}</div>`)}</div>
  <div class="charts">
    ${h ? html`<figure class="chart"><div class="chart-title">Confusion matrix</div>${confusionMatrixChart(h, { positive: m.positiveLabel, negative: m.negativeLabel })}<figcaption>Rows are the true classes, columns the model's labels from predict().</figcaption></figure>` : ''}
    ${h ? html`<figure class="chart"><div class="chart-title">Precision–recall curve</div>${prCurveChart(h)}<figcaption>From predict_proba() over every threshold. The red ring is the model's own labels; the dashed line is guessing.</figcaption></figure>` : ''}
    ${e ? html`<figure class="chart"><div class="chart-title">Own estimate vs hidden holdout</div>${foldScoresChart(e)}<figcaption>Blue dots: the candidate's evaluate() folds (black bar: their mean). Amber: the holdout score with its ±2·SE band. Folds far right of the band mean an optimistic estimate.</figcaption></figure>` : ''}
  </div>`;
}

function manualSection(d: ReportPageData): SafeHtml {
  const items = d.rubric.manual.items;
  if (!items.length) return html`<p class="muted">Rubric ${d.rubric.id} v${d.rubricVersion} has no manual items; the score is fully automatic.</p>`;
  const current = new Map<string, ManualScoreRow>();
  for (const h of d.manualHistory) if (!current.has(h.itemId)) current.set(h.itemId, h);
  const title = new Map(items.map((i) => [i.id, i.title]));
  return html`<p class="muted small">Manual items make up ${Math.round(d.rubric.manual.weight * 100)}% of the final score once scored. Every change is kept below with who made it and when.</p>
  ${items.map((item) => {
    const cur = current.get(item.id);
    return html`<div class="manual-item" data-manual-item="${item.id}">
      <div class="check-head"><h3>${item.title}</h3><span class="meta">${cur ? html`current: <strong data-current-points>${num(cur.points, cur.points % 1 ? 1 : 0)}</strong> / ${item.maxPoints} by ${cur.scoredBy}, ${timeTag(cur.createdAt)}` : html`not scored yet · up to ${item.maxPoints} points`}</span></div>
      ${item.description ? html`<p class="explain">${item.description}</p>` : ''}
      <form method="post" action="/review/submissions/${d.submission.id}/manual-scores">
        <input type="hidden" name="_csrf" value="${d.nav.csrf}">
        <input type="hidden" name="item_id" value="${item.id}">
        <input type="hidden" name="report_id" value="${d.report.id}">
        <div class="field"><label for="points-${item.id}">Points (0–${item.maxPoints})</label><input type="number" id="points-${item.id}" name="points" min="0" max="${item.maxPoints}" step="0.5" required value="${cur ? String(cur.points) : ''}"></div>
        <div class="field"><label for="comment-${item.id}">Comment</label><textarea id="comment-${item.id}" name="comment" maxlength="4000" rows="2">${cur?.comment ?? ''}</textarea></div>
        <button type="submit">Save score</button>
      </form>
    </div>`;
  })}
  ${
    d.manualHistory.length
      ? html`<h3>History</h3><div class="table-wrap"><table class="data" id="manual-history">
    <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Item</th><th scope="col" class="num">Points</th><th scope="col">Comment</th></tr></thead>
    <tbody>${d.manualHistory.map(
      (h) =>
        html`<tr><td class="small">${timeTag(h.createdAt)}</td><td>${h.scoredBy}</td><td>${title.get(h.itemId) ?? h.itemId}</td><td class="num">${String(h.points)}</td><td class="small">${h.comment || '—'}</td></tr>`,
    )}</tbody></table></div>`
      : ''
  }`;
}

/**
 * The static analysis findings. Those in exploratory work (files outside the graded solution and the
 * modules it imports: EDA notebooks, scratch scripts) are marked as such; they fail no check unless
 * the rubric says so.
 */
export function lintSection(lint: ReportDocument['lint'], submissionId: string): SafeHtml | '' {
  if (!lint.length) return '';
  return html`<section class="card" aria-labelledby="lint-h" id="lint">
      <h2 id="lint-h">Static analysis findings</h2>
      <ul class="evidence">${lint.map(
        (l) =>
          html`<li${l.exploratory ? html` data-exploratory="true"` : ''}><span class="label">${l.rule}</span>${l.exploratory ? html` <span class="muted">in exploratory work</span>` : ''} ${codeWhere(l.file, l.line, submissionId)}<br>${l.message}<pre class="wrap"><code>${l.code}</code></pre></li>`,
      )}</ul>
    </section>`;
}

/** The reviewer's report: everything the grading found, with the charts and manual scoring. */
export function reportPage(d: ReportPageData): string {
  const doc = d.report.document;
  const p = doc.provenance;
  const f = d.final;
  const sub = d.submission;
  const base = `/review/submissions/${sub.id}`;
  const reportQ = d.history[0]?.id === d.report.id ? '' : `?reportId=${d.report.id}`;
  const stop = didNotRun(doc);
  return page({
    title: `Report · ${sub.candidate ?? sub.fileName}`,
    reviewer: d.nav,
    scripts: ['report.js'],
    body: html`<div class="page-head">
      <div>
        <p class="eyebrow"><a href="/review/assessments/${sub.assessmentId}">${d.manifest.title}</a> / report</p>
        <h1>${sub.candidate ?? 'API upload'}</h1>
        <p class="sub">${d.candidateEmail ? html`${d.candidateEmail} · ` : ''}<span data-file-name>${sub.fileName}</span> · submitted ${timeTag(sub.createdAt)} · graded ${timeTag(doc.provenance.gradedAt)}</p>
      </div>
      <div class="actions no-print">
        <a class="button secondary" href="${base}/report.md${reportQ}" download>Download Markdown</a>
        <a class="button secondary" href="${base}/report.json${reportQ}" download>Download JSON</a>
        <a class="button secondary" href="${base}/similarity" data-similarity-link>Similar code</a>
        <button type="button" class="secondary" data-print hidden>Print / PDF</button>
      </div>
    </div>
    ${d.notice ? html`<div class="notice ${d.notice.kind} no-print" role="status"><p>${d.notice.text}</p></div>` : ''}
    ${
      d.grading && d.grading.id !== doc.gradingId && d.grading.status !== 'completed'
        ? html`<div class="notice info"><p>A newer grading is ${d.grading.status} (${d.grading.phase}); this page shows the latest finished report.</p></div>`
        : ''
    }
    <section class="card" aria-labelledby="score-h">
      <div class="scorecard">
        <div>
          <p class="eyebrow" id="score-h">Final score</p>
          <div class="score-big" data-final-score="${f.score.toFixed(2)}">${f.score.toFixed(0)}<small>/100</small></div>
        </div>
        <div>
          ${stop ? html`${badge('invalid')} <span class="small" data-invalid>the pipeline did not run: ${stop.reason}</span>` : badge(f.passed ? 'passed' : 'not-passed')} ${f.provisional ? badge('warn', 'Provisional') : ''} ${doc.status === 'partial' ? badge('warn', 'Partial grading') : ''}
          <p class="verdict">${f.verdict}</p>
          <p class="top-line" data-top-line>${f.topLine.sentence}</p>
          ${f.provisional ? html`<p class="small" data-provisional>Provisional until every manual item is scored: ${f.manualScored} of ${f.manualTotal} scored.</p>` : ''}
          ${d.cohort ? cohortLine(d.cohort) : ''}
          <div class="score-parts">
            <span>Automatic <strong data-automatic-score>${f.automaticScore.toFixed(1)}</strong>${f.manualWeight > 0 ? ` (weight ${Math.round((1 - f.manualWeight) * 100)}%)` : ''}</span>
            <span>Manual <strong data-manual-score>${f.manualScore === null ? (d.rubric.manual.items.length ? 'not scored' : 'none') : f.manualScore.toFixed(1)}</strong>${f.manualTotal ? html` <span data-manual-count>(${f.manualScored} of ${f.manualTotal} scored)</span>` : ''}${f.manualWeight > 0 ? ` (weight ${Math.round(f.manualWeight * 100)}%)` : ''}</span>
            <span>Pass mark <strong>${d.rubric.passMark}</strong></span>
            <span>Rubric <strong>${d.rubric.id} v${d.rubricVersion}</strong></span>
          </div>
        </div>
      </div>
    </section>
    ${d.panels ?? ''}
    <div class="grid grid-2">
      <section class="card" aria-labelledby="cat-h">
        <h2 id="cat-h">Categories</h2>
        ${f.categories.map(
          (c) =>
            html`<div class="category" data-category="${c.id}"><span class="name">${c.id}</span><strong class="num">${c.score === null ? 'n/a' : c.score.toFixed(0)}</strong>${scoreBar(c.score, `${c.id}: ${c.score === null ? 'not scored' : `${c.score.toFixed(0)} of 100`}`)}<p class="explain">${c.explanation}</p></div>`,
        )}
      </section>
      <section class="card" aria-labelledby="manual-h" id="manual">
        <h2 id="manual-h">Manual review</h2>
        ${manualSection(d)}
      </section>
    </div>
    <section class="card" aria-labelledby="checks-h" id="checks">
      <div class="card-head"><h2 id="checks-h">Checks</h2><span class="small muted">${f.checks.filter((c) => c.status === 'pass').length} of ${f.checks.length} passed</span></div>
      <p class="small muted">Each check says what its status stands on: measured on the host (predictions on hidden data or the container engine, which the graded code cannot fake), evidence produced inside the sandbox (trace, lint, the candidate's own evaluate() output), or both. Checks are scored with the rules in force today, under the rubric version this report was graded with.</p>
      ${checksSection(f.checks, sub.id, d.rubric)}
    </section>
    <section class="card" aria-labelledby="holdout-h" id="holdout">
      <h2 id="holdout-h">Hidden holdout performance</h2>
      ${holdoutSection(doc, d.manifest)}
    </section>
    ${lintSection(doc.lint, sub.id)}
    <section class="card" aria-labelledby="res-h" id="resources">
        <h2 id="res-h">Resources per phase</h2>
        <div class="table-wrap"><table class="data">
          <thead><tr><th scope="col">Phase</th><th scope="col">Status</th><th scope="col" class="num">Time</th><th scope="col" class="num">CPU</th><th scope="col" class="num">Peak memory</th></tr></thead>
          <tbody>${doc.resources.map(
            (r) =>
              html`<tr><td>${r.step} / ${r.phase}</td><td>${r.status}</td><td class="num">${formatMs(r.durationMs)}</td><td class="num">${formatMs(r.cpuMs)}</td><td class="num">${formatBytes(r.peakMemoryBytes)}</td></tr>`,
          )}
          ${doc.sandbox.map(
            (s) =>
              html`<tr><td><strong>${s.step} container</strong></td><td>${s.outcome.replace(/_/g, ' ')}${s.exitCode !== null ? ` (exit ${s.exitCode})` : ''}</td><td class="num">${formatMs(s.durationMs)}</td><td class="num">—</td><td class="num">${formatBytes(s.peakMemoryBytes)}</td></tr>`,
          )}</tbody>
        </table></div>
      </section>
    <section class="card" aria-labelledby="prov-h" id="provenance">
        <h2 id="prov-h">Provenance</h2>
        <dl class="facts">
          <dt>Submission</dt><dd><code>${p.submissionSha256}</code></dd>
          <dt>Assessment</dt><dd>${p.assessmentId}, dataset ${p.datasetVersion} (<code>${p.datasetSha256.slice(0, 12)}</code>)</dd>
          <dt>Rubric</dt><dd>${p.rubricId} v${p.rubricVersion}</dd>
          <dt>Runner</dt><dd>${p.runnerImage} <code>${p.runnerImageDigest.slice(0, 19)}</code></dd>
          <dt>Harness</dt><dd>${p.harnessVersion}, seed ${p.seed}</dd>
          <dt>Graded</dt><dd>${timeTag(p.gradedAt)} on ${p.workerHost}</dd>
          <dt>Report</dt><dd><code>${d.report.id}</code></dd>
        </dl>
        ${
          d.history.length > 1
            ? html`<h3>Earlier reports</h3><ul class="small">${d.history.map(
                (h) =>
                  html`<li>${h.id === d.report.id ? html`<strong>this report</strong>` : html`<a href="${base}?reportId=${h.id}">${timeTag(h.createdAt)}</a>`}: ${h.score.toFixed(0)}/100, rubric v${h.rubricVersion}</li>`,
              )}</ul>`
            : ''
        }
      </section>
    <section class="card" aria-labelledby="notes-h" id="notes">
      <h2 id="notes-h">Candidate's NOTES.md</h2>
      ${doc.notes ? html`<div class="prose" data-notes>${renderMarkdown(doc.notes)}</div>` : html`<p class="muted">The submission has no NOTES.md.</p>`}
    </section>
    <section class="card" aria-labelledby="logs-h" id="logs">
      <h2 id="logs-h">Logs</h2>
      <p class="small muted">Output of the candidate's code per phase, capped by the sandbox. Expand a phase to read it.</p>
      ${doc.logs.map(
        (
          l,
        ) => html`<details class="log" data-log="${l.step}/${l.phase}"><summary>${l.step} / ${l.phase} <span class="muted">stdout ${formatBytes(l.stdoutBytes)}, stderr ${formatBytes(l.stderrBytes)}</span>${l.truncated ? badge('warn', 'Truncated') : ''}</summary>
        <div>${logBlock('stdout', l.stdout, l.stdoutBytes)}${logBlock('stderr', l.stderr, l.stderrBytes)}</div></details>`,
      )}
    </section>`,
  });
}

/** Grading not finished (or failed) yet: the reviewer's view of the status. */
export function reportPendingPage(nav: ReviewerNav, d: { submission: SubmissionRow; grading: GradingRow | null; label: string }): string {
  const g = d.grading;
  return page({
    title: `Grading · ${d.submission.candidate ?? d.submission.fileName}`,
    reviewer: nav,
    narrow: true,
    head: g && (g.status === 'queued' || g.status === 'running') ? html`<meta http-equiv="refresh" content="5">` : undefined,
    body: html`<div class="card">
      <p class="eyebrow"><a href="/review/assessments/${d.submission.assessmentId}">${d.submission.assessmentId}</a> / report</p>
      <h1>${d.submission.candidate ?? 'API upload'}: no report yet</h1>
      <p>${badge(g?.status ?? 'queued')} ${d.label}</p>
      ${g?.lastError ? html`<p class="small muted">Last error: ${g.lastError}</p>` : ''}
      <p class="small muted">File ${d.submission.fileName}, submitted ${timeTag(d.submission.createdAt)}. This page refreshes while grading runs.</p>
      ${
        g?.status === 'failed'
          ? html`<div class="notice warn"><p>The grading failed for a system reason after ${g.attempts} attempt(s), not because of the candidate's code. The stored archive can be graded again.</p></div>
      <form method="post" action="/review/submissions/${d.submission.id}/grade-again"><input type="hidden" name="_csrf" value="${nav.csrf}"><div class="actions"><button type="submit">Grade again</button></div></form>`
          : ''
      }
    </div>`,
  });
}
