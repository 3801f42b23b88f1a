/**
 * Where a piece of evidence or a lint finding points, as people read it. Reports store locations in
 * the harness's machine form (`solution.py` + line 12; `solution.ipynb#cell-5` + line 1, the line
 * counted within the cell); every page, download and evidence text shows them through
 * `locationText`, so a notebook reads "solution.ipynb, cell 5, line 1" everywhere, as the harness's
 * own messages say it. Links into the code viewer keep the machine form (its anchors).
 */

/** `solution.ipynb#cell-3` -> { file: 'solution.ipynb', cell: 3 }; any other location -> null. */
export function notebookLocation(where: string): { file: string; cell: number } | null {
  const m = /^(.+\.ipynb)#cell-(\d{1,6})$/i.exec(where);
  return m ? { file: m[1]!, cell: Number(m[2]) } : null;
}

/** `solution.py:12`, `solution.py`; in a notebook `solution.ipynb, cell 5, line 1` or `solution.ipynb, cell 5`. */
export function locationText(file: string, line?: number | null): string {
  const nb = notebookLocation(file);
  if (nb) return `${nb.file}, cell ${nb.cell}${line ? `, line ${line}` : ''}`;
  return `${file}${line ? `:${line}` : ''}`;
}
