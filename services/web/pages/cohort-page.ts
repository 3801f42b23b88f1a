import { CHECKS } from '../../checks/check-catalog.ts';
import { DECISION_FILTERS, STATUS_FILTERS, type CohortQuery, type CohortRow, type SortKey, type Standing } from '../cohort-queries.ts';
import { html, query, type SafeHtml } from '../html.ts';
import { badge, num, timeTag } from '../layout.ts';

/** A check's title from the catalogue; an id the catalogue no longer has is shown as it is. */
export const checkTitle = (id: string): string => CHECKS.find((c) => c.id === id)?.title ?? id;

export const DECISION_TEXT: Record<string, string> = { advance: 'Advance', hold: 'Hold', reject: 'Reject', none: 'No decision yet' };

export interface CohortSectionData {
  assessmentId: string;
  rows: CohortRow[];
  total: number;
  flagsSeen: string[];
  query: CohortQuery;
  /** The similar-code section (pairs above a bar, grouped in clusters), shown under the list. */
  similarity?: SafeHtml;
}

const listHref = (base: string, q: CohortQuery, over: Partial<CohortQuery> = {}) => `${base}${query({ ...q, ...over })}`;

function sortHeader(label: string, key: SortKey, q: CohortQuery, base: string, cls = ''): SafeHtml {
  const active = q.sort === key;
  const dir = active && q.dir === 'desc' ? 'asc' : active ? 'desc' : key === 'submitted' || key === 'score' || key === 'flags' ? 'desc' : 'asc';
  const ariaSort = active ? (q.dir === 'asc' ? 'ascending' : 'descending') : 'none';
  return html`<th scope="col" class="${cls}" aria-sort="${ariaSort}"><a href="${listHref(base, q, { sort: key, dir })}">${label}${active ? html` <span aria-hidden="true">${q.dir === 'asc' ? '▲' : '▼'}</span>` : ''}</a></th>`;
}

/** "Passed", "Not passed" or the grading state; a verdict that manual items can still change says so. */
export function verdictCell(r: Pick<CohortRow, 'status' | 'passed' | 'invalid' | 'phase' | 'manualScored' | 'manualTotal'>): SafeHtml {
  // Graded, but nothing of the candidate's pipeline produced predictions: not a model that did badly.
  if (r.status === 'completed' && r.invalid) return html`${badge('invalid')}<br><span class="small muted">did not run</span>`;
  if (r.status === 'completed' && r.passed !== null) {
    const provisional = r.manualScored < r.manualTotal;
    return html`${badge(r.passed ? 'passed' : 'not-passed')}${provisional ? html`<br><span class="small muted" data-provisional>provisional: ${r.manualScored} of ${r.manualTotal} manual scored</span>` : ''}`;
  }
  return html`${badge(r.status ?? 'queued')}${r.status === 'running' ? html`<br><span class="small muted">${r.phase}</span>` : ''}`;
}

export function decisionBadge(d: CohortRow['decision']): SafeHtml {
  if (!d) return html`<span class="small muted">none</span>`;
  const cls = d.decision === 'advance' ? 'pass' : d.decision === 'reject' ? 'fail' : 'warn';
  return html`<span class="badge badge-${cls}" data-decision="${d.decision}">${DECISION_TEXT[d.decision]}</span><br><span class="small muted">${d.by}, ${timeTag(d.at)}</span>`;
}

/** The rubric's similarity flag: a match with someone else's code at or above its threshold (reviewers only). */
function similarityFlag(r: CohortRow): SafeHtml | '' {
  if (r.similarityFlag === null) return '';
  return html`<a class="flag" data-similarity-flag href="/review/submissions/${r.id}/similarity" title="code similar to another submission or a reference solution">Similar code ${String(Math.round(r.similarityFlag * 100))}%</a>`;
}

/** A percentile as the list and the CSV give it: the share of the other graded submissions beaten, in whole percent; null without a measure or anyone to compare with. */
export const percentBeaten = (s: Standing | null): number | null => (s && s.of > 1 ? Math.round(s.betterThan * 100) : null);

/** Reviewers only: the latest attempt's percentile on money saved and on final score. */
function positionCell(r: CohortRow): SafeHtml {
  const part = (label: string, s: Standing | null, attr: string) => {
    const p = percentBeaten(s);
    return html`<span data-${attr}>${label} ${p === null ? html`<span class="muted">—</span>` : html`<strong>${p}%</strong>`}</span>`;
  };
  return html`<td class="small" data-position>${part('saved', r.position.quality, 'position-quality')}<br>${part('score', r.position.score, 'position-score')}</td>`;
}

function earlierAttempts(r: CohortRow): SafeHtml | '' {
  if (!r.earlier.length) return '';
  return html`<details class="attempts"><summary class="small">${r.earlier.length} earlier attempt${r.earlier.length === 1 ? '' : 's'}</summary><ul class="small">${r.earlier.map(
    (e) =>
      html`<li data-attempt="${e.id}"><a href="/review/submissions/${e.id}">${timeTag(e.createdAt)}</a> · ${e.status === 'completed' && e.invalid ? 'invalid (did not run)' : e.status === 'completed' && e.passed !== null ? (e.passed ? 'passed' : 'not passed') : (e.status ?? 'queued')} · ${e.finalScore === null ? '—' : num(e.finalScore, 0)}</li>`,
  )}</ul></details>`;
}

/** Filters, the one-row-per-candidate table (with compare checkboxes) and the CSV export link. */
export function cohortSection(d: CohortSectionData): SafeHtml {
  const base = `/review/assessments/${d.assessmentId}`;
  const q = d.query;
  const filtered = q.q || q.status || q.flag || q.decision || q.similarity;
  return html`<form class="card filters" method="get" action="${base}" role="search" aria-label="Filter candidates">
      <div class="field"><label for="f-q">Candidate, e-mail or file</label><input type="search" id="f-q" name="q" value="${q.q}"></div>
      <div class="field"><label for="f-status">Status</label><select id="f-status" name="status">
        <option value="">Any status</option>
        ${STATUS_FILTERS.map((s) => html`<option value="${s}" ${q.status === s ? html`selected` : ''}>${s.replace('-', ' ')}</option>`)}
      </select></div>
      <div class="field"><label for="f-flag">Failed check</label><select id="f-flag" name="flag">
        <option value="">Any</option>
        ${d.flagsSeen.map((f) => html`<option value="${f}" ${q.flag === f ? html`selected` : ''}>${checkTitle(f)}</option>`)}
      </select></div>
      <div class="field"><label for="f-decision">Decision</label><select id="f-decision" name="decision">
        <option value="">Any</option>
        ${DECISION_FILTERS.map((s) => html`<option value="${s}" ${q.decision === s ? html`selected` : ''}>${DECISION_TEXT[s]}</option>`)}
      </select></div>
      <div class="field"><label><input type="checkbox" id="f-similarity" name="similarity" value="flagged" ${q.similarity === 'flagged' ? html`checked` : ''}> Flagged for similarity only</label></div>
      <input type="hidden" name="sort" value="${q.sort}"><input type="hidden" name="dir" value="${q.dir}">${q.similar === undefined ? '' : html`<input type="hidden" name="similar" value="${String(q.similar)}">`}
      <div class="actions"><button type="submit">Apply</button>${filtered ? html`<a class="button secondary" href="${base}">Clear</a>` : ''}</div>
    </form>
    <form method="get" action="/review/compare" id="compare-form">
    <div class="list-actions"><button type="submit" class="secondary">Compare selected (2 or 3)</button><a class="button secondary" href="${base}/candidates.csv${query(q)}" download>Export CSV</a></div>
    <div class="table-wrap" id="submissions">
      <table class="data cohort">
        <caption class="visually-hidden">Candidates, latest attempt each, sorted by ${q.sort} (${q.dir === 'asc' ? 'ascending' : 'descending'})</caption>
        <thead><tr>
          <th scope="col"><span class="visually-hidden">Compare</span></th>
          ${sortHeader('Candidate', 'candidate', q, base)}
          ${sortHeader('Submitted', 'submitted', q, base)}
          ${sortHeader('Status', 'status', q, base)}
          ${sortHeader('Score', 'score', q, base, 'num')}
          <th scope="col"><abbr title="Share of the other graded submissions of this assessment this one beats, on money saved (quality) and on final score. Reviewers only.">Beats</abbr></th>
          <th scope="col">Decision</th>
          ${sortHeader('Flags', 'flags', q, base)}
        </tr></thead>
        <tbody>${
          d.rows.length
            ? d.rows.map(
                (r) => html`<tr data-submission="${r.id}">
          <td><input type="checkbox" name="ids" value="${r.id}" aria-label="Compare ${r.candidate ?? r.fileName}"></td>
          <td><a href="/review/submissions/${r.id}"><strong>${r.candidate ?? 'API upload'}</strong></a>${r.candidateEmail ? html`<br><span class="small muted">${r.candidateEmail}</span>` : ''}${earlierAttempts(r)}</td>
          <td class="small">${timeTag(r.createdAt)}<br><span class="muted">${r.fileName}</span></td>
          <td>${verdictCell(r)}</td>
          <td class="num">${r.finalScore === null ? '—' : num(r.finalScore, 0)}${r.manualScored ? html`<br><span class="small muted">incl. manual</span>` : ''}</td>
          ${positionCell(r)}
          <td>${decisionBadge(r.decision)}</td>
          <td><div class="flags">${r.flags.map((f) => html`<span class="flag" title="${f}">${checkTitle(f)}</span>`)}${similarityFlag(r)}${r.flags.length || r.similarityFlag !== null ? '' : html`<span class="small muted">none</span>`}</div></td>
        </tr>`,
              )
            : html`<tr><td colspan="8" class="muted">${filtered ? 'No submission matches these filters.' : 'No submissions yet. Invite a candidate below.'}</td></tr>`
        }</tbody>
      </table>
    </div>
    </form>
    ${d.similarity ?? ''}`;
}
