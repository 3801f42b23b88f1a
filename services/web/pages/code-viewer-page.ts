import type { ArchiveFile } from '../../archive/archive-reader.ts';
import { locationText } from '../../checks/evidence-location.ts';
import type { ReportDocument } from '../../reports/report-schema.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import { highlightLines } from '../code-highlight.ts';
import { html, query, trusted, type SafeHtml } from '../html.ts';
import { formatBytes, page, type ReviewerNav } from '../layout.ts';
import { notebookLocation } from '../notebook-document.ts';
import { codeTable } from './code-table.ts';
import { notebookView } from './notebook-view.ts';

/** The viewer's address for one file, at one line: where evidence on the report links to. */
export function codeHref(submissionId: string, file: string, line?: number | null): string {
  // In a notebook, `solution.ipynb#cell-3` line 5 is the anchor cell-3-L5 of the notebook's page.
  const nb = notebookLocation(file);
  if (nb) return `/review/submissions/${submissionId}/code${query({ file: nb.file })}#cell-${nb.cell}${line ? `-L${line}` : ''}`;
  return `/review/submissions/${submissionId}/code${query({ file })}${line ? `#L${line}` : ''}`;
}

/** How many lines the report marks in a file (in a notebook: over all its cells). */
function markedLines(marks: Map<string, Map<number, string[]>>, file: string): number {
  let n = marks.get(file)?.size ?? 0;
  for (const [where, lines] of marks) if (notebookLocation(where)?.file === file) n += lines.size;
  return n;
}

/** A file and line from a report; linked to the code viewer when the page is a reviewer's (`submissionId` given). */
export function codeWhere(file: string, line: number | null | undefined, submissionId?: string): SafeHtml {
  const text = locationText(file, line);
  return submissionId ? html`<a class="where" data-code-link href="${codeHref(submissionId, file, line)}">${text}</a>` : html`<span class="where">${text}</span>`;
}

/** What the report points at: per file, per line, the labels of the evidence and lint findings there. */
export function evidenceMarks(doc: ReportDocument | null): Map<string, Map<number, string[]>> {
  const marks = new Map<string, Map<number, string[]>>();
  const add = (file: string | undefined, line: number | undefined, label: string) => {
    if (!file || !line) return;
    const lines = marks.get(file) ?? new Map<number, string[]>();
    marks.set(file, lines);
    lines.set(line, [...(lines.get(line) ?? []), label]);
  };
  for (const c of doc?.checks ?? []) for (const e of c.evidence) add(e.file, e.line, `${c.title}: ${e.label}`);
  for (const l of doc?.lint ?? []) add(l.file, l.line, `${l.rule}: ${l.message}`);
  return marks;
}

export interface CodeViewerData {
  nav: ReviewerNav;
  submission: SubmissionRow;
  files: ArchiveFile[];
  /** The file shown; null when the archive holds no readable text file. */
  selected: ArchiveFile | null;
  marks: Map<string, Map<number, string[]>>;
  maxFileBytes: number;
}

const KIND_TEXT: Record<ArchiveFile['kind'], string> = {
  text: '',
  binary: 'binary, not shown',
  large: 'too large to show',
};

function fileList(d: CodeViewerData): SafeHtml {
  return html`<div class="table-wrap"><table class="data" id="files">
    <thead><tr><th scope="col">File</th><th scope="col" class="num">Size</th><th scope="col">Marked lines</th></tr></thead>
    <tbody>${d.files.map((f) => {
      const marked = markedLines(d.marks, f.name);
      const current = d.selected?.name === f.name;
      return html`<tr data-file="${f.name}" data-kind="${f.kind}"><td class="file-name">${
        f.kind === 'text'
          ? html`<a href="${codeHref(d.submission.id, f.name)}" ${current ? trusted('aria-current="page"') : ''}>${f.name}</a>`
          : html`${f.name} <span class="muted small">(${KIND_TEXT[f.kind]})</span>`
      }</td><td class="num">${formatBytes(f.size)}</td><td>${marked ? String(marked) : ''}</td></tr>`;
    })}</tbody></table></div>`;
}

function fileView(d: CodeViewerData, f: ArchiveFile): SafeHtml {
  const text = f.text ?? '';
  const plain = () => codeTable({ label: f.name, lines: highlightLines(text, f.name), marks: d.marks.get(f.name), file: f.name });
  if (!/\.ipynb$/i.test(f.name)) return plain();
  const nb = notebookView(f.name, text, d.marks);
  if ('view' in nb) return nb.view;
  return html`<p class="notice error nb-problem" role="status" data-notebook-problem>This notebook cannot be shown as cells: ${nb.problem}. Its text follows as it is.</p>${plain()}`;
}

/** The reviewer's code viewer: every file of the archive, one text file at a time, highlighted. */
export function codeViewerPage(d: CodeViewerData): string {
  const sub = d.submission;
  const f = d.selected;
  return page({
    title: `Code · ${f?.name ?? sub.fileName}`,
    reviewer: d.nav,
    styles: ['code.css', 'notebook.css'],
    body: html`<div class="page-head">
      <div>
        <p class="eyebrow"><a href="/review/submissions/${sub.id}">${sub.candidate ?? 'API upload'} / report</a> / code</p>
        <h1>${f?.name ?? 'No text file to show'}</h1>
        <p class="sub">${sub.fileName} · ${String(d.files.length)} file(s). Files over ${formatBytes(d.maxFileBytes)} and binary files are listed, not shown. Lines the report points at are marked.</p>
      </div>
      <div class="actions no-print"><a class="button secondary" href="/review/submissions/${sub.id}/archive" download data-archive-download>Download the archive</a></div>
    </div>
    <section class="card" aria-labelledby="files-h"><h2 id="files-h">Files</h2>${fileList(d)}</section>
    ${f ? html`<section class="card code-card" aria-labelledby="code-h"><h2 id="code-h" class="visually-hidden">${f.name}</h2>${fileView(d, f)}</section>` : ''}`,
  });
}
