"""Where the assessment's post-outcome columns enter the features (static; standard library only).

leakage.target measures on the host whether predictions change when the post-outcome columns (known
only after the outcome, e.g. a refund billed after the customer left) are blanked to what is known at
prediction time. This module tells the reviewer *where in the code* those columns come in. It reads
the graded code (the solution and the modules it imports; exploratory files cannot feed the model)
as text, never runs it, and follows each mention of a column:

- `raw["refund_issued"]`, or the name in a list of feature columns: the column enters there, and
  where the value (or the list) is assigned to a name, the lines that use that name are followed, and
  so on along assignment chains that derive from it (`refund = raw[...]` (line 39) -> `flag =
  refund.eq("yes")` -> `df["refund"] = flag` (line 41)), up to MAX_CHAIN steps;
- `df.drop(columns=["refund_issued"])`, `.pop`, `del`, `.difference`, `c != "refund_issued"`,
  `c not in LEAKY`: the column is removed there; a mention inside a test (`"refund_issued" in df`)
  says nothing either way;
- never named, while a `drop` removes the target column: the features are "every column but these",
  so the column comes in with the rest at that line.

When none of this applies the answer says so: the lint could not tell. Lines of a notebook are given
as `<path>.ipynb#cell-N` and the line within the cell, like every other finding.
"""
from __future__ import annotations

import ast
import os

MAX_USES = 8  # per column: the reviewer needs the entry points, not every later use
MAX_CHAIN = 6  # assignment steps followed from a mention (refund = raw[...] -> flag = refund... -> ...)
MAX_FILES = 50
MAX_BYTES = 2_000_000

_REMOVERS = {"drop", "pop", "difference", "remove", "discard"}
_REMOVER_KWARGS = {"exclude", "drop", "drop_cols", "drop_columns", "exclude_cols", "exclude_columns"}


def _parents(tree):
    parent = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    return parent


def _stmt_of(node, parent):
    while node is not None and not isinstance(node, ast.stmt):
        node = parent.get(node)
    return node


_CONTAINERS = (ast.List, ast.Tuple, ast.Set, ast.Starred, ast.BinOp, ast.comprehension, ast.ListComp, ast.SetComp,
               ast.GeneratorExp)
_WRAPPERS = {"list", "set", "tuple", "sorted"}


def _holder(node, parent):
    """The outermost expression that is still "these columns": through lists, `+`, comprehensions over
    them (`[c for c in NOT_FEATURES if c in df]`) and list()/set()/sorted()."""
    while True:
        up = parent.get(node)
        if isinstance(up, ast.comprehension) and up.iter is not node:
            return node  # the comprehension's filter or target, not its source
        if isinstance(up, _CONTAINERS) or (isinstance(up, ast.Call) and isinstance(up.func, ast.Name)
                                           and up.func.id in _WRAPPERS):
            node = up
            continue
        return node


def _removal_context(node, parent):
    """True when the constant (or the list holding it) is an argument of a removal: drop/pop/del/...,
    a `!=` / `not in` filter, an exclude= keyword."""
    top = _holder(node, parent)
    up = parent.get(top)
    if isinstance(up, ast.keyword):
        if up.arg in _REMOVER_KWARGS:
            return True
        up = parent.get(up)
        # drop(columns=[...]) / drop(labels=[...])
        if isinstance(up, ast.Call) and isinstance(up.func, ast.Attribute) and up.func.attr in _REMOVERS:
            return True
        return False
    if isinstance(up, ast.Call) and isinstance(up.func, ast.Attribute) and up.func.attr in _REMOVERS and top in up.args:
        return True
    if isinstance(up, ast.Subscript) and isinstance(parent.get(up), ast.Delete):
        return True
    if isinstance(up, ast.Compare):
        ops = up.ops
        return any(isinstance(o, (ast.NotEq, ast.NotIn, ast.IsNot)) for o in ops)
    return False


def _scope_of(node, parent):
    node = parent.get(node)
    while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)):
        node = parent.get(node)
    return node


def _how(node, parent):
    top = _holder(node, parent)
    up = parent.get(top)
    if isinstance(up, ast.Subscript) and up.slice is top:
        return "written into the frame" if isinstance(up.ctx, ast.Store) else "read from the data"
    if top is not node:
        return "named in a list of columns"
    return "named here"


def _test_context(node, parent):
    """A mention inside a comparison that is not a removal (`"x" in df`, `c == "x"`): neutral."""
    top = _holder(node, parent)
    return isinstance(parent.get(top), ast.Compare)


def _assigned_name(node, parent):
    """The simple name a statement containing `node` assigns, when its value holds the node."""
    stmt = _stmt_of(node, parent)
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id, stmt
    return None, stmt


def _names_used(tree):
    """name -> load nodes of that name, in line order."""
    uses = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            uses.setdefault(node.id, []).append(node)
    for v in uses.values():
        v.sort(key=lambda n: (n.lineno, n.col_offset))
    return uses


def _is_string(node, values):
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip().lower() in values


def _mentions(tree, values):
    return [n for n in ast.walk(tree) if _is_string(n, values)]


class _File:
    """One graded file's source and the map from its lines to what the reviewer sees."""

    def __init__(self, name, source, locate=None):
        self.name = name
        self.source = source
        self.lines = source.splitlines()
        self._locate = locate

    def where(self, line):
        if self._locate is not None:
            file, m, code = self._locate(line)
            return file, int(m or 0), code
        code = self.lines[line - 1].strip()[:2000] if 1 <= line <= len(self.lines) else ""
        return self.name, line, code


def _analyse(f, tree, columns, target, uses, removed, dropping_target):
    parent = _parents(tree)
    loads = _names_used(tree)
    lower = {c.strip().lower(): c for c in columns}
    target_names = _target_aliases(tree, target)
    for node in _mentions(tree, set(lower)):
        column = lower[node.value.strip().lower()]
        if _removal_context(node, parent) or _removal_via_name(node, parent, loads):
            removed.setdefault(column, []).append(_record(f, column, node.lineno, "removed here"))
            continue
        if _test_context(node, parent):
            continue
        name, stmt = _assigned_name(node, parent)
        uses.setdefault(column, []).append(_record(f, column, node.lineno, _how(node, parent)))
        if name is not None:
            _follow(f, column, name, stmt, parent, loads, uses[column], set())
    # `X = df.drop(columns=[TARGET, "id"])`: every other column is a feature.
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "drop":
            if any(_names_target(a, target, target_names) for a in [*node.args, *(k.value for k in node.keywords)]):
                stmt = _stmt_of(node, parent)
                dropping_target.append(_record(f, None, stmt.lineno if stmt is not None else node.lineno,
                                               "every column but the ones dropped here becomes a feature"))


def _follow(f, column, name, stmt, parent, loads, out, seen, depth=0):
    """Record the lines that use `name` (assigned the column, or a list naming it, at `stmt`), and follow
    assignment chains: where a use is the value being derived (`flag = refund.eq("yes")`,
    `cols = NUMERIC + ["x"]`) the new name's uses are followed too, up to MAX_CHAIN steps. A name used
    as an argument or a selection (`X = df[cols]`, `ColumnTransformer([... cols])`) is where the column
    enters; what is done with the result afterwards is not followed."""
    scope = _scope_of(stmt, parent)
    if (name, id(scope)) in seen:
        return
    seen.add((name, id(scope)))
    line = stmt.lineno
    for use in loads.get(name, []):
        at = _stmt_of(use, parent)
        # A local name is followed within its function; a module-level one (FEATURES = [...]) everywhere.
        if at is stmt or (not isinstance(scope, ast.Module) and _scope_of(use, parent) is not scope):
            continue
        out.append(_record(f, column, at.lineno if at is not None else use.lineno,
                           f"through `{name}` ({_display_line(f, line)})"))
        if depth + 1 < MAX_CHAIN and len(out) < 4 * MAX_USES:
            nxt, nstmt = _assigned_name(use, parent)
            if nxt is not None and nxt != name and _derived(use, nstmt.value, parent):
                _follow(f, column, nxt, nstmt, parent, loads, out, seen, depth + 1)


def _derived(use, value, parent):
    """True when `value` is built on the name itself: the receiver of methods, an operand of arithmetic
    or a comparison, or what is indexed (refund.astype(int) == 1, NUMERIC + CATEGORICAL, s[mask]);
    not an argument of a call or the key of a selection (df[cols], f(cols))."""
    node = use
    while node is not value:
        up = parent.get(node)
        if up is None:
            return False
        if isinstance(up, ast.Attribute) or (isinstance(up, ast.Call) and up.func is node) \
                or (isinstance(up, ast.Subscript) and up.value is node) \
                or isinstance(up, (ast.BinOp, ast.Compare, ast.UnaryOp, ast.BoolOp)) \
                or (isinstance(up, ast.IfExp) and up.test is not node):
            node = up
            continue
        return False
    return True


def _target_aliases(tree, target):
    """Module-level names bound to the target column's name (TARGET = "churned")."""
    names = set()
    if not target:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_string(node.value, {target.lower()}):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _names_target(node, target, aliases):
    if target and _is_string(node, {target.lower()}):
        return True
    if isinstance(node, ast.Name) and node.id in aliases:
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return any(_names_target(e, target, aliases) for e in node.elts)
    return False


def _removal_via_name(node, parent, loads):
    """`LEAKY = ["refund_issued"]` used only to remove columns (`df.drop(columns=LEAKY)`)."""
    name, _ = _assigned_name(node, parent)
    if name is None or _holder(node, parent) is not _stmt_of(node, parent).value:
        return False
    used = loads.get(name, [])
    return bool(used) and all(_removal_context(u, parent) for u in used)


def _display_line(f, line):
    file, m, _ = f.where(line)
    cell = file.rsplit("#cell-", 1)
    return f"cell {cell[1]}, line {m}" if len(cell) == 2 else f"line {m}"


def _order(r):
    file, _, cell = r["file"].partition("#cell-")
    return file, int(cell) if cell.isdigit() else 0, r["line"]


def _record(f, column, line, how):
    file, m, code = f.where(line)
    return {"column": column, "file": file[:500], "line": m, "code": code[:2000], "how": how[:500]}


def _dedupe(records):
    seen, out = set(), []
    for r in records:
        key = (r["file"], r["line"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def locate(files, columns, target=None):
    """files: [(display name, absolute path)] of the graded code. Returns
    {"columns": [...], "uses": [{column, file, line, code, how}], "removed": [...], "unknown": [...]}:
    `unknown` lists the columns whose way into the features the lint could not tell."""
    columns = [c for c in columns if isinstance(c, str) and c.strip()]
    uses, removed, dropping_target = {}, {}, []
    for name, path in files[:MAX_FILES]:
        f = _read(name, path)
        if f is None:
            continue
        try:
            tree = ast.parse(f.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        _analyse(f, tree, columns, target, uses, removed, dropping_target)
    out_uses, out_removed, unknown = [], [], []
    for column in columns:
        entered = sorted(_dedupe(uses.get(column, [])), key=_order)[:MAX_USES]
        gone = _dedupe(removed.get(column, []))[:MAX_USES]
        if entered:
            out_uses.extend(entered)
        elif gone:
            out_removed.extend(gone)
            unknown.append(column)
        elif dropping_target:
            out_uses.extend({**r, "column": column, "how": f"never named: {r['how']}, {column} included"}
                            for r in _dedupe(dropping_target)[:MAX_USES])
        else:
            unknown.append(column)
    return {"columns": columns, "uses": out_uses, "removed": out_removed, "unknown": unknown}


def _read(name, path):
    try:
        if path.endswith(".ipynb"):
            from . import notebook
            nbs = notebook.read_notebook(path, name)
            return _File(name, nbs.source, nbs.locate)
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except Exception:  # an unreadable file is left out; the answer then says what it could not tell
        return None
    if len(raw) > MAX_BYTES:
        return None
    return _File(name, raw.decode("utf-8", errors="replace"))


def graded_files(root, solution):
    """(display name, path) of the solution and the local modules it imports (lint._solution_files)."""
    from .lint import _solution_files
    sol = os.path.join(root, solution)
    base = os.path.dirname(sol)
    candidates = [sol]
    for dirpath, dirnames, filenames in os.walk(base):
        depth = os.path.relpath(dirpath, base).count(os.sep) + (0 if dirpath == base else 1)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and depth < 1)
        candidates.extend(os.path.join(dirpath, fn) for fn in sorted(filenames) if fn.endswith(".py"))
    keep = _solution_files(candidates, root, solution)
    return [(os.path.relpath(p, root), p) for p in sorted(keep)]
