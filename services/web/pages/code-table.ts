import { html, trusted, type SafeHtml } from '../html.ts';

export interface CodeTableOptions {
  /** Accessible name of the scrolling region. */
  label: string;
  /** Highlighted markup, one entry per line (see highlightLines). */
  lines: string[];
  /** Labels of the evidence pointing at each line (1-based). */
  marks?: Map<number, string[]>;
  /** Row ids and links are `<anchor>L<n>`: `L12` for a file, `cell-3-L12` in a notebook. */
  anchor?: string;
  /** data-code-file of the table. */
  file: string;
}

/** Line-numbered code that scrolls inside its own box; each line has an anchor, marked lines carry their labels. */
export function codeTable(o: CodeTableOptions): SafeHtml {
  const anchor = o.anchor ?? '';
  return html`<div class="code-scroll" tabindex="0" role="region" aria-label="${o.label}"><table class="code hljs" data-code-file="${o.file}"><tbody>${o.lines.map((markup, i) => {
    const n = i + 1;
    const notes = o.marks?.get(n);
    const id = `${anchor}L${n}`;
    return html`<tr id="${id}" ${notes ? html`class="marked" data-marked title="${notes.join('\n')}"` : ''}><td class="ln"><a href="#${id}" aria-label="Line ${n}">${String(n)}</a></td><td class="src">${trusted(markup)}${notes ? html`<span class="mark-note">◀ ${notes.join(' · ')}</span>` : ''}</td></tr>`;
  })}</tbody></table></div>`;
}
