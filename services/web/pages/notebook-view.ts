import { highlightLines } from '../code-highlight.ts';
import { html, type SafeHtml } from '../html.ts';
import { formatBytes } from '../layout.ts';
import { renderMarkdown } from '../markdown.ts';
import { parseNotebook, type NotebookCell, type NotebookOutput } from '../notebook-document.ts';
import { codeTable } from './code-table.ts';

/** Output text shown per output; the rest is counted, not shown. */
const MAX_OUTPUT_CHARS = 20_000;
/** Raster images shown inline as data: URLs (the pages' CSP allows `img-src data:`, nothing remote). */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const MAX_IMAGE_BASE64 = 2_000_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

// Python's str.splitlines() (how the harness numbers lines in a cell) also breaks at these; the
// viewer breaks there too so that line M of a cell is the line the evidence means.
// eslint-disable-next-line no-control-regex -- these control characters are the line breaks matched
const PY_LINE_BREAKS = /[\v\f\x1c-\x1e\x85\u2028\u2029]/g;

function clipped(text: string): SafeHtml {
  if (text.length <= MAX_OUTPUT_CHARS) return html`${text}`;
  return html`${text.slice(0, MAX_OUTPUT_CHARS)}<span class="nb-clip">… ${String(text.length - MAX_OUTPUT_CHARS)} more characters not shown</span>`;
}

function dataItem(mime: string, data: string | null): SafeHtml {
  if (data === null) return html`<p class="nb-note small muted">${mime} output (not text, not shown)</p>`;
  if (INLINE_IMAGES.has(mime)) {
    const b64 = data.replace(/\s+/g, '');
    if (b64.length <= MAX_IMAGE_BASE64 && BASE64.test(b64))
      return html`<img class="nb-img" src="data:${mime};base64,${b64}" alt="Output image (${mime}, ${formatBytes(Math.floor((b64.length * 3) / 4))})" data-output-image>`;
    return html`<p class="nb-note small muted">${mime} image (${formatBytes(data.length)}): too large or not valid base64, not shown</p>`;
  }
  if (mime === 'text/plain') return html`<pre class="nb-out">${clipped(data)}</pre>`;
  // HTML, JavaScript, SVG, Markdown, LaTeX, JSON...: the source as text, never rendered or run.
  return html`<details class="nb-source-out" data-output-source="${mime}"><summary>${mime} output, shown as source (not rendered)</summary><pre class="nb-out">${clipped(data)}</pre></details>`;
}

function outputView(o: NotebookOutput): SafeHtml {
  switch (o.kind) {
    case 'text':
      return html`<pre class="nb-out ${o.stream === 'stderr' ? 'nb-stderr' : ''}">${clipped(o.text)}</pre>`;
    case 'error':
      return html`<pre class="nb-out nb-error">${clipped(`${o.name}: ${o.value}\n${o.traceback}`)}</pre>`;
    case 'data':
      return html`${o.items.map((i) => dataItem(i.mime, i.data))}`;
    case 'unknown':
      return html`<p class="nb-note small muted">an output of type ${o.type}, not shown</p>`;
  }
}

const TYPE_TEXT: Record<NotebookCell['type'], string> = { code: 'code', markdown: 'markdown', raw: 'raw', other: 'unknown cell type' };

function cellView(file: string, c: NotebookCell, marks: Map<string, Map<number, string[]>>): SafeHtml {
  const id = `cell-${c.number}`;
  const cellMarks = marks.get(`${file}#${id}`);
  const head = html`<div class="nb-head"><a href="#${id}">Cell ${String(c.number)}</a> · ${TYPE_TEXT[c.type]}${c.type === 'code' && c.executionCount !== null ? html` · In [${String(c.executionCount)}]` : ''}${cellMarks ? html` · <strong>${String(cellMarks.size)} marked line(s)</strong>` : ''}</div>`;
  let body: SafeHtml;
  if (c.type === 'code') {
    const lines = c.source.trim() === '' ? [] : highlightLines(c.source.replace(PY_LINE_BREAKS, '\n'), 'cell.py');
    body = html`${lines.length ? codeTable({ label: `Cell ${c.number}`, lines, marks: cellMarks, anchor: `${id}-`, file: `${file}#${id}` }) : html`<p class="nb-note small muted">empty cell</p>`}${
      c.outputs.length ? html`<div class="nb-outputs" aria-label="Outputs of cell ${String(c.number)}">${c.outputs.map(outputView)}</div>` : ''
    }`;
  } else if (c.type === 'markdown') body = html`<div class="prose nb-md">${renderMarkdown(c.source)}</div>`;
  else body = html`<pre class="nb-out">${clipped(c.source)}</pre>`;
  return html`<section class="nb-cell nb-${c.type}" id="${id}" data-cell="${String(c.number)}">${head}${body}</section>`;
}

/**
 * A notebook as cells: code highlighted with per-cell line numbers (anchors `cell-N-L<m>`), Markdown
 * through the safe renderer, stored outputs as text (HTML and scripts as their source, raster images
 * as inert data: URLs). A text that is not a notebook (or over the limits) gives the reason instead.
 */
export function notebookView(file: string, text: string, marks: Map<string, Map<number, string[]>>): { view: SafeHtml } | { problem: string } {
  const nb = parseNotebook(text);
  if (!nb.ok) return { problem: nb.reason };
  return { view: html`<div class="nb" data-notebook="${file}">${nb.cells.map((c) => cellView(file, c, marks))}</div>` };
}
