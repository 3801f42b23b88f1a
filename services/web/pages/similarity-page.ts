import type { SharedFragment } from '../../similarity/similarity-engine.ts';
import type { SimilarityDocument } from '../../similarity/similarity-repository.ts';
import { locateRow } from '../../similarity/similarity-source.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import { highlightLines } from '../code-highlight.ts';
import { html, query, trusted, type SafeHtml } from '../html.ts';
import { page, type ReviewerNav } from '../layout.ts';

export interface SimilarityMatch {
  otherDocumentId: string;
  /** The other candidate's name, the reference's name, or the upload's file name. */
  label: string;
  kind: SimilarityDocument['kind'];
  otherSubmissionId: string | null;
  similarity: number;
  longest: number;
}

export interface SideBySide {
  left: SimilarityDocument;
  right: SimilarityDocument;
  rightLabel: string;
  fragments: SharedFragment[];
}

export const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Lines (0-based) of a side that fall in a shared fragment, with the fragment's number. */
function sharedRows(fragments: SharedFragment[], side: 'left' | 'right'): Map<number, number> {
  const rows = new Map<number, number>();
  fragments.forEach((f, i) => {
    for (let r = f[side].startRow; r <= f[side].endRow; r++) if (!rows.has(r)) rows.set(r, i + 1);
  });
  return rows;
}

function codeColumn(doc: SimilarityDocument, title: string, rows: Map<number, number>): SafeHtml {
  const lines = highlightLines(doc.source, 'compared.py');
  return html`<section class="card code-card" aria-label="${title}">
    <h2 class="small">${title}</h2>
    <div class="code-scroll" tabindex="0">
      <table class="code hljs">
        <tbody>
          ${lines.map((markup, i) => {
            const at = locateRow(doc.parts, i);
            const frag = rows.get(i);
            return html`<tr ${frag ? html`class="marked" data-shared="${String(frag)}" title="shared fragment ${String(frag)}"` : ''}>
              <td class="ln" title="${at ? `${at.name}:${at.line}` : ''}">${at ? String(at.line) : ''}</td>
              <td class="src">${trusted(markup)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
  </section>`;
}

/**
 * Reviewer-only: the submissions and reference solutions most similar to this one (information,
 * not a verdict), and a pair side by side with the shared fragments marked. Candidate pages and
 * share links never link here.
 */
export function similarityPage(nav: ReviewerNav, sub: SubmissionRow, matches: SimilarityMatch[], pair: SideBySide | null): string {
  const href = (docId: string) => `/review/submissions/${sub.id}/similarity${query({ with: docId })}`;
  return page({
    title: `Similarity · ${sub.candidate ?? sub.fileName}`,
    reviewer: nav,
    styles: ['code.css', 'similarity.css'],
    body: html`<div class="page-head">
        <div>
          <p class="eyebrow"><a href="/review/submissions/${sub.id}">${sub.candidate ?? 'API upload'} / report</a> / similarity</p>
          <h1>Similar code</h1>
          <p class="sub">
            Other submissions of this assessment and uploaded reference solutions whose code shares structure with this one (Dolos: syntax-tree tokens, so renamed variables and changed
            comments do not hide a copy; code from the brief is left out). Information for the reviewer, not a verdict.
          </p>
        </div>
      </div>
      <section class="card" aria-labelledby="matches-h">
        <h2 id="matches-h">Matches</h2>
        ${
          matches.length === 0
            ? html`<p class="muted" data-no-matches>No stored match above the floor.</p>`
            : html`<div class="table-wrap">
                <table class="data" id="similarity-matches">
                  <thead>
                    <tr>
                      <th scope="col">Other</th>
                      <th scope="col" class="num">Similarity</th>
                      <th scope="col" class="num">Longest shared run (k-grams)</th>
                      <th scope="col"></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${matches.map(
                      (m) =>
                        html`<tr data-match="${m.otherDocumentId}">
                          <td>
                            ${m.otherSubmissionId ? html`<a href="/review/submissions/${m.otherSubmissionId}">${m.label}</a>` : html`${m.label} <span class="muted small">(reference solution)</span>`}
                          </td>
                          <td class="num">${pct(m.similarity)}</td>
                          <td class="num">${m.longest ? String(m.longest) : '—'}</td>
                          <td><a href="${href(m.otherDocumentId)}">Side by side</a></td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </section>
      ${
        pair
          ? html`<h2>Side by side with ${pair.rightLabel}: ${String(pair.fragments.length)} shared fragment(s)</h2>
              <div class="side-by-side">
                ${codeColumn(pair.left, sub.candidate ?? sub.fileName, sharedRows(pair.fragments, 'left'))}${codeColumn(pair.right, pair.rightLabel, sharedRows(pair.fragments, 'right'))}
              </div>`
          : ''
      }`,
  });
}
