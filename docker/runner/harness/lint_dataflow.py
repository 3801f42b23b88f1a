"""The data-following part of the static lint (used by lint.py; standard library only).

Per scope (the module body, each function body), statements are read in order and every variable is
given the set of data *origins* it derives from: a file read (`pd.read_csv`, `np.load`, a dataset
loader), a function parameter, or one part of a split. A split (train_test_split, a splitter's
`.split`, cross-validation, `random_split`, complementary index slices or masks, a `sample`/`drop`
pair) turns the origins it consumes into new train / test origins. A statistic, fit or selection
computed on some origins waits; when a later split consumes those origins, the statistic had seen
rows that end up in validation or test: a finding. Because only origins count, a fit on a toy list,
a fit on `X_train`, a fit inside a fold loop or `fillna(0)` never match.

Calls into the file's own functions are followed one level through a summary per function (which
parameters reach a statistic or fit), as are callbacks given to `apply`, `pipe`, `transform`, `agg`.
"""
from __future__ import annotations

import ast
import re

STAT_METHODS = {"mean", "median", "std", "var", "quantile", "mode", "corr", "corrwith", "value_counts", "sem", "rank",
                "describe"}
# np.mean(X, axis=0), np.percentile(x, 99): the function forms of numpy (np.min / np.max as for methods)
NUMPY_STATS = {"mean", "median", "std", "var", "percentile", "quantile", "average", "nanmean", "nanmedian", "nanstd",
               "nanvar", "nanpercentile", "nanquantile"}
NUMPY_MINMAX = {"min", "max", "amin", "amax", "nanmin", "nanmax", "ptp"}
# groupby(...).transform("cumsum"): per-row running values, not one statistic of the group
NOT_GROUP_STATS = {"cumsum", "cumcount", "cumprod", "cummax", "cummin", "shift", "diff", "ffill", "bfill",
                   "pct_change", "fillna", "head", "tail", "nth"}
MINMAX = {"min", "max"}
GROUP_AGG = {"mean", "median", "std", "var", "agg", "aggregate", "transform", "sum", "count", "size", "nunique"}
SCALE_FUNCTIONS = {"scale", "minmax_scale", "robust_scale", "maxabs_scale", "quantile_transform", "power_transform",
                   "zscore", "rankdata",  # scipy.stats
                   # scores of features against the target, computed to select features
                   "mutual_info_classif", "mutual_info_regression", "f_classif", "f_regression", "r_regression", "chi2"}
LOADERS = re.compile(r"^(read_(csv|parquet|excel|json|table|feather|pickle|sql)|load|loadtxt|genfromtxt|"
                     r"load_[a-z_]+|fetch_[a-z_]+|make_(classification|regression|blobs|moons|circles))$")
SPLIT_CALLS = {"train_test_split", "random_split"}
CV_CALLS = {"cross_val_score", "cross_validate", "cross_val_predict", "learning_curve", "validation_curve",
            "permutation_test_score"}
CALLBACK_METHODS = {"apply", "pipe", "transform", "agg", "aggregate"}
# rolling(7).mean(), ewm(...).mean(), expanding().mean(): each row's value from its own window of rows,
# not one statistic of the whole column
WINDOWS = {"rolling", "expanding", "ewm", "resample"}
MAX_DEPTH = 12  # helper calls followed inside helper calls
TOY_MODULES = {"numpy", "math", "random", "torch"}
SAFE_BUILTINS = {"range", "len", "list", "tuple", "float", "int", "zip", "dict"}
# wrappers a fold loop's splitter call is often passed through: for i, (tr, va) in enumerate(kf.split(X))
LOOP_WRAPPERS = {"enumerate", "list", "tqdm", "tqdm_notebook", "track"}
TEST_NAME = re.compile(r"(?i)(^|_)(test|tst|val|valid|validation|holdout|hold_out|oot)(_|$|\d)")
COMPLEMENT = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.Eq: ast.NotEq,
              ast.NotEq: ast.Eq}


class Origin:
    __slots__ = ("name", "line", "part")

    def __init__(self, name, line, part=None):
        self.name = name  # the variable that first held it
        self.line = line
        self.part = part  # None | "train" | "test"


class Carrier(Origin):
    """Marks the data a statistic was written into (df2 = df.fillna(df.mean())): the statistic matters
    only if a later split takes rows of that data, not of df kept aside for a report or a plot."""
    __slots__ = ()


FIT_RULES = ("fit-before-split", "select-before-split", "resample-before-split")


class FitCarrier(Carrier):
    """Marks what a fit produced (the fitted object, its transform outputs)."""
    __slots__ = ()


class Pending:
    """A statistic / fit on some origins, waiting for a split of those origins (and of its carrier)."""
    __slots__ = ("rule", "line", "col", "origins", "what", "var", "carrier")

    def __init__(self, rule, line, col, origins, what, var, carrier=None):
        self.rule, self.line, self.col, self.origins, self.what, self.var = rule, line, col, origins, what, var
        self.carrier = carrier


def _is_literal(node):
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("array", "asarray", "DataFrame", "Series"):
        return _is_literal(node.args[0])
    return False


def _key(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _base(node):
    """The variable an expression of the form df[...].attr(...)... is built on."""
    while True:
        if isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            k = _key(node)
            if k is not None:
                return k
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            return _key(node)


AXIS_FIRST = {"mean", "median", "std", "var", "min", "max", "sem", "mode"}  # X.mean(1): the axis comes first
Q_BEFORE_AXIS = {"percentile", "quantile", "nanpercentile", "nanquantile"}  # np.percentile(X, 99, 1)


def _row_wise(call, pos=None):
    """df[cols].mean(axis=1), np.max(X, axis=1), x.mean(dim=1) (torch), X.mean(1), imgs.std(axis=(1, 2)),
    A.mean(axis=-1): one value per row (per sample), from that row only. `pos`: where a positional axis is."""
    values = [k.value for k in call.keywords if k.arg in ("axis", "dim")]
    if pos is not None and len(call.args) > pos:
        values.append(call.args[pos])
    return any(_per_row_axis(v) for v in values)


def _per_row_axis(v):
    if isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.USub) and isinstance(v.operand, ast.Constant):
        return isinstance(v.operand.value, int) and v.operand.value >= 1  # the last axis, of a 2-D table: its rows
    if isinstance(v, ast.Constant):
        return v.value == "columns" or (type(v.value) is int and v.value >= 1)
    if isinstance(v, ast.Tuple):
        return bool(v.elts) and all(_per_row_axis(e) for e in v.elts)  # axis=(1, 2): per image
    return False


def _windowed(node):
    """True when the receiver of a statistic is a window (df.x.shift(1).rolling(28) ...)."""
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in WINDOWS:
                return True
            node = node.func.value
        elif isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        else:
            return False


def _is_mask(node):
    """A boolean row mask: comparisons, combined with & | ~ and reduced with .all() / .any()."""
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Invert, ast.Not)):
        return _is_mask(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr, ast.BitXor)):
        return _is_mask(node.left) or _is_mask(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("all", "any"):
            return _is_mask(node.func.value)
        return node.func.attr in ("isin", "between", "notna", "notnull", "isna", "isnull", "duplicated")
    return False


SPLIT_COLUMN = re.compile(r"(?i)(split|fold|partition|subset|^set$|^dataset$|^sample$|is_?train|is_?test|is_?val)")
SPLIT_VALUE = re.compile(r"(?i)^(train(ing)?|test(ing)?|val(id|idation)?|dev|holdout|eval)$")


ORDERING_COLUMN = re.compile(r"(?i)(date|time|day|week|month|year|quarter|period|season|hour|^ts$|_ts$|epoch|"
                             r"index|^idx|_idx$|^id$|_id$|(^|_)(row|order|step)(_|$))")


def _column_name(left):
    """The column a comparison reads: df.x, df["x"], or x inside a query string."""
    if isinstance(left, ast.Attribute):
        return left.attr
    if isinstance(left, ast.Subscript) and isinstance(left.slice, ast.Constant) and isinstance(left.slice.value, str):
        return left.slice.value
    if isinstance(left, ast.Name):
        return left.id
    return None


def _ordering_column(left):
    """A column rows are ordered or partitioned by (a date, a year, an index), or the index itself."""
    name = _column_name(left)
    if name is None:
        return isinstance(left, ast.Attribute) and left.attr == "index"
    return bool(ORDERING_COLUMN.search(name) or SPLIT_COLUMN.search(name))


def _split_column(left, right):
    """A column that says which part a row belongs to (df.split == "train", df["is_train"] == 1), not a
    class or a category (df.y == 1, df.city == "Paris"): told by the column's name or the value's."""
    name = _column_name(left)
    if isinstance(name, str) and SPLIT_COLUMN.search(name):
        return True
    return isinstance(right.value, str) and bool(SPLIT_VALUE.match(right.value.strip()))


def _slice_side(sl):
    """Which rows a slice keeps: "lower" for X[:n] (or X[0:n]), "upper" for rows from a position on, X[n:]
    or a window after it, X[n:n + step] (walk-forward validation); None for X[:] and column slices."""
    if not isinstance(sl, ast.Slice) or sl.step is not None:
        return None
    lower = None if isinstance(sl.lower, ast.Constant) and sl.lower.value == 0 else sl.lower
    if lower is None:
        return "lower" if sl.upper is not None else None
    return "upper"


def _walk_expr(node):
    """ast.walk that does not enter lambdas or comprehensions' own scopes (they are callbacks)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(n))


class DataFlow:
    def __init__(self, linter):
        self.l = linter  # lint.FileLinter: aliases, functions, kind_of, add
        self.summaries = {}  # function name -> list of (param index, line, what) reaching a statistic / fit
        self.reads = {}  # id of a file-reading call -> its Origin
        self.depth = 0  # summaries being computed, one inside the other

    # -- summaries of the file's own functions ----------------------------------------------------
    def summary(self, fname):
        if fname in self.summaries:
            return self.summaries[fname]
        if self.depth >= MAX_DEPTH:
            return []  # helpers of helpers of ...: not followed further (and not cached: a shallower call may)
        self.depth += 1
        try:
            return self._summary(fname)
        finally:
            self.depth -= 1

    def _summary(self, fname):
        self.summaries[fname] = []  # recursion guard
        fn = self.l.functions[fname]
        scope = _Scope(self, fn.name)
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        marks = {}
        for i, p in enumerate(params):
            o = Origin(p, fn.lineno)
            marks[id(o)] = i
            scope.roots[p] = frozenset([o])
        scope.run(fn.body)
        out = []
        for pend in scope.pending:
            for o in pend.origins:
                if id(o) in marks:
                    out.append((marks[id(o)], pend.line, pend.what, pend.rule))
        self.summaries[fname] = out
        return out

    def method_summary(self, cls, method):
        """(param index counting self, line, what, rule) for the statistics a file class's fit method keeps
        on self (self.medians = frame.median()) or computes into data."""
        key = f"{cls}.{method}"
        if key in self.summaries:
            return self.summaries[key]
        if self.depth >= MAX_DEPTH:
            return []
        self.depth += 1
        try:
            return self._method_summary(cls, method, key)
        finally:
            self.depth -= 1

    def _method_summary(self, cls, method, key):
        self.summaries[key] = []  # recursion guard
        fn = next((m for m in self.classes[cls].body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and m.name == method), None)
        if fn is None:
            return []
        scope = _Scope(self, fn.name)
        marks = {}
        for i, a in enumerate(fn.args.posonlyargs + fn.args.args):
            o = Origin(a.arg, fn.lineno)
            marks[id(o)] = i
            scope.roots[a.arg] = frozenset([o])
        scope.run(fn.body)
        kept = [(origins, line, what) for k, (origins, line, what) in scope.stats.items() if k.startswith("self.")]
        kept += [(p.origins, p.line, p.what) for p in scope.pending if p.rule == "stat-before-split"]
        out = [(marks[id(o)], line, what, "stat-before-split") for origins, line, what in kept for o in origins
               if id(o) in marks]
        self.summaries[key] = sorted(out, key=lambda e: e[1])
        return self.summaries[key]

    def lambda_stat(self, lam):
        """A lambda that computes a statistic of its (first) argument, e.g. lambda c: (c - c.mean()) / c.std()."""
        if not lam.args.args:
            return False
        p = lam.args.args[0].arg
        for n in ast.walk(lam.body):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in STAT_METHODS | MINMAX \
                    and _base(n.func.value) == p and not _windowed(n.func.value):
                return True
        return False

    def run(self, tree):
        # numerical modules: np.arange(20) builds a value, it reads no data
        nodes = list(ast.walk(tree))
        self.imported = {(a.asname or a.name).split(".")[0] for n in nodes if isinstance(n, ast.Import)
                         for a in n.names if a.name.split(".")[0] in TOY_MODULES}
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self.sklearn_resample = {a.asname or a.name for n in nodes if isinstance(n, ast.ImportFrom)
                                 and (n.module or "").startswith("sklearn.utils") for a in n.names if a.name == "resample"}
        scope = _Scope(self, None)
        scope.run(tree.body)
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                s = _Scope(self, node.name)
                a = node.args
                for p in a.posonlyargs + a.args + a.kwonlyargs:  # a parameter may carry data: not a toy value
                    s.roots[p.arg] = frozenset([Origin(p.arg, node.lineno)])
                s.run(node.body)


class _Scope:
    def __init__(self, flow, fname):
        self.f = flow
        self.l = flow.l
        self.fname = fname
        self.roots = {}  # variable -> frozenset of Origin
        self.stats = {}  # variable -> (frozenset of Origin, line, what) : a statistic of the data
        self.pending = []
        self.slices = {}  # source variable -> {"lower"|"upper": line}
        self.masks = {}  # (source variable, column dump) -> list of (op type, line)
        self.samples = {}  # variable -> (source origins, line) of X.sample(...)
        self.built = set()  # variables last assigned a value built here from constants (toy values, no data)
        self.mask_vars = set()  # variables holding a boolean row mask (msk = np.random.rand(n) < 0.8)
        self.objects = {}  # variable -> the file's own class it holds an instance of
        self.fit_carriers = {}  # id of a fit call on a training part -> the Carrier its results hold
        self.memo = {}

    # -- expressions ------------------------------------------------------------------------------
    def origins_of(self, node):
        # memo per statement: a chain df.a(...).b(...).c(...) asks again for every receiver of the chain
        key = ("o", id(node))
        if key not in self.memo:
            self.memo[key] = self._origins_of(node)
        return self.memo[key]

    def _origins_of(self, node):
        out = set()
        for n in _walk_expr(node):
            if isinstance(n, (ast.Name, ast.Attribute)):
                k = _key(n)
                if k is not None and k in self.roots:
                    out |= self.roots[k]
            elif isinstance(n, ast.Call):
                if id(n) in self.fit_carriers:
                    out.add(self.fit_carriers[id(n)])
                name = self.l.callee(n.func)
                if name and LOADERS.match(name) and (n.args or n.keywords):
                    if id(n) not in self.f.reads:  # one origin per read, however often it is looked at
                        self.f.reads[id(n)] = Origin(name, n.lineno)
                    out.add(self.f.reads[id(n)])
        # rows picked by split indices (X.iloc[train_idx], X.iloc[tr].copy()) are those rows only
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not any(
                self.roots.get(_key(x) or "") for a in node.args for x in ast.walk(a)):
            node = node.func.value
        if isinstance(node, ast.Subscript):
            idx = self.origins_of(node.slice) if not isinstance(node.slice, ast.Slice) else set()
            parts = {o for o in idx if o.part}
            if parts:
                return frozenset(parts)
        return frozenset(out)

    def stats_in(self, node):
        """Statistics of data computed (or held in a variable) inside an expression -> [(origins, line, what)]."""
        key = ("s", id(node))
        if key not in self.memo:
            self.memo[key] = self._stats_in(node)
        return list(self.memo[key])

    def _stats_in(self, node):
        found = []
        calls = [n for n in _walk_expr(node) if isinstance(n, ast.Call)]
        methods = {n.func.attr for n in calls if isinstance(n.func, ast.Attribute)}
        # x / x.max(): a maximum used as a scale is a statistic even without a minimum beside it
        divisors = {id(b.right) for b in _walk_expr(node) if isinstance(b, ast.BinOp) and isinstance(b.op, ast.Div)}
        for n in calls:
            f = n.func
            name = self.l.callee(f)
            if isinstance(f, ast.Attribute):
                m = f.attr
                recv = f.value
                if _windowed(recv) or _row_wise(n, 0 if m in AXIS_FIRST else None):
                    continue
                if m in STAT_METHODS or (m in MINMAX and (MINMAX <= methods or id(n) in divisors)):
                    if isinstance(recv, ast.Call) and isinstance(recv.func, ast.Attribute) and recv.func.attr == "groupby":
                        pass
                    o = self.origins_of(recv)
                    if o:
                        found.append((o, n.lineno, f"`.{m}()` of `{_base(recv) or 'the data'}`"))
                        continue
                if m in GROUP_AGG and self._groupby_of(recv) is not None and self._group_callback_is_stat(m, n):
                    o = self.origins_of(self._groupby_of(recv))
                    if o:
                        found.append((o, n.lineno, f"a group statistic (`groupby(...).{m}`) of `{_base(recv) or 'the data'}`"))
                        continue
            if isinstance(f, ast.Attribute) and self._is_numpy(f.value) and n.args \
                    and not _row_wise(n, 2 if f.attr in Q_BEFORE_AXIS else 1) and (
                    f.attr in NUMPY_STATS or (f.attr in NUMPY_MINMAX and (len(methods & NUMPY_MINMAX) > 1 or id(n) in divisors))):
                o = self.origins_of(n.args[0])
                if o:
                    found.append((o, n.lineno, f"`np.{f.attr}()` of `{_base(n.args[0]) or 'the data'}`"))
                continue
            if name in ("qcut", "cut") and n.args:
                bins = n.args[1] if len(n.args) > 1 else next((k.value for k in n.keywords if k.arg in ("q", "bins")), None)
                if name == "qcut" or (isinstance(bins, ast.Constant) and isinstance(bins.value, int)):
                    o = self.origins_of(n.args[0])
                    if o:
                        found.append((o, n.lineno, f"`{name}` bins computed from `{_base(n.args[0]) or 'the data'}`"))
            elif name in SCALE_FUNCTIONS and n.args:
                o = self.origins_of(n.args[0])
                if o:
                    found.append((o, n.lineno, f"`{name}()` of `{_base(n.args[0]) or 'the data'}`"))
            elif isinstance(f, ast.Attribute) and f.attr == "assign":
                o = self.origins_of(f.value)
                for kw in n.keywords:
                    if o and isinstance(kw.value, ast.Lambda) and self.f.lambda_stat(kw.value):
                        found.append((o, kw.value.lineno, f"a statistic computed by the lambda given to `.assign({kw.arg}=...)`"))
            elif isinstance(f, ast.Attribute) and f.attr in ("fit", "fit_transform") and n.args \
                    and self._file_class(f.value) is not None:
                cls = self._file_class(f.value)
                for idx, line, what, _rule in self.f.method_summary(cls, f.attr):
                    if 1 <= idx <= len(n.args):
                        o = self.origins_of(n.args[idx - 1])
                        if o:
                            found.append((o, n.lineno, f"{what} inside `{cls}.{f.attr}` (line {line}), called"))
                            break
            elif isinstance(f, ast.Attribute) and f.attr in CALLBACK_METHODS and n.args:
                if any(k.arg == "axis" and isinstance(k.value, ast.Constant) and k.value.value in (1, "columns")
                       for k in n.keywords):
                    continue  # row-wise
                cb = n.args[0]
                o = self.origins_of(f.value)
                if not o:
                    continue
                if isinstance(cb, ast.Lambda) and self.f.lambda_stat(cb):
                    found.append((o, cb.lineno, f"a statistic computed by the lambda given to `.{f.attr}`"))
                elif isinstance(cb, ast.Name) and cb.id in self.l.functions:
                    for idx, line, what, rule in self.f.summary(cb.id):
                        if idx == 0 and rule == "stat-before-split":
                            found.append((o, n.lineno, f"{what} inside `{cb.id}` (line {line}), called through `.{f.attr}`"))
                            break
            elif isinstance(f, ast.Name) and f.id in self.l.functions and name == f.id:
                for idx, line, what, rule in self.f.summary(f.id):
                    if idx < len(n.args) and rule == "stat-before-split":
                        o = self.origins_of(n.args[idx])
                        if o:
                            found.append((o, n.lineno, f"{what} inside `{f.id}` (line {line}), called"))
                            break
        for n in _walk_expr(node):
            if isinstance(n, ast.Name) and n.id in self.stats:
                found.append(self.stats[n.id])
            elif isinstance(n, ast.Lambda):
                found.extend(self._closure_stats(n))
        return found

    def _closure_stats(self, lam):
        """Statistics a lambda takes of the enclosing scope's data (its own parameters shadow those names)."""
        a = lam.args
        params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs} | {x.arg for x in (a.vararg, a.kwarg) if x}
        saved = [(d, p, d.pop(p)) for d in (self.roots, self.stats) for p in params if p in d]
        try:
            return self.stats_in(lam.body)
        finally:
            for d, p, v in saved:
                d[p] = v

    def _file_class(self, node):
        """The file's own class an object was built from: Prep() or a variable assigned Prep() / Prep().fit(...)."""
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("fit", "set_params"):
            node = node.func.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.f.classes:
            return node.func.id
        return self.objects.get(_key(node) or "")

    def _is_numpy(self, node):
        return isinstance(node, ast.Name) and self.l.aliases.get(node.id, node.id) == "numpy"

    def _group_callback_is_stat(self, m, call):
        """groupby(...).transform(f) / .agg(f) / .apply(f) is a group statistic when f is one."""
        if m not in ("transform", "apply", "agg", "aggregate") or not call.args:
            return True
        cb = call.args[0]
        if isinstance(cb, ast.Lambda):
            return self.f.lambda_stat(cb)
        if isinstance(cb, ast.Constant):
            return cb.value not in NOT_GROUP_STATS
        if isinstance(cb, (ast.List, ast.Tuple)):
            return any(not (isinstance(e, ast.Constant) and e.value in NOT_GROUP_STATS) for e in cb.elts)
        if isinstance(cb, ast.Name) and cb.id in self.l.functions:
            return any(idx == 0 for idx, _l, _w, _r in self.f.summary(cb.id))
        if isinstance(cb, ast.Attribute):
            return cb.attr not in NOT_GROUP_STATS and cb.attr not in ("log", "log1p", "sqrt", "abs", "exp")
        return True

    @staticmethod
    def _groupby_of(node):
        while isinstance(node, (ast.Subscript, ast.Attribute)) and not (
                isinstance(node, ast.Attribute) and node.attr == "groupby"):
            node = node.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "groupby":
            return node.func.value
        return None

    # -- statements -------------------------------------------------------------------------------
    def run(self, body):
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, s):
        self.memo = {}  # what an expression holds changes between statements, not within one
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            if s.value is None:
                return
            self.calls(s.value)
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            for t in targets:
                self.assign(t, s.value, s, aug=isinstance(s, ast.AugAssign))
            return
        if isinstance(s, ast.Expr):
            self.calls(s.value)
            v = s.value
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and any(
                    k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True for k in v.keywords):
                self.data_write(_base(v.func.value), v, s)
            return
        if isinstance(s, (ast.For, ast.AsyncFor)):
            self.calls(s.iter)
            self.built.difference_update(n.id for n in ast.walk(s.target) if isinstance(n, ast.Name))
            it, target = self._unwrap_loop(s.iter, s.target)
            src = None
            if isinstance(it, ast.Call) and self.is_split_call(it):
                src = self.origins_of_args(it)
                self.split(src, s.lineno, self.l.callee(it.func) or "split")
                self._fold_parts(target, s.lineno)
            else:
                k = _key(s.target)
                if k:
                    self.roots[k] = self.origins_of(it)
            self.run(s.body)
            if src:
                # a fit on all rows inside the fold loop: the loop's next round (and this one) splits them
                self.split(src, s.lineno, f"the fold loop of line {s.lineno} (in every round)",
                           upto=getattr(s, "end_lineno", None) or s.lineno)
            self.run(s.orelse)
            return
        if isinstance(s, (ast.If, ast.While)):
            self.calls(s.test)
            self.run(s.body)
            self.run(s.orelse)
            return
        if isinstance(s, (ast.With, ast.AsyncWith)):
            self.run(s.body)
            return
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            self.run(s.body)
            for h in s.handlers:
                self.run(h.body)
            self.run(s.orelse)
            self.run(s.finalbody)
            return
        if isinstance(s, ast.Return) and s.value is not None:
            self.calls(s.value)
            self.note_stats_into_data(s.value, s, None)

    def _unwrap_loop(self, it, target):
        """enumerate(kf.split(X)) / tqdm(kf.split(X)) -> kf.split(X), with the loop target of the split's pairs."""
        if isinstance(it, ast.Call) and self.l.callee(it.func) in LOOP_WRAPPERS and it.args \
                and isinstance(it.args[0], ast.Call) and self.is_split_call(it.args[0]):
            if self.l.callee(it.func) == "enumerate" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
                target = target.elts[1]
            it = it.args[0]
        return it, target

    def _fold_parts(self, target, line):
        if isinstance(target, ast.Tuple) and len(target.elts) == 2:
            for i, e in enumerate(target.elts):
                k = _key(e)
                if k:
                    self.roots[k] = frozenset([Origin(k, line, "train" if i == 0 else "test")])

    def origins_of_args(self, call):
        out = set()
        for a in list(call.args) + [k.value for k in call.keywords if k.arg in (None, "X", "y", "groups", "dataset")]:
            out |= self.origins_of(a)
        return frozenset(out)

    def is_split_call(self, call):
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr == "split":
            info = self.l.kind_of(f.value, {}) or self._env_kind(f.value)  # gss = GroupShuffleSplit(...)
            hint = (_key(f.value) or "").split(".")[-1]
            return (info is not None and info.kind == "splitter") or bool(re.search(r"(?i)(^cv$|kf|fold|splitter|split$|^ss$|^sss$|tscv|gkf)", hint))
        return False

    def calls(self, expr):
        """Fits, cross-validation and searches inside an expression, in evaluation order."""
        for comp in _walk_expr(expr):
            # [run_fold(X.iloc[a], X.iloc[b]) for a, b in kf.split(X)]: a fold loop written as a comprehension
            if isinstance(comp, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                for gen in comp.generators:
                    it, target = self._unwrap_loop(gen.iter, gen.target)
                    if isinstance(it, ast.Call) and self.is_split_call(it):
                        self.split(self.origins_of_args(it), it.lineno, self.l.callee(it.func) or "split")
                        self._fold_parts(target, it.lineno)
        for n in sorted((n for n in _walk_expr(expr) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
            f = n.func
            name = self.l.callee(f)
            if name in CV_CALLS:
                self.split(self.origins_of_args(n), n.lineno, name, cv=True)
            elif isinstance(f, ast.Attribute) and f.attr in CALLBACK_METHODS and n.args and isinstance(n.args[0], ast.Name) \
                    and n.args[0].id in self.l.functions:
                # df.pipe(helper) where the helper fits on its argument: as a direct call, at the helper's line
                for idx, line, what, rule in self.f.summary(n.args[0].id):
                    if idx == 0 and rule != "stat-before-split":
                        o = self.origins_of(f.value)
                        if o:
                            self.add_pending(rule, _At(line, 0), o, f"{what} inside `{n.args[0].id}`", None)
            elif isinstance(f, ast.Name) and f.id in self.l.functions and name == f.id:
                # a fit inside the file's own helper, on what the caller passed: reported at the helper's line
                for idx, line, what, rule in self.f.summary(f.id):
                    if idx < len(n.args) and rule != "stat-before-split":
                        o = self.origins_of(n.args[idx])
                        if o:
                            self.add_pending(rule, _At(line, 0), o, f"{what} inside `{f.id}`", None)
            elif isinstance(f, ast.Attribute) and f.attr == "fit" and any(k.arg == "validation_split" for k in n.keywords):
                # Keras: fit(X, y, validation_split=0.2) holds out the last rows of X as validation
                src = frozenset().union(*(self.origins_of(a) for a in n.args)) if n.args else frozenset()
                self.split(src, n.lineno, "fit(validation_split=...)")
            elif isinstance(f, ast.Attribute) and f.attr in ("fit", "fit_transform", "fit_resample", "fit_sample", "adapt") \
                    and n.args:
                info = self.l.kind_of(f.value, {}) or self._env_kind(f.value)
                if info is None:
                    continue
                if info.kind == "search" and f.attr == "fit":
                    self.split(self.origins_of_args(n), n.lineno, info.cls, cv=True)
                    continue
                if _is_literal(n.args[0]):
                    continue
                o = self.origins_of(n.args[0])
                if not o:
                    if self._built_here(n.args[0]):
                        self.l.nodata_fit_lines.add(n.lineno)
                    continue
                rule = {"preproc": "fit-before-split", "selector": "select-before-split",
                        "sampler": "resample-before-split"}.get(info.kind)
                if info.kind == "pipeline" and f.attr == "fit_transform":
                    rule = "fit-before-split"
                if rule is None:
                    continue
                what = f"`{info.cls}.{f.attr}` on `{_base(n.args[0]) or 'the data'}`"
                # a fit leaks into a later cross-validation only through what it fitted: the object and the
                # values computed with it carry it (a PCA drawn for a plot, or a scaler fitted on X_train for the
                # final model, is no leak of a Pipeline cross-validated on the raw rows)
                carrier = FitCarrier(_key(f.value) or info.cls, n.lineno)
                self.fit_carriers[id(n)] = carrier
                if _key(f.value) is not None:
                    self.roots[_key(f.value)] = self.roots.get(_key(f.value), frozenset()) | {carrier}
                self.memo = {}
                self.add_pending(rule, n, o, what, _base(n.args[0]), carrier)

    def _built_here(self, node):
        """True when every name in the expression is a numerical module or a variable this scope built the
        same way: no data of unknown origin (a parameter, a global, a helper's result) can be in it
        (np.arange(20), a variable holding a toy array). A fit on it is no fit on the data."""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and not (n.id in self.built or n.id in self.f.imported or n.id in SAFE_BUILTINS):
                return False
            if isinstance(n, (ast.Lambda, ast.comprehension)):
                return False
            if isinstance(n, ast.Call) and any(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in n.args):
                return False  # np.fromfile("x.bin"), torch.load("t.pt"): a path read
        return True

    def _env_kind(self, node):
        return self.l.dataflow_kinds.get(_key(node) or "")

    def add_pending(self, rule, node, origins, what, var, carrier=None):
        test = [o for o in origins if o.part == "test"]
        files = [o for o in origins if o.part == "test-file"]
        if files and len(files) < len(origins):  # a test file's rows concatenated with others
            test = files
        if test and rule in ("fit-before-split", "select-before-split", "stat-before-split"):
            o = test[0]
            self.l.add("fit-on-test-rows", node.lineno, node.col_offset,
                       f"{what} (line {node.lineno}) uses rows of `{o.name}` (line {o.line}), which are test or "
                       "validation rows: their statistics reach the model. Fit and compute statistics on the "
                       "training rows only.")
            return
        self.pending.append(Pending(rule, node.lineno, node.col_offset, origins, what, var, carrier))

    def split(self, src, line, how, upto=None, cv=False):
        """`cv`: the split is a cross-validation call or search, whose folds only see its inputs: a fit leaks
        into them only when its object or outputs are among those inputs. The parts of any other split can
        meet the fitted object later (scaler.transform(X_test)), so there a fit counts however it is carried."""
        if cv:
            self.l.cv_lines.add(line)
            if any(isinstance(o, FitCarrier) for o in src):
                self.l.cv_fit_lines.add(line)  # the CV is given something fitted outside it
        if not src:
            return
        keep = []
        for p in self.pending:
            hit = next((o for o in p.origins if o in src), None)
            carried = p.carrier is None or p.carrier in src or (isinstance(p.carrier, FitCarrier) and not cv)
            if cv and hit is not None and carried and p.rule in FIT_RULES:
                self.l.cv_fit_lines.add(line)
            if hit is not None and p.line <= (upto or line) and isinstance(p.carrier, FitCarrier):
                # not carried: its rows are cross-validated, but not what it fitted
                (self.l.dataflow_fit_lines if carried else self.l.uncarried_fit_lines).add(p.line)
            if hit is not None and p.line <= (upto or line) and carried:
                self.l.add(p.rule, p.line, p.col,
                           f"{p.what} (line {p.line}) → `{hit.name}` (line {hit.line}) is split later by {how} "
                           f"(line {line}), which puts some of those rows into validation: the statistic has seen "
                           "them. Compute it on the training part only (or inside a Pipeline).")
            else:
                keep.append(p)
        self.pending = keep

    # -- assignments ------------------------------------------------------------------------------
    def assign(self, t, value, stmt, aug=False):
        if not isinstance(t, ast.Name):
            for n in ast.walk(t):
                k = _key(n) if isinstance(n, (ast.Name, ast.Attribute)) else None
                if k:
                    self.built.discard(k)
        # splits that return parts
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and self._is_numpy(value.func.value) \
                and value.func.attr in ("split", "array_split") and value.args and isinstance(t, (ast.Tuple, ast.List)):
            # train, valid, test = np.split(df.sample(frac=1), [a, b]): the first part trains
            self.split(self.origins_of(value.args[0]), stmt.lineno, f"np.{value.func.attr}")
            for i, e in enumerate(t.elts):
                k = _key(e)
                if k:
                    self.roots[k] = frozenset([Origin(k, stmt.lineno, "train" if i == 0 else "test")])
            return
        if isinstance(value, ast.Call) and self.l.callee(value.func) in SPLIT_CALLS and isinstance(t, (ast.Tuple, ast.List)):
            src = self.origins_of_args(value)
            self.split(src, stmt.lineno, self.l.callee(value.func))
            for i, e in enumerate(t.elts):
                k = _key(e)
                if k:
                    part = "test" if (i % 2 == 1 or TEST_NAME.search(k)) else "train"
                    if self.l.callee(value.func) == "random_split":
                        part = "train" if i == 0 else "test"
                    self.roots[k] = frozenset([Origin(k, stmt.lineno, part)])
            return
        first = self._first_fold(value)
        if first is not None and isinstance(t, (ast.Tuple, ast.List)):
            # tr, va = next(gss.split(X, groups=g)): the first (often only) fold of a splitter
            self.split(self.origins_of_args(first), stmt.lineno, self.l.callee(first.func) or "split")
            self._fold_parts(t, stmt.lineno)
            return
        if isinstance(t, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
                and len(t.elts) == len(value.elts):
            for e, v in zip(t.elts, value.elts):
                self.assign(e, v, stmt)
            return
        if isinstance(t, (ast.Tuple, ast.List)):
            stats = self.stats_in(value)
            pure = stats and not self._has_data_ops(value)
            # a, b = df.fillna(df.mean()), other: the statistics go into the data each name then holds
            carriers = self.note_stats_into_data(value, stmt, _key(t.elts[0]) or "") if stats and not pure else frozenset()
            for e in t.elts:
                k = _key(e)
                if k and pure:
                    self.stats[k] = (frozenset().union(*(s[0] for s in stats)), stats[0][1], stats[0][2])
                    self.roots.pop(k, None)
                elif k:
                    self.stats.pop(k, None)
                    self.roots[k] = self.origins_of(value) | carriers
            return
        if isinstance(t, ast.Subscript):
            holder = t.value
            if isinstance(holder, ast.Attribute) and holder.attr in ("loc", "iloc", "at", "iat"):
                holder = holder.value  # df.loc[mask, "age"] = df.age.median(): a write into df
            self.data_write(_base(holder), value, stmt)
            k = _base(holder)
            if k:
                value_origins = self.origins_of(value)
                if self.roots.get(k):
                    # values written into rows of existing data keep those rows' identity: out-of-fold
                    # encodings (df.loc[va, "te"] = df.loc[va, "cat"].map(rates)) do not make df validation rows
                    value_origins = frozenset(o for o in value_origins if o.part not in ("train", "test"))
                self.roots[k] = self.roots.get(k, frozenset()) | value_origins
            return
        k = _key(t)
        if k is None:
            return
        if self._built_here(value) and not aug:
            self.built.add(k)
        else:
            self.built.discard(k)
        if _is_mask(value) and not aug:
            self.mask_vars.add(k)
        else:
            self.mask_vars.discard(k)
        cls = self._file_class(value)
        if cls is not None:
            self.objects[k] = cls
        else:
            self.objects.pop(k, None)
        info = self.l.kind_of(value, {})
        if info is not None:
            self.l.dataflow_kinds[k] = info
        if self.upsample(k, value, stmt):
            return
        if self.split_by_rows(k, value, stmt):
            return
        origins = self.origins_of(value)
        stats = self.stats_in(value)
        if stats and not aug and not self._has_data_ops(value):
            # a pure statistic (m = df.x.mean(), corr = df.corr()[target]): data only when combined with rows
            o = frozenset().union(*(s[0] for s in stats))
            self.stats[k] = (o, stats[0][1], stats[0][2])
            self.roots.pop(k, None)
            return
        self.stats.pop(k, None)
        origins = origins | self.note_stats_into_data(value, stmt, k)
        if aug:
            origins |= self.roots.get(k, frozenset())
        if TEST_NAME.search(k) and isinstance(value, ast.Call) and LOADERS.match(self.l.callee(value.func) or ""):
            # a file read straight into a test-named variable: its rows are test rows
            origins = frozenset([Origin(k, stmt.lineno, "test-file")])
        for o in origins:
            if o.line == stmt.lineno and LOADERS.match(o.name):
                o.name = k  # name the data after the variable it was read into
        self.roots[k] = origins

    def _first_fold(self, value):
        """The splitter call in next(kf.split(X)) / next(iter(kf.split(X))), else None."""
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "next"
                and value.args):
            return None
        inner = value.args[0]
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "iter" and inner.args:
            inner = inner.args[0]
        return inner if isinstance(inner, ast.Call) and self.is_split_call(inner) else None

    def _has_data_ops(self, value):
        """True when rows of data appear in the expression other than as what a statistic is taken of
        (df.fillna(df.mean()), (x - x.mean()) / x.std(), df[cols], prep(df)); False for m = df.x.mean()."""
        inside = set()
        for n in _walk_expr(value):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in (
                    STAT_METHODS | MINMAX | GROUP_AGG | {"groupby", "describe"}):
                if n.func.attr in ("transform", "apply", "pipe") and self._groupby_of(n.func.value) is None:
                    continue  # df.transform(f) / df.pipe(f): the rows, transformed
                inside.update(id(m) for m in ast.walk(n.func.value))
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and self._is_numpy(n.func.value) \
                    and n.func.attr in NUMPY_STATS | NUMPY_MINMAX and n.args:
                inside.update(id(m) for m in ast.walk(n.args[0]))  # lo, hi = np.percentile(X, [1, 99], axis=0)
        for n in _walk_expr(value):
            if id(n) in inside:
                continue
            if isinstance(n, (ast.Name, ast.Attribute)) and _key(n) in self.roots:
                return True
            if isinstance(n, ast.Call) and LOADERS.match(self.l.callee(n.func) or "") and (n.args or n.keywords):
                return True  # pd.read_csv(...).pipe(lambda d: d.fillna(d.mean()))
        return False

    def note_stats_into_data(self, value, stmt, target):
        """Pending findings for the statistics computed into `value`; returns the carriers to add to the
        origins of `target` (none when the value goes nowhere we can follow: a return value)."""
        carriers = set()
        for origins, line, what in self.stats_in(value):
            if self._filter_only(value):
                continue
            carrier = Carrier(target, stmt.lineno) if target is not None else None
            self.add_pending("stat-before-split", _At(line, stmt.col_offset if line == stmt.lineno else 0),
                             origins, what, target, carrier)
            if carrier is not None:
                carriers.add(carrier)
        return frozenset(carriers)

    def _filter_only(self, value):
        """df[df.x < df.x.quantile(.99)], df[(np.abs(zscore(num)) < 3).all(axis=1)]: a statistic used only
        to pick rows, not computed into features."""
        if not isinstance(value, ast.Subscript):
            return False
        sl = value.slice
        if isinstance(value.value, ast.Attribute) and value.value.attr == "loc" and isinstance(sl, ast.Tuple) and sl.elts:
            sl = sl.elts[0]
        return _is_mask(sl) and not self.stats_in(value.value)

    def data_write(self, base, value, stmt):
        if base is None or base not in self.roots:
            return
        for origins, line, what in self.stats_in(value):
            carrier = Carrier(base, stmt.lineno)
            self.add_pending("stat-before-split", _At(line, 0), origins, what, base, carrier)
            self.roots[base] = self.roots[base] | {carrier}

    def upsample(self, k, value, stmt):
        """minority.sample(n, replace=True) or sklearn.utils.resample(minority, replace=True): copies of rows
        that a later split of data built from them puts on both sides."""
        v = value
        if not (isinstance(v, ast.Call) and any(kw.arg == "replace" and isinstance(kw.value, ast.Constant)
                                                and kw.value.value is True for kw in v.keywords)):
            return False
        if isinstance(v.func, ast.Attribute) and v.func.attr == "sample":
            src = v.func.value
        elif isinstance(v.func, ast.Name) and v.func.id in self.f.sklearn_resample and v.args:
            src = v.args[0]
        else:
            return False
        origins = self.origins_of(src)
        if not origins:
            return False
        carrier = Carrier(k, stmt.lineno)
        self.add_pending("resample-before-split", v, origins, f"upsampling with replacement of `{_base(src) or 'the data'}`",
                         k, carrier)
        self.roots[k] = origins | {carrier}
        return True

    def split_by_rows(self, k, value, stmt):
        """Complementary slices (df[:n] / df[n:]), complementary masks (df[df.t < c] / df[df.t >= c]) and
        sample/drop pairs are splits of the source's rows."""
        v = value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute):
            if v.func.attr == "sample" and self.origins_of(v.func.value):
                self.samples[k] = (self.origins_of(v.func.value), stmt.lineno)
                self.roots[k] = frozenset([Origin(k, stmt.lineno, "train")])
                return True
            if v.func.attr == "drop":
                for a in list(v.args) + [kw.value for kw in v.keywords if kw.arg in ("index", "labels")]:
                    if isinstance(a, ast.Attribute) and a.attr == "index" and _key(a.value) in self.samples:
                        src, line = self.samples[_key(a.value)]
                        self.split(src, line, "a sample/drop pair")
                        self.roots[k] = frozenset([Origin(k, stmt.lineno, "test")])
                        return True
        if isinstance(v, ast.Subscript):
            holder = v.value
            if isinstance(holder, ast.Attribute) and holder.attr in ("iloc", "loc"):
                holder = holder.value
            src_key = _key(holder)
            if src_key is None or src_key not in self.roots:
                return False
            sl = v.slice
            if isinstance(sl, ast.Tuple) and sl.elts:
                sl = sl.elts[0]
            side, slices_key = _slice_side(sl), src_key
            if side is None and isinstance(sl, ast.Subscript) and _key(sl.value) is not None:
                # df.iloc[idx[:n]] / df.iloc[idx[n:]]: slices of a (shuffled) index taken into the rows
                side, slices_key = _slice_side(sl.slice), f"{src_key}|{_key(sl.value)}"
            if side is not None:
                seen = self.slices.setdefault(slices_key, {})
                other = "upper" if side == "lower" else "lower"
                if other in seen:
                    self.split(self.roots[src_key], seen[other], "index slicing")
                    self.roots[k] = frozenset([Origin(k, stmt.lineno, "test" if side == "upper" else "train")])
                    return True
                seen[side] = stmt.lineno
                self.roots[k] = frozenset([Origin(k, stmt.lineno, "train" if side == "lower" else "test")])
                return True
            neg = isinstance(sl, ast.UnaryOp) and isinstance(sl.op, (ast.Invert, ast.Not))
            inner = sl.operand if neg else sl
            name = _key(inner)
            if name is None and isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                    and inner.func.attr == "isin" and inner.args \
                    and any(o.part for o in self.origins_of(inner.args[0])):
                # df[df.user.isin(picked)] / df[~df.user.isin(picked)] with picked = users.sample(frac=.8): a
                # group split by hand (a fixed list, isin(["Paris", "Lyon"]), picks a subgroup: no split)
                name = "isin:" + ast.dump(inner)
            if name is not None and (name in self.mask_vars or name.startswith("isin:")):
                # a mask held in a variable: msk = np.random.rand(len(df)) < 0.8; df[msk] / df[~msk]
                seen = self.masks.setdefault((src_key, "mask:" + name), [])
                match = next((line for was_neg, line in seen if was_neg != neg), None)
                if match is not None:
                    self.split(self.roots[src_key], match, "a row mask and its complement")
                    self.roots[k] = frozenset([Origin(k, stmt.lineno, "test")])
                    return True
                seen.append((neg, stmt.lineno))
                self.roots[k] = frozenset([Origin(k, stmt.lineno, "test" if neg else "train")])
                return True
            return self._mask_split(k, src_key, sl, stmt, "")
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "query" and v.args \
                and isinstance(v.args[0], ast.Constant) and isinstance(v.args[0].value, str):
            # df.query("year < 2020") / df.query("year >= 2020"): the same masks, written as strings
            src_key = _key(v.func.value)
            if src_key is None or src_key not in self.roots:
                return False
            try:
                expr = ast.parse(v.args[0].value.strip(), mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False
            return self._mask_split(k, src_key, expr, stmt, "query:")
        return False

    def _mask_split(self, k, src_key, sl, stmt, prefix):
        if not (isinstance(sl, ast.Compare) and len(sl.ops) == 1):
            return False
        op, left, right = type(sl.ops[0]), sl.left, sl.comparators[0]
        if op is ast.Eq and isinstance(right, ast.Constant) and _split_column(left, right):
            # df[df.split == "train"] / df[df.split == "valid"], df[df.is_train == 1] / == 0: one column
            # naming each row's part, taken with two different values
            seen = self.masks.setdefault((src_key, prefix + "eq:" + ast.dump(left)), [])
            match = next((line for value, line in seen if value != right.value), None)
            if match is not None:
                self.split(self.roots[src_key], match, "a column naming each row's part")
                self.roots[k] = frozenset([Origin(k, stmt.lineno, "test")])
                return True
            seen.append((right.value, stmt.lineno))
            return False
        if op in COMPLEMENT and (not isinstance(right, ast.Constant) or _ordering_column(left)):
            # df[df.day < cutoff] / df[df.day >= cutoff], df[df.year < 2021] / >= 2021; a constant on another
            # column (df.age > 60 / df.age <= 60) picks subgroups to compare, not parts to train and test on
            col = prefix + ast.dump(left) + "|" + ast.dump(right)
            seen = self.masks.setdefault((src_key, col), [])
            want = COMPLEMENT[op]
            match = next((line for o, line in seen if o is want), None)
            if match is not None:
                self.split(self.roots[src_key], match, "complementary row masks")
                self.roots[k] = frozenset([Origin(k, stmt.lineno, "test")])
                return True
            seen.append((op, stmt.lineno))
        return False


class _At:
    __slots__ = ("lineno", "col_offset")

    def __init__(self, line, col):
        self.lineno = line
        self.col_offset = col
