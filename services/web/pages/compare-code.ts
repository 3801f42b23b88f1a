import type { ComparedPair, DiffRow, FileDiff } from '../code-diff.ts';
import { html, type SafeHtml } from '../html.ts';

const SIGN: Record<DiffRow['kind'], string> = { ctx: ' ', add: '+', del: '-', gap: '' };
const KIND_TEXT: Record<DiffRow['kind'], string> = { ctx: 'unchanged', add: 'added', del: 'removed', gap: '' };

function diffTable(f: Extract<FileDiff, { status: 'changed' }>, label: string): SafeHtml {
  return html`<div class="code-scroll" tabindex="0" role="region" aria-label="${label}"><table class="code diff" data-diff-file="${f.name}"><tbody>${f.rows.map((r) =>
    r.kind === 'gap'
      ? html`<tr class="diff-gap"><td class="ln" colspan="2"></td><td class="src" colspan="2">${r.text}</td></tr>`
      : html`<tr class="diff-${r.kind}" data-diff-row="${r.kind}"><td class="ln">${r.old === null ? '' : String(r.old)}</td><td class="ln">${r.new === null ? '' : String(r.new)}</td><td class="sign" aria-label="${KIND_TEXT[r.kind]}">${SIGN[r.kind]}</td><td class="src">${r.text}</td></tr>`,
  )}</tbody></table></div>${f.hiddenRows ? html`<p class="small muted diff-clip">${String(f.hiddenRows)} more diff lines not shown.</p>` : ''}`;
}

function fileDiff(f: FileDiff, pairLabel: string): SafeHtml {
  if (f.status === 'same') return html`<li data-diff-status="same"><code>${f.name}</code> <span class="muted">identical</span></li>`;
  if (f.status === 'summary') return html`<li data-diff-status="summary"><code>${f.name}</code> <span class="muted">${f.reason}</span></li>`;
  return html`<li data-diff-status="changed"><details open><summary><code>${f.name}</code> <span class="diff-stat"><span class="diff-plus">+${String(f.added)}</span> <span class="diff-minus">−${String(f.removed)}</span></span></summary>${diffTable(f, `${f.name}: ${pairLabel}`)}</details></li>`;
}

const nameOf = (s: ComparedPair['first']) => s.candidate ?? `API upload ${s.id.slice(0, 8)}`;

/** The compare page's code section: for each pair, the shared files' diffs (first submission = the left-hand numbers). */
export function codeDiffSection(pairs: ComparedPair[]): SafeHtml {
  return html`<section class="card code-diff" aria-labelledby="code-diff-h" id="code-diff">
    <h2 id="code-diff-h">Code</h2>
    <p class="small muted">Files both submissions hold (by path under the folder of their solution), compared line by line: the first number is the line in ${nameOf(pairs[0]!.first)}’s file, the second in the other’s. Notebooks are compared by their cells’ source.</p>
    ${pairs.map((p) => {
      const label = `${nameOf(p.first)} → ${nameOf(p.second)}`;
      const d = p.diff;
      return html`<div class="diff-pair" data-diff-pair="${p.second.id}">
        <h3>${label}</h3>
        ${
          d === null
            ? html`<p class="muted">An archive is not stored on this server, so the code cannot be compared.</p>`
            : html`${d.files.length ? html`<ul class="diff-files">${d.files.map((f) => fileDiff(f, label))}</ul>` : html`<p class="muted">The two submissions share no file.</p>`}
              ${d.notDiffed.length ? html`<p class="small muted">Also shared, not compared here: ${d.notDiffed.join(', ')}</p>` : ''}
              ${d.onlyFirst.length ? html`<p class="small" data-only-first>Only in ${nameOf(p.first)}’s: ${d.onlyFirst.join(', ')}</p>` : ''}
              ${d.onlySecond.length ? html`<p class="small" data-only-second>Only in ${nameOf(p.second)}’s: ${d.onlySecond.join(', ')}</p>` : ''}`
        }
      </div>`;
    })}
  </section>`;
}
