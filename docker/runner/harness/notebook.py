"""Notebook submissions: a module built from the code cells of a `.ipynb`, with every line mapped back
to *cell N, line M* of the notebook.

The notebook is read with nbformat (Debian's python3-nbformat) and validated against its schema; it
is parsed as untrusted JSON, never executed as a notebook. IPython magics (`%...`, `%%...`) and shell
escapes (`!...`) are not Python: they become `pass` lines (same line numbers) and are listed in
`notes`. Cells are numbered from 1 counting every cell (markdown included), as a reader scrolling the
notebook counts them; lines from 1 within the cell.

A location in a notebook is written `<path>.ipynb#cell-N` (the `file` of lint findings, trace records
and tracebacks) with `line` the line within that cell.
"""
from __future__ import annotations

import json
import linecache
import os
import re

MAX_BYTES = 5_000_000
MAX_CELLS = 2_000
MAX_CELL_CHARS = 200_000

_MAGIC = re.compile(r"^\s*(%%?|!)")
_PYTHON_BODY_MAGIC = re.compile(r"^\s*%%(time|timeit|capture|prun)\b")
# A name: value assignment is `a = !ls` in IPython; `x != y` at line start cannot happen.
_ASSIGN_ESCAPE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_.]*\s*=\s*[%!](?!=)")


class NotebookError(ValueError):
    """The file is not a notebook this harness accepts; the message says why, for the candidate."""


class NotebookSource:
    """Python source built from a notebook's code cells and the map from its lines to cells."""

    def __init__(self, rel_path, source, line_map, cell_lines, notes):
        self.rel_path = rel_path  # path of the .ipynb relative to the submission root
        self.source = source
        self.line_map = line_map  # built line (1-based) -> (cell number, line in cell) ; index 0 unused
        self.cell_lines = cell_lines  # cell number -> list of the cell's original lines
        self.notes = notes  # visible notes: dropped magics / shell escapes

    def locate(self, line):
        """Built-source line -> (file string, line in cell, quoted original line); (path, line, "") if unknown."""
        if isinstance(line, int) and 1 <= line < len(self.line_map) and self.line_map[line] is not None:
            cell, m = self.line_map[line]
            lines = self.cell_lines.get(cell, [])
            code = lines[m - 1].strip()[:2000] if 1 <= m <= len(lines) else ""
            return f"{self.rel_path}#cell-{cell}", m, code
        return self.rel_path, line, ""


def _cell_text(src):
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def read_notebook(path, rel_path=None):
    """Parse a .ipynb file into a NotebookSource. Raises NotebookError with a readable reason."""
    rel_path = rel_path or os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise NotebookError(f"{rel_path}: cannot read the notebook ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise NotebookError(f"{rel_path}: the notebook is larger than {MAX_BYTES // 1_000_000} MB "
                            "(clear the cell outputs before submitting)")
    return parse_notebook(raw, rel_path)


def parse_notebook(raw, rel_path):
    """Parse notebook bytes/text; see read_notebook."""
    return build(load_node(raw, rel_path).cells, rel_path)


def load_node(raw, rel_path):
    """Notebook bytes/text -> the validated nbformat 4 node (size and cell limits of read_notebook).
    Raises NotebookError with a readable reason."""
    import nbformat
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray)) else raw
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"{rel_path} is not a valid notebook: the file is not JSON ({exc})"[:2000]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise NotebookError(f"{rel_path} is not a valid notebook: no list of cells (nbformat 4 expected)")
    if len(doc["cells"]) > MAX_CELLS:
        raise NotebookError(f"{rel_path} has {len(doc['cells'])} cells (at most {MAX_CELLS})")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types (NotJSONError, ValidationError, KeyError...)
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{rel_path} is not a valid notebook: {msg}"[:2000]) from None
    return nb


def build(cells, rel_path):
    out = []
    line_map = [None]
    cell_lines = {}
    notes = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        src = _cell_text(cell.get("source"))
        if len(src) > MAX_CELL_CHARS:
            raise NotebookError(f"{rel_path}: cell {number} has more than {MAX_CELL_CHARS} characters")
        lines = src.splitlines()
        cell_lines[number] = lines
        cell_magic = bool(lines) and lines[0].lstrip().startswith("%%")
        # IPython runs the body of %%time, %%timeit, %%capture and %%prun as Python, so a function
        # defined there exists in the notebook: only the magic line goes. Other cell magics (%%bash,
        # %%writefile, %%html, ...) hold something else and go with their whole cell.
        python_body = cell_magic and _PYTHON_BODY_MAGIC.match(lines[0]) is not None
        if python_body:
            notes.append(f"cell {number}: cell magic {lines[0].strip()[:80]!r} dropped, its body kept as Python")
        elif cell_magic:
            notes.append(f"cell {number}: cell magic {lines[0].strip()[:80]!r} dropped with its whole cell")
        for m, ln in enumerate(lines, start=1):
            if cell_magic and (m == 1 or not python_body):
                new = ""
            elif _MAGIC.match(ln) or _ASSIGN_ESCAPE.match(ln):
                indent = ln[: len(ln) - len(ln.lstrip())]
                new = indent + "pass"
                notes.append(f"cell {number}, line {m}: {ln.strip()[:80]!r} is IPython, not Python: dropped")
            else:
                new = ln
            out.append(new)
            line_map.append((number, m))
        # A blank line between cells keeps one cell's unfinished block from swallowing the next.
        out.append("")
        line_map.append(None)
    return NotebookSource(rel_path, "\n".join(out) + "\n", line_map, cell_lines, notes)


# ----------------------------------------------------------------------------------------------
# Importing, and mapping frames back to cells
# ----------------------------------------------------------------------------------------------

_REGISTRY = {}  # absolute (real) path of an imported .ipynb -> NotebookSource
_BUILT = {}  # real path -> NotebookSource built by the supervisor before it forks (see prebuild)


def prebuild(abs_path, rel_path):
    """Build the module source once in the supervisor, before the zygote forks: every candidate
    child (one per phase and input) inherits it instead of importing nbformat and parsing again
    (that costs seconds of each phase's budget). Reading is parsing data only, as the lint does
    in the supervisor. A notebook that cannot be read is left for the child to report."""
    try:
        _BUILT[os.path.realpath(abs_path)] = read_notebook(abs_path, rel_path)
    except NotebookError:
        pass


def built_notes(abs_path):
    """The visible notes (dropped magics and shell escapes) of a notebook prebuild() read."""
    nbs = _BUILT.get(os.path.realpath(abs_path))
    return [n[:300] for n in nbs.notes[:50]] if nbs is not None else []


def import_notebook(abs_path, rel_path, module_name="solution"):
    """Build and execute the notebook's code as a module (in the process that calls it: the sandboxed
    candidate child). The code object's filename is the notebook's own path, so tracebacks and the
    tracer see the candidate's file; linecache serves the built source for it."""
    import sys
    import types
    real = os.path.realpath(abs_path)
    nbs = _BUILT.get(real) or read_notebook(abs_path, rel_path)
    _REGISTRY[real] = nbs
    _REGISTRY[abs_path] = nbs
    lines = nbs.source.splitlines(True)
    for key in {real, abs_path}:
        linecache.cache[key] = (len(nbs.source), None, lines, key)  # mtime None: never re-read from disk
    code = compile(nbs.source, abs_path, "exec", dont_inherit=True)
    mod = types.ModuleType(module_name)
    mod.__file__ = abs_path
    sys.modules[module_name] = mod
    try:
        exec(code, mod.__dict__)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return mod


def where(filename, rel, line):
    """(file, line, quoted code) for a frame of the candidate's code, cell-mapped for notebooks."""
    nbs = _REGISTRY.get(filename)
    if nbs is None and filename.endswith(".ipynb"):
        nbs = _REGISTRY.get(os.path.realpath(filename))
    if nbs is not None:
        return nbs.locate(line)
    return rel, line, linecache.getline(filename, line).strip()[:2000] if line else ""


def syntax_location(exc, rel):
    """For a SyntaxError raised compiling a notebook: (file, line, code) in cell terms, else None."""
    nbs = _REGISTRY.get(getattr(exc, "filename", None) or "")
    if nbs is None:
        return None
    return nbs.locate(exc.lineno or 0)
