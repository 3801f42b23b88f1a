import { locationText } from '../../checks/evidence-location.ts';
import type { InviteRow } from '../../invites/invite-repository.ts';
import type { InviteProblem } from '../../invites/invite-service.ts';
import type { GradingRow, SubmissionRow } from '../../submissions/submission-repository.ts';
import type { CandidateCheck } from '../candidate-view.ts';
import { checkChartFigure } from '../check-charts.ts';
import type { DidNotRun } from '../run-outcome.ts';
import { html, trusted, type SafeHtml } from '../html.ts';
import { badge, formatBytes, page, timeTag } from '../layout.ts';
import { problemPage } from './problem-page.ts';

export interface InvitePageData {
  invite: InviteRow;
  token: string;
  assessmentTitle: string;
  brief: SafeHtml;
  dataDictionary: SafeHtml;
  maxBytes: number;
  uploadKey: string;
  /** didNotRun: graded, but the pipeline produced no predictions (run-outcome.ts). */
  submissions: (SubmissionRow & { grading: GradingRow | null; didNotRun?: boolean })[];
  preview?: CandidatePreview;
}

/**
 * A reviewer's read-only look at a candidate page: links stay under `base` (never the invite's
 * token), the upload form and live updates are off, and a banner says what this is.
 */
export interface CandidatePreview {
  base: string;
  back: string;
}

function previewBanner(p: CandidatePreview, candidateName: string): SafeHtml {
  return html`<div class="notice warn" role="note" data-preview-banner><p><strong>Preview</strong>: this is what ${candidateName} sees at their invite link. It is read-only: nothing can be uploaded from here, and opening it uses none of their uploads. <a href="${p.back}">Back to the invites</a></p></div>`;
}

/** The candidate's landing page: the brief, the data, the upload form, earlier uploads. */
export function invitePage(d: InvitePageData): string {
  const left = d.invite.maxAttempts - d.invite.attemptsUsed;
  const base = d.preview?.base ?? `/i/${d.token}`;
  const off = d.preview ? trusted('disabled') : '';
  const download = (file: string, text: string) =>
    d.preview ? html`<span class="muted" title="Downloads are off in the preview">${text}</span>` : html`<a href="${base}/files/${file}" download>${text}</a>`;
  return page({
    title: d.preview ? `Preview: ${d.assessmentTitle}` : d.assessmentTitle,
    home: base,
    scripts: d.preview ? [] : ['upload.js'],
    body: html`${d.preview ? previewBanner(d.preview, d.invite.candidateName) : ''}<div class="page-head">
      <div>
        <p class="eyebrow">Take-home assessment</p>
        <h1>${d.assessmentTitle}</h1>
        <p class="sub">Hello ${d.invite.candidateName}. Read the brief, download the data, and upload your solution when you are ready.</p>
      </div>
    </div>
    <div class="layout-side">
      <div>
        <section class="card prose-card" aria-labelledby="brief-h">
          <p class="eyebrow" id="brief-h">The brief</p>
          <div class="prose">${d.brief}</div>
        </section>
        <section class="card" aria-labelledby="dict-h">
          <details>
            <summary><strong id="dict-h">Data dictionary</strong> <span class="muted small">(also available as a download)</span></summary>
            <div class="prose">${d.dataDictionary}</div>
          </details>
        </section>
      </div>
      <aside aria-label="Your invite and upload">
        <section class="card" aria-labelledby="invite-h">
          <h2 id="invite-h" class="visually-hidden">Your invite</h2>
          <ul class="facts-list">
            <li><span class="k">Uploads left</span><span class="v" data-uploads-left>${left} of ${d.invite.maxAttempts}</span><br><span class="small muted">Only uploads accepted for grading count; a file we refuse does not.</span></li>
            <li><span class="k">Link valid until</span><span class="v">${timeTag(d.invite.expiresAt)}</span></li>
            <li><span class="k">Data</span>
              ${download('train.csv', 'Download train.csv')}<br>
              ${download('data-dictionary.md', 'Download the data dictionary')}</li>
          </ul>
        </section>
        <section class="card" aria-labelledby="upload-h" id="upload">
          <h2 id="upload-h">Upload your solution</h2>
          <p class="muted small">A <code>.zip</code> or <code>.tar.gz</code> of at most ${formatBytes(d.maxBytes)} with <code>solution.py</code> at the top, and if you like a <code>NOTES.md</code> for the reviewers. Leave the data and any virtual environment out.</p>
          <form ${d.preview ? html`data-preview` : html`method="post" action="${base}/submissions" data-upload`} enctype="multipart/form-data" data-max-bytes="${d.maxBytes}">
            <input type="hidden" name="upload_key" value="${d.uploadKey}">
            <label class="dropzone" data-dropzone for="archive">
              <span class="big">Drag your archive here</span>
              <span class="muted small">or choose it from your computer:</span><br>
              <input type="file" id="archive" name="archive" accept=".zip,.tar.gz,.tgz,application/zip,application/gzip" required aria-describedby="archive-hint" ${off}>
            </label>
            <p id="archive-hint" class="hint small muted">Maximum ${formatBytes(d.maxBytes)}. Grading starts as soon as the upload finishes.</p>
            <div data-upload-message role="status" aria-live="polite" hidden></div>
            <div class="upload-progress" data-upload-progress hidden>
              <label for="upload-bar">Uploading… <span data-percent>0%</span></label>
              <progress id="upload-bar" max="100" value="0">0%</progress>
            </div>
            <div class="actions"><button type="submit" ${off}>Upload and start grading</button></div>
          </form>
        </section>
        ${
          d.submissions.length
            ? html`<section class="card" aria-labelledby="earlier-h">
          <h2 id="earlier-h">Your uploads</h2>
          <ul class="facts-list">${d.submissions.map(
            (s) =>
              html`<li><a href="${base}/submissions/${s.id}">${s.fileName}</a> ${badge(s.didNotRun ? 'did-not-run' : (s.grading?.status ?? 'queued'))}<br><span class="small muted">${timeTag(s.createdAt)}</span></li>`,
          )}</ul>
        </section>`
            : ''
        }
      </aside>
    </div>`,
  });
}

export const PHASE_STEPS = [
  { key: 'queued', title: 'Queued' },
  { key: 'preparing', title: 'Unpacking your archive' },
  { key: 'training', title: 'Training and evaluating' },
  { key: 'predicting', title: 'Predicting on hidden data' },
  { key: 'scoring', title: 'Scoring' },
  { key: 'done', title: 'Done' },
] as const;

export interface PhaseInfo {
  status: string;
  phase: string;
  step: (typeof PHASE_STEPS)[number]['key'];
  label: string;
  position: number | null;
  terminal: boolean;
  /** Graded, but the pipeline stopped at `step` (the candidate's own crash, timeout or broken contract). */
  didNotRun?: boolean;
}

/** One closed mapping from the grading row to what a candidate reads. */
export function phaseInfo(g: Pick<GradingRow, 'status' | 'phase'>, position: number | null): PhaseInfo {
  const base = { status: g.status, phase: g.phase, position };
  if (g.status === 'completed') return { ...base, step: 'done', label: 'Done: your submission has been graded.', terminal: true };
  if (g.status === 'failed') return { ...base, step: 'queued', label: 'We could not grade this submission because of a problem on our side.', terminal: true };
  switch (g.phase) {
    case 'preparing':
      return { ...base, step: 'preparing', label: 'Unpacking and checking your archive…', terminal: false };
    case 'training':
      return { ...base, step: 'training', label: 'Training your pipeline and running your evaluation…', terminal: false };
    case 'predicting':
      return { ...base, step: 'predicting', label: 'Predicting on the hidden data…', terminal: false };
    case 'notebooks':
      // Only when the rubric runs the exploratory notebooks: a sub-step of the last sandbox step.
      return { ...base, step: 'predicting', label: 'Running your exploratory notebooks top to bottom…', terminal: false };
    case 'scoring':
      return { ...base, step: 'scoring', label: 'Scoring the results…', terminal: false };
    case 'retrying':
      return { ...base, step: 'queued', label: 'Queued again after a hiccup on our side; nothing for you to do.', terminal: false };
    default:
      return {
        ...base,
        step: 'queued',
        label: position ? `Queued: number ${position} in line.` : 'Queued: waiting for a free grader.',
        terminal: false,
      };
  }
}

/** A graded submission whose pipeline did not run to the end: the step where it stopped, never six green steps. */
export function didNotRunInfo(info: PhaseInfo, stop: DidNotRun): PhaseInfo {
  return { ...info, step: stop.step, label: `Graded — did not run: ${stop.reason}.`, didNotRun: true };
}

export interface StatusPageData {
  invite: InviteRow;
  token: string;
  assessmentTitle: string;
  submission: SubmissionRow;
  info: PhaseInfo;
  /** Present when graded: only what the rubric lets the candidate see. */
  checks: CandidateCheck[] | null;
  canUploadAgain: boolean;
  preview?: CandidatePreview;
}

function steps(info: PhaseInfo): SafeHtml {
  const at = PHASE_STEPS.findIndex((s) => s.key === info.step);
  return html`<ol class="steps" aria-label="Grading steps">${PHASE_STEPS.map((s, i) => {
    const state = i < at ? 'done' : i === at && info.didNotRun ? 'failed' : i === at && info.terminal && info.status === 'completed' ? 'done' : i === at ? 'current' : '';
    const dot = state === 'done' ? '✓' : state === 'failed' ? '✕' : String(i + 1);
    const word = state === 'done' ? 'done' : state === 'failed' ? 'did not run' : state === 'current' ? 'in progress' : '';
    return html`<li data-step="${s.key}" class="${state}" ${i === at ? trusted('aria-current="step"') : ''}><span class="dot" aria-hidden="true">${dot}</span>${s.title}<span class="state">${word}</span></li>`;
  })}</ol>`;
}

/** The candidate's status page: live while grading, then the checks they may see. */
export function statusPage(d: StatusPageData): string {
  const base = d.preview?.base ?? `/i/${d.token}`;
  // The preview does not follow the grading live: the reviewer reloads.
  const live = !d.info.terminal && !d.preview;
  const results = d.checks
    ? html`<section class="card" aria-labelledby="results-h">
      <h2 id="results-h">What the checks found</h2>
      ${
        d.checks.length
          ? html`<p class="muted small">The reviewers see the full report. Below is what this assessment shares with candidates.</p>
      ${d.checks.map(
        (c) => html`<div class="check">
        <div class="check-head">${c.status ? badge(c.status) : ''}<h3>${c.title}</h3></div>
        ${c.status ? '' : html`<p class="small muted" data-shared-with-reviewers>Result shared with the reviewers</p>`}
        ${c.summary ? html`<p class="summary">${c.summary}</p>` : ''}
        ${c.explanation ? html`<p class="explain">${c.explanation}</p>` : ''}
        ${
          c.evidence?.length
            ? html`<ul class="evidence">${c.evidence.map(
                (e) =>
                  html`<li><span class="label">${e.label}:</span> ${e.detail}${e.file ? html` <span class="where">${locationText(e.file, e.line)}</span>` : ''}${e.code ? html`<pre class="wrap"><code>${e.code}</code></pre>` : ''}</li>`,
              )}</ul>`
            : ''
        }
        ${c.chart ? checkChartFigure(c.chart) : ''}
      </div>`,
      )}`
          : html`<p>This assessment does not share check results with candidates. The reviewers will be in touch.</p>`
      }
    </section>`
    : '';
  return page({
    title: `${d.preview ? 'Preview: ' : ''}Grading status: ${d.submission.fileName}`,
    home: base,
    head: live ? html`<noscript><meta http-equiv="refresh" content="5"></noscript>` : undefined,
    scripts: live ? ['status.js'] : [],
    narrow: true,
    body: html`${d.preview ? previewBanner(d.preview, d.invite.candidateName) : ''}<p><a href="${base}">← Back to the assessment</a></p>
    <div class="card" ${live ? html`data-events-url="${base}/submissions/${d.submission.id}/events"` : ''} data-phase="${d.info.phase}">
      <p class="eyebrow">${d.assessmentTitle}</p>
      <h1>${d.info.didNotRun ? 'Graded — did not run' : d.info.status === 'completed' ? 'Your submission has been graded' : d.info.status === 'failed' ? 'Grading could not finish' : 'Your submission is being graded'}</h1>
      <p class="muted small">File <strong>${d.submission.fileName}</strong> (${formatBytes(d.submission.archiveBytes)}), uploaded ${timeTag(d.submission.createdAt)}.</p>
      <p class="live-line" role="status" aria-live="polite" data-phase-label>${d.info.label}</p>
      ${
        d.info.status === 'failed'
          ? html`<div class="notice warn"><p>This was not caused by your code, and your upload is kept. The hiring team sees this on their side and can start the grading again; you do not need to upload again.</p></div>`
          : steps(d.info)
      }
      ${live ? html`<p class="small muted">This page updates by itself. You can close it and come back to this address later.</p>` : ''}
    </div>
    ${results}
    ${d.info.terminal && d.canUploadAgain ? html`<p><a class="button secondary" href="${base}#upload">Upload a new version</a></p>` : ''}`,
  });
}

const INVITE_PAGES: Record<InviteProblem, { status: number; title: string; lead: string }> = {
  invalid: {
    status: 404,
    title: 'This invite link is not valid',
    lead: 'The link may have been mistyped or cut short when it was copied. Open it again from the original e-mail, or ask the person who invited you for a new link.',
  },
  expired: {
    status: 410,
    title: 'This invite link has expired',
    lead: 'The time to upload for this assessment is over. If you need more time, reply to the person who invited you: they can send a new link.',
  },
  used_up: {
    status: 410,
    title: 'All uploads for this invite have been used',
    lead: 'You have used every upload this invite allows. Your earlier uploads are still being graded or have been graded; the reviewers will be in touch.',
  },
  revoked: {
    status: 410,
    title: 'This invite has been withdrawn',
    lead: 'The person who invited you has withdrawn this link. Please contact them if you think this is a mistake.',
  },
};

export function inviteProblemPage(problem: InviteProblem, extra?: { token: string; submissions: SubmissionRow[] }): { status: number; body: string } {
  const p = INVITE_PAGES[problem];
  const more =
    extra && extra.submissions.length
      ? html`<h2>Your uploads</h2><ul>${extra.submissions.map((s) => html`<li><a href="/i/${extra.token}/submissions/${s.id}">${s.fileName}</a> (${timeTag(s.createdAt)})</li>`)}</ul>`
      : undefined;
  return { status: p.status, body: problemPage({ title: p.title, lead: p.lead, more, reference: `invite_${problem}`, tone: problem === 'invalid' ? 'error' : 'warn' }) };
}
