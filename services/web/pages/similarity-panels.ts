import type { Cluster } from '../../similarity/similarity-clusters.ts';
import type { CohortQuery } from '../cohort-queries.ts';
import { html, query, type SafeHtml } from '../html.ts';
import { badge } from '../layout.ts';
import type { CohortPair, PairSide, TopMatch } from '../similarity-queries.ts';
import { pct } from './similarity-page.ts';

/** A pair as the clusters hold it: keyed by whose code each side is. */
export type ClusteredPair = CohortPair & { a: string; b: string };

/** The side-by-side page of a pair, opened from a submission's side (a reference solution has no page of its own). */
export function sideBySideHref(from: PairSide, to: PairSide): string {
  const [sub, other] = from.kind === 'submission' ? [from, to] : [to, from];
  return `/review/submissions/${sub.submissionId}/similarity${query({ with: other.documentId })}`;
}

function sideName(s: PairSide): SafeHtml {
  return s.kind === 'reference' ? html`${s.label} <span class="muted small">(reference solution)</span>` : html`<a href="/review/submissions/${s.submissionId}">${s.label}</a>`;
}

export interface SimilarityListData {
  assessmentId: string;
  /** The bar, 0-1; pairs at or above it are listed. */
  threshold: number;
  clusters: Cluster<ClusteredPair>[];
  /** The database returned as many pairs as it was asked for: there may be more. */
  truncated: boolean;
  /** The list's filters, kept when the bar changes. */
  query: CohortQuery;
}

/**
 * The assessment page's similar code (reviewers only): stored pairs at or above a bar, grouped
 * into clusters (whoever is linked by such a pair, directly or through others), each pair with a
 * link to its side-by-side page. Information for the reviewer, not a verdict.
 */
export function similarityListSection(d: SimilarityListData): SafeHtml {
  const q = d.query;
  const keep = (['q', 'status', 'flag', 'decision', 'similarity', 'sort', 'dir'] as const).filter((k) => q[k] !== '');
  const labels = new Map<string, PairSide>();
  for (const c of d.clusters) for (const p of c.pairs) labels.set(p.a, p.left).set(p.b, p.right);
  return html`<section class="card" id="similar-code" aria-labelledby="similar-h">
    <div class="card-head">
      <h2 id="similar-h">Similar code</h2>
      <span class="muted small">${badge('info', 'Reviewers only')} pairs at ${pct(d.threshold)} or more, grouped into clusters; a candidate's own attempts are not compared with each other here</span>
    </div>
    <form method="get" action="/review/assessments/${d.assessmentId}#similar-code" class="form-row">
      ${keep.map((k) => html`<input type="hidden" name="${k}" value="${String(q[k])}">`)}
      <div class="field"><label for="f-similar">Similarity at least (%)</label><input type="number" id="f-similar" name="similar" min="20" max="100" step="1" value="${String(Math.round(d.threshold * 100))}"></div>
      <div class="actions"><button type="submit" class="secondary">Show</button></div>
    </form>
    ${
      d.clusters.length === 0
        ? html`<p class="muted" data-no-clusters>No two candidates' code is that similar.</p>`
        : d.clusters.map(
            (c, i) => html`<div class="cluster" data-cluster="${String(i + 1)}">
              <h3 class="small">Cluster ${String(i + 1)}: ${c.members.map((m, j) => html`${j ? ', ' : ''}<span data-member>${labels.get(m)?.label ?? m}</span>`)} <span class="muted">(${String(c.members.length)}, up to ${pct(c.top)})</span></h3>
              <div class="table-wrap"><table class="data" data-similar-pairs>
                <thead><tr><th scope="col">Submission</th><th scope="col">Similar to</th><th scope="col" class="num">Similarity</th><th scope="col" class="num">Longest shared run</th><th scope="col"><span class="visually-hidden">Side by side</span></th></tr></thead>
                <tbody>${c.pairs.map(
                  (p) => html`<tr data-pair="${p.left.documentId}:${p.right.documentId}">
                    <td>${sideName(p.left)}</td><td>${sideName(p.right)}</td>
                    <td class="num">${pct(p.similarity)}</td><td class="num">${p.longest ? String(p.longest) : '—'}</td>
                    <td><a href="${sideBySideHref(p.left, p.right)}" data-side-by-side>Side by side</a></td>
                  </tr>`,
                )}</tbody>
              </table></div>
            </div>`,
          )
    }
    ${d.truncated ? html`<p class="small muted">Only the most similar pairs are shown: raise the bar to see every cluster whole.</p>` : ''}
  </section>`;
}

/**
 * The report's similar-code panel (reviewer view only; the candidate's pages and share links never
 * render it): the top matches with anyone else's code, the other candidate named and linked, and
 * each pair's side-by-side page.
 */
export function reportMatchesPanel(submissionId: string, d: { matches: TopMatch[]; total: number }): SafeHtml {
  const all = `/review/submissions/${submissionId}/similarity`;
  return html`<section class="card" id="similar-code" aria-labelledby="similar-h">
    <div class="card-head"><h2 id="similar-h">Similar code</h2><span class="muted small">${badge('info', 'Reviewers only')} information, not a verdict</span></div>
    ${
      d.matches.length === 0
        ? html`<p class="muted small" data-no-matches>No other candidate's code and no reference solution is stored as similar to this submission.</p>`
        : html`<div class="table-wrap"><table class="data" id="report-similar">
            <thead><tr><th scope="col">Similar to</th><th scope="col" class="num">Similarity</th><th scope="col" class="num">Longest shared run</th><th scope="col"><span class="visually-hidden">Side by side</span></th></tr></thead>
            <tbody>${d.matches.map(
              (m) => html`<tr data-match="${m.other.documentId}">
                <td>${sideName(m.other)}</td><td class="num">${pct(m.similarity)}</td><td class="num">${m.longest ? String(m.longest) : '—'}</td>
                <td><a href="${all}${query({ with: m.other.documentId })}" data-side-by-side>Side by side</a></td>
              </tr>`,
            )}</tbody>
          </table></div>
          ${d.total > d.matches.length ? html`<p class="small"><a href="${all}">All ${String(d.total)} matches</a></p>` : ''}`
    }
  </section>`;
}
