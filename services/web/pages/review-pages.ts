import type { InviteRow } from '../../invites/invite-repository.ts';
import type { InviteEmailOutcome } from '../../invites/invite-mailer.ts';
import { html } from '../html.ts';
import { badge, formatTime, page, timeTag, type ReviewerNav } from '../layout.ts';
import { cohortSection, type CohortSectionData } from './cohort-page.ts';
import { copyField } from './review-panels.ts';

export function signInPage(o: { next: string; error?: string; status?: number }): string {
  return page({
    title: 'Reviewer sign-in',
    narrow: true,
    body: html`<div class="card">
      <p class="eyebrow">Reviewers</p>
      <h1>Sign in</h1>
      <p class="muted">Use your reviewer API key. It is exchanged for a session cookie and never stored in the browser.</p>
      ${o.error ? html`<div class="notice error" role="alert" id="sign-in-error"><p>${o.error}</p></div>` : ''}
      <form method="post" action="/review/sign-in">
        <input type="hidden" name="next" value="${o.next}">
        <div class="field">
          <label for="api_key">API key</label>
          <input type="password" id="api_key" name="api_key" autocomplete="off" spellcheck="false" required ${o.error ? html`aria-describedby="sign-in-error" aria-invalid="true"` : ''} autofocus>
        </div>
        <div class="actions"><button type="submit">Sign in</button></div>
      </form>
    </div>`,
  });
}

export function assessmentsPage(nav: ReviewerNav, list: { id: string; title: string; total: number; graded: number; lastAt: Date | null }[]): string {
  return page({
    title: 'Assessments',
    reviewer: { ...nav, current: 'submissions' },
    body: html`<div class="page-head"><div><p class="eyebrow">Reviewer</p><h1>Assessments</h1><p class="sub">Pick an assessment to see its submissions and invite candidates.</p></div></div>
    <div class="grid grid-2">${list.map(
      (a) => html`<section class="card">
      <p class="eyebrow">${a.id}</p>
      <h2><a href="/review/assessments/${a.id}">${a.title}</a></h2>
      <p class="muted small">${a.total} submission${a.total === 1 ? '' : 's'}, ${a.graded} graded${a.lastAt ? html`; latest ${timeTag(a.lastAt)}` : ''}.</p>
      <div class="actions"><a class="button secondary" href="/review/assessments/${a.id}">Submissions</a><a class="button secondary" href="/review/assessments/${a.id}#invite">Invite a candidate</a></div>
    </section>`,
    )}</div>`,
  });
}

export interface SubmissionsPageData {
  nav: ReviewerNav;
  assessment: { id: string; title: string };
  cohort: CohortSectionData;
  invites: (InviteRow & { submissions: number })[];
  defaults: { ttlHours: number; maxAttempts: number };
  /** SMTP is configured: the form offers to e-mail the link. */
  emailEnabled?: boolean;
  inviteError?: string;
}

function inviteState(i: InviteRow): string {
  if (i.revokedAt) return 'revoked';
  if (i.expiresAt.getTime() <= Date.now()) return 'expired';
  if (i.attemptsUsed >= i.maxAttempts) return 'used_up';
  return 'active';
}

export function submissionsPage(d: SubmissionsPageData): string {
  const base = `/review/assessments/${d.assessment.id}`;
  const shown = d.cohort.rows.length;
  const total = d.cohort.total;
  return page({
    title: `Submissions · ${d.assessment.title}`,
    scripts: ['focus.js'],
    reviewer: { ...d.nav, current: 'submissions' },
    body: html`<div class="page-head">
      <div><p class="eyebrow"><a href="/review">Assessments</a> / ${d.assessment.id}</p><h1>${d.assessment.title}</h1>
      <p class="sub">${shown === total ? `${total} candidate${total === 1 ? '' : 's'}` : `${shown} of ${total} candidates`}, latest attempt each</p></div>
      <div class="actions"><a class="button" href="#invite" data-focus="i-name">Invite a candidate</a></div>
    </div>
    ${cohortSection(d.cohort)}
    <section class="card" id="invite" aria-labelledby="invite-h">
      <div class="card-head"><h2 id="invite-h">Invite a candidate</h2><span class="muted small">The link is shown once, right after you create it.</span></div>
      ${d.inviteError ? html`<div class="notice error" role="alert"><p>${d.inviteError}</p></div>` : ''}
      <form method="post" action="${base}/invites">
        <input type="hidden" name="_csrf" value="${d.nav.csrf}">
        <div class="form-row">
          <div class="field"><label for="i-name">Candidate name</label><input type="text" id="i-name" name="candidate_name" required maxlength="200" autocomplete="off"></div>
          <div class="field"><label for="i-email">Candidate e-mail</label><input type="email" id="i-email" name="candidate_email" required maxlength="320" autocomplete="off"></div>
          <div class="field"><label for="i-days">Valid for (days)</label><input type="number" id="i-days" name="expires_in_days" min="1" max="90" step="1" value="${Math.max(1, Math.round(d.defaults.ttlHours / 24))}" required></div>
          <div class="field"><label for="i-max">Uploads allowed</label><input type="number" id="i-max" name="max_attempts" min="1" max="20" step="1" value="${d.defaults.maxAttempts}" required></div>
        </div>
        ${d.emailEnabled ? html`<div class="field"><label><input type="checkbox" name="send_email" value="1" checked> E-mail the link to the candidate</label></div>` : ''}
        <div class="actions"><button type="submit">Create invite link</button></div>
      </form>
      ${
        d.invites.length
          ? html`<h3 id="invites">Invites</h3><div class="table-wrap"><table class="data">
        <thead><tr><th scope="col">Candidate</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col" class="num">Uploads</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${d.invites.map(
          (
            i,
          ) => html`<tr><td>${i.candidateName}<br><span class="small muted">${i.candidateEmail}</span></td><td class="small">${timeTag(i.createdAt)}<br><span class="muted">by ${i.createdBy}</span></td><td class="small">${timeTag(i.expiresAt)}</td><td class="num">${i.attemptsUsed} / ${i.maxAttempts}</td><td>${badge(inviteState(i))}</td>
          <td>${
            inviteState(i) === 'revoked' || inviteState(i) === 'expired'
              ? ''
              : html`<a class="button secondary small" href="/review/invites/${i.id}/withdraw" aria-label="Withdraw the invite of ${i.candidateName}">Withdraw…</a>`
          } <a class="button secondary small" href="/review/invites/${i.id}/preview" aria-label="Open the invite of ${i.candidateName} as the candidate">Preview</a></td></tr>`,
        )}</tbody></table></div>`
          : ''
      }
    </section>`,
  });
}

function emailNotice(e: InviteEmailOutcome | null, candidateEmail: string) {
  if (!e) return html`<div class="notice ok" role="status"><p>Send this link to ${candidateEmail}. It is shown only now: we keep a fingerprint of it, not the link itself.</p></div>`;
  if (e.sent)
    return html`<div class="notice ok" role="status" data-email="sent"><p>The link was e-mailed to ${e.to}. It is also shown below, this once only: we keep a fingerprint of it, not the link itself.</p></div>`;
  return html`<div class="notice error" role="alert" data-email="failed"><p><strong>The e-mail to ${e.to} could not be sent</strong>: ${e.reason}.</p><p>The invite is created and works. Copy the link below and send it yourself: it is shown only now.</p></div>`;
}

export function inviteCreatedPage(nav: ReviewerNav, d: { url: string; invite: InviteRow; assessmentTitle: string; email: InviteEmailOutcome | null }): string {
  return page({
    title: 'Invite created',
    scripts: ['copy.js'],
    narrow: true,
    reviewer: nav,
    body: html`<div class="card">
      <p class="eyebrow">${d.assessmentTitle}</p>
      <h1>Invite created for ${d.invite.candidateName}</h1>
      ${emailNotice(d.email, d.invite.candidateEmail)}
      ${copyField('invite-url', 'Invite link', d.url)}
      <dl class="facts">
        <dt>Valid until</dt><dd>${formatTime(d.invite.expiresAt)}</dd>
        <dt>Uploads allowed</dt><dd>${d.invite.maxAttempts}</dd>
      </dl>
      <div class="actions spaced"><a class="button secondary" href="/review/assessments/${d.invite.assessmentId}">Back to submissions</a><a class="button secondary" href="/review/invites/${d.invite.id}/preview">Open as the candidate</a></div>
    </div>`,
  });
}
