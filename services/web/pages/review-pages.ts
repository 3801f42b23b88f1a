import type { InviteRow } from '../../invites/invite-repository.ts';
import { html, query, type SafeHtml } from '../html.ts';
import { badge, formatTime, num, page, timeTag, type ReviewerNav } from '../layout.ts';
import type { SubmissionListRow } from '../review-queries.ts';

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

export const SORTS = ['submitted', 'candidate', 'status', 'score', 'flags'] as const;
export type SortKey = (typeof SORTS)[number];
export const STATUS_FILTERS = ['queued', 'running', 'completed', 'failed', 'passed', 'not-passed'] as const;

export interface ListQuery {
  q: string;
  status: string;
  flag: string;
  sort: SortKey;
  dir: 'asc' | 'desc';
}

export interface SubmissionsPageData {
  nav: ReviewerNav;
  assessment: { id: string; title: string };
  rows: (SubmissionListRow & { finalScore: number | null; manualScored: boolean })[];
  total: number;
  flagsSeen: string[];
  query: ListQuery;
  invites: (InviteRow & { submissions: number })[];
  defaults: { ttlHours: number; maxAttempts: number };
  inviteError?: string;
}

function sortHeader(label: string, key: SortKey, q: ListQuery, base: string, cls = ''): SafeHtml {
  const active = q.sort === key;
  const dir = active && q.dir === 'desc' ? 'asc' : active ? 'desc' : key === 'submitted' || key === 'score' || key === 'flags' ? 'desc' : 'asc';
  const href = `${base}${query({ q: q.q, status: q.status, flag: q.flag, sort: key, dir })}`;
  const ariaSort = active ? (q.dir === 'asc' ? 'ascending' : 'descending') : 'none';
  return html`<th scope="col" class="${cls}" aria-sort="${ariaSort}"><a href="${href}">${label}${active ? html` <span aria-hidden="true">${q.dir === 'asc' ? '▲' : '▼'}</span>` : ''}</a></th>`;
}

function inviteState(i: InviteRow): string {
  if (i.revokedAt) return 'revoked';
  if (i.expiresAt.getTime() <= Date.now()) return 'expired';
  if (i.attemptsUsed >= i.maxAttempts) return 'used_up';
  return 'active';
}

export function submissionsPage(d: SubmissionsPageData): string {
  const base = `/review/assessments/${d.assessment.id}`;
  const q = d.query;
  const filtered = q.q || q.status || q.flag;
  return page({
    title: `Submissions · ${d.assessment.title}`,
    reviewer: { ...d.nav, current: 'submissions' },
    body: html`<div class="page-head">
      <div><p class="eyebrow"><a href="/review">Assessments</a> / ${d.assessment.id}</p><h1>${d.assessment.title}</h1>
      <p class="sub">${d.rows.length === d.total ? `${d.total} submission${d.total === 1 ? '' : 's'}` : `${d.rows.length} of ${d.total} submissions`}</p></div>
      <div class="actions"><a class="button" href="#invite">Invite a candidate</a></div>
    </div>
    <form class="card filters" method="get" action="${base}" role="search" aria-label="Filter submissions">
      <div class="field"><label for="f-q">Candidate, e-mail or file</label><input type="search" id="f-q" name="q" value="${q.q}"></div>
      <div class="field"><label for="f-status">Status</label><select id="f-status" name="status">
        <option value="">Any status</option>
        ${STATUS_FILTERS.map((s) => html`<option value="${s}" ${q.status === s ? html`selected` : ''}>${s.replace('-', ' ')}</option>`)}
      </select></div>
      <div class="field"><label for="f-flag">Failed check</label><select id="f-flag" name="flag">
        <option value="">Any</option>
        ${d.flagsSeen.map((f) => html`<option value="${f}" ${q.flag === f ? html`selected` : ''}>${f}</option>`)}
      </select></div>
      <input type="hidden" name="sort" value="${q.sort}"><input type="hidden" name="dir" value="${q.dir}">
      <div class="actions"><button type="submit">Apply</button>${filtered ? html`<a class="button secondary" href="${base}">Clear</a>` : ''}</div>
    </form>
    <div class="table-wrap" id="submissions">
      <table class="data">
        <caption class="visually-hidden">Submissions, sorted by ${q.sort} (${q.dir === 'asc' ? 'ascending' : 'descending'})</caption>
        <thead><tr>
          ${sortHeader('Candidate', 'candidate', q, base)}
          <th scope="col">File</th>
          ${sortHeader('Submitted', 'submitted', q, base)}
          ${sortHeader('Status', 'status', q, base)}
          ${sortHeader('Score', 'score', q, base, 'num')}
          ${sortHeader('Flags', 'flags', q, base)}
        </tr></thead>
        <tbody>${
          d.rows.length
            ? d.rows.map(
                (r) => html`<tr data-submission="${r.id}">
          <td><a href="/review/submissions/${r.id}"><strong>${r.candidate ?? 'API upload'}</strong></a>${r.candidateEmail ? html`<br><span class="small muted">${r.candidateEmail}</span>` : ''}</td>
          <td class="small">${r.fileName}</td>
          <td class="small">${timeTag(r.createdAt)}</td>
          <td>${r.status === 'completed' && r.passed !== null ? badge(r.passed ? 'passed' : 'not-passed') : badge(r.status ?? 'queued')}${r.status === 'running' ? html`<br><span class="small muted">${r.phase}</span>` : ''}</td>
          <td class="num">${r.finalScore === null ? '—' : num(r.finalScore, 0)}${r.manualScored ? html`<br><span class="small muted">incl. manual</span>` : ''}</td>
          <td><div class="flags">${r.flags.length ? r.flags.map((f) => html`<code>${f}</code>`) : html`<span class="small muted">none</span>`}</div></td>
        </tr>`,
              )
            : html`<tr><td colspan="6" class="muted">${filtered ? 'No submission matches these filters.' : 'No submissions yet. Invite a candidate below.'}</td></tr>`
        }</tbody>
      </table>
    </div>
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
        <div class="actions"><button type="submit">Create invite link</button></div>
      </form>
      ${d.invites.length
        ? html`<h3 id="invites">Invites</h3><div class="table-wrap"><table class="data">
        <thead><tr><th scope="col">Candidate</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col" class="num">Uploads</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${d.invites.map(
          (i) => html`<tr><td>${i.candidateName}<br><span class="small muted">${i.candidateEmail}</span></td><td class="small">${timeTag(i.createdAt)}<br><span class="muted">by ${i.createdBy}</span></td><td class="small">${timeTag(i.expiresAt)}</td><td class="num">${i.attemptsUsed} / ${i.maxAttempts}</td><td>${badge(inviteState(i))}</td>
          <td>${
            inviteState(i) === 'revoked' || inviteState(i) === 'expired'
              ? ''
              : html`<form method="post" action="/review/invites/${i.id}/withdraw" class="inline"><input type="hidden" name="_csrf" value="${d.nav.csrf}"><button type="submit" class="secondary small" aria-label="Withdraw the invite of ${i.candidateName}">Withdraw</button></form>`
          }</td></tr>`,
        )}</tbody></table></div>`
        : ''}
    </section>`,
  });
}

export function inviteCreatedPage(nav: ReviewerNav, d: { url: string; invite: InviteRow; assessmentTitle: string }): string {
  return page({
    title: 'Invite created',
    narrow: true,
    reviewer: nav,
    body: html`<div class="card">
      <p class="eyebrow">${d.assessmentTitle}</p>
      <h1>Invite created for ${d.invite.candidateName}</h1>
      <div class="notice ok" role="status"><p>Send this link to ${d.invite.candidateEmail}. It is shown only now: we keep a fingerprint of it, not the link itself.</p></div>
      <div class="field"><label for="invite-url">Invite link</label>
      <input type="text" class="copy-box" id="invite-url" data-invite-url readonly value="${d.url}" aria-describedby="invite-url-hint">
      <p class="hint" id="invite-url-hint">Select the field and copy the link.</p></div>
      <dl class="facts">
        <dt>Valid until</dt><dd>${formatTime(d.invite.expiresAt)}</dd>
        <dt>Uploads allowed</dt><dd>${d.invite.maxAttempts}</dd>
      </dl>
      <div class="actions spaced"><a class="button secondary" href="/review/assessments/${d.invite.assessmentId}">Back to submissions</a></div>
    </div>`,
  });
}
