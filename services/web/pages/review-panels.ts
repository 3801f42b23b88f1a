import { DECISIONS, type DecisionRow } from '../decision-repository.ts';
import { html, type SafeHtml } from '../html.ts';
import { badge, formatTime, page, timeTag, type ReviewerNav } from '../layout.ts';
import type { ShareLinkRow } from '../share-link-repository.ts';
import { decisionBadge, DECISION_TEXT } from './cohort-page.ts';

export const SHARE_MAX_DAYS = 30;
export const SHARE_DEFAULT_DAYS = 7;

function shareState(l: ShareLinkRow): 'revoked' | 'expired' | 'active' {
  if (l.revokedAt) return 'revoked';
  return l.expiresAt.getTime() <= Date.now() ? 'expired' : 'active';
}

/** The current decision, the form to record a new one, and every earlier decision with who and when. */
export function decisionPanel(nav: ReviewerNav, submissionId: string, history: DecisionRow[], error?: string): SafeHtml {
  const cur = history[0];
  return html`<section class="card" id="decision" aria-labelledby="decision-h">
    <div class="card-head"><h2 id="decision-h">Decision</h2><span data-current-decision>${cur ? decisionBadge({ decision: cur.decision, note: cur.note, by: cur.decidedBy, at: cur.createdAt }) : html`<span class="small muted">No decision yet</span>`}</span></div>
    ${error ? html`<div class="notice error" role="alert"><p>${error}</p></div>` : ''}
    <form method="post" action="/review/submissions/${submissionId}/decisions">
      <input type="hidden" name="_csrf" value="${nav.csrf}">
      <fieldset class="choices"><legend>Decision</legend>
        ${DECISIONS.map((d) => html`<label><input type="radio" name="decision" value="${d}" required ${cur?.decision === d ? html`checked` : ''}> ${DECISION_TEXT[d]}</label>`)}
      </fieldset>
      <div class="field"><label for="decision-note">Note</label><textarea id="decision-note" name="note" maxlength="4000" rows="2"></textarea></div>
      <button type="submit">Record decision</button>
    </form>
    ${
      history.length
        ? html`<h3>History</h3><div class="table-wrap"><table class="data" id="decision-history">
      <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Decision</th><th scope="col">Note</th></tr></thead>
      <tbody>${history.map((h) => html`<tr><td class="small">${timeTag(h.createdAt)}</td><td>${h.decidedBy}</td><td>${DECISION_TEXT[h.decision]}</td><td class="small">${h.note || '—'}</td></tr>`)}</tbody></table></div>`
        : ''
    }
  </section>`;
}

/** Share links of this submission: create one for the report on screen, revoke live ones. */
export function sharePanel(nav: ReviewerNav, submissionId: string, reportId: string, links: ShareLinkRow[]): SafeHtml {
  return html`<section class="card no-print" id="share" aria-labelledby="share-h">
    <div class="card-head"><h2 id="share-h">Share with a hiring manager</h2><span class="small muted">Read-only, no key needed</span></div>
    <p class="small muted">The link opens this report only: scores, checks, holdout metrics and the candidate's notes. No code, logs, archive, other submissions, reviewer comments or decisions. It is shown once; it stops working at its expiry or when you revoke it.</p>
    <form method="post" action="/review/submissions/${submissionId}/share-links" class="form-row">
      <input type="hidden" name="_csrf" value="${nav.csrf}">
      <input type="hidden" name="report_id" value="${reportId}">
      <div class="field"><label for="share-days">Valid for (days, at most ${SHARE_MAX_DAYS})</label><input type="number" id="share-days" name="expires_in_days" min="1" max="${SHARE_MAX_DAYS}" step="1" value="${SHARE_DEFAULT_DAYS}" required></div>
      <div class="actions"><button type="submit">Create share link</button></div>
    </form>
    ${
      links.length
        ? html`<div class="table-wrap"><table class="data" id="share-links">
      <thead><tr><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${links.map(
        (
          l,
        ) => html`<tr data-share-link="${l.id}"><td class="small">${timeTag(l.createdAt)}<br><span class="muted">by ${l.createdBy}</span></td><td class="small">${timeTag(l.expiresAt)}</td><td>${badge(shareState(l))}${l.revokedBy ? html`<br><span class="small muted">by ${l.revokedBy}</span>` : ''}</td>
        <td>${shareState(l) === 'active' ? html`<form method="post" action="/review/share-links/${l.id}/revoke" class="inline"><input type="hidden" name="_csrf" value="${nav.csrf}"><button type="submit" class="secondary small">Revoke</button></form>` : ''}</td></tr>`,
      )}</tbody></table></div>`
        : ''
    }
  </section>`;
}

/** The new link, shown once, with a Copy button (static/copy.js; selecting the field works without it). */
export function shareCreatedPage(nav: ReviewerNav, d: { url: string; link: ShareLinkRow; candidate: string }): string {
  return page({
    title: 'Share link created',
    narrow: true,
    reviewer: nav,
    scripts: ['copy.js'],
    body: html`<div class="card">
      <p class="eyebrow">Share link</p>
      <h1>Report of ${d.candidate}</h1>
      <div class="notice ok" role="status"><p>Anyone with this link can read the report until ${formatTime(d.link.expiresAt)}. It is shown only now: we keep a fingerprint of it, not the link itself.</p></div>
      ${copyField('share-url', 'Share link', d.url)}
      <div class="actions spaced"><a class="button secondary" href="/review/submissions/${d.link.submissionId}#share">Back to the report</a></div>
    </div>`,
  });
}

/** A read-only field with a link and a Copy button that static/copy.js wires up. */
export function copyField(id: string, label: string, value: string): SafeHtml {
  return html`<div class="field"><label for="${id}">${label}</label>
      <div class="copy-row"><textarea class="copy-box" id="${id}" data-${id} readonly rows="3" spellcheck="false" aria-describedby="${id}-hint">${value}</textarea>
      <button type="button" class="secondary" data-copy="${id}" hidden>Copy</button></div>
      <p class="hint" id="${id}-hint" data-copy-status="${id}" aria-live="polite">Select the field and copy the link.</p></div>`;
}

/** Withdrawing an invite is confirmed on its own page (a form, so it works without scripts). */
export function withdrawConfirmPage(nav: ReviewerNav, invite: { id: string; candidateName: string; candidateEmail: string; assessmentId: string; attemptsUsed: number }): string {
  return page({
    title: 'Withdraw the invite?',
    narrow: true,
    reviewer: nav,
    body: html`<div class="card">
      <p class="eyebrow">Invite</p>
      <h1>Withdraw the invite of ${invite.candidateName}?</h1>
      <div class="notice warn" role="alert"><p>The link sent to ${invite.candidateEmail} stops working at once and shows a “withdrawn” page. The ${invite.attemptsUsed} upload(s) already made are kept. This cannot be undone; a new invite makes a new link.</p></div>
      <form method="post" action="/review/invites/${invite.id}/withdraw">
        <input type="hidden" name="_csrf" value="${nav.csrf}">
        <div class="actions"><button type="submit">Withdraw the invite</button><a class="button secondary" href="/review/assessments/${invite.assessmentId}#invites">Keep it</a></div>
      </form>
    </div>`,
  });
}
