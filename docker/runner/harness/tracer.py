"""Runtime tracing of scikit-learn / imbalanced-learn calls in a train-mode child.

install() (in the parent, once, before forking) wraps, in place, the methods of the library classes:
fit / fit_transform / fit_resample of every estimator, transformer and sampler, transform of fitted
transformers (only to follow rows through transformations), split of every splitter, SearchCV.fit, and
the functions train_test_split and cross_val_* wherever the library modules expose them. Wrapping class
attributes keeps pickles clean: a pickled estimator references its class, never these wrappers.

While no phase is active (start() not called) every wrapper is a plain pass-through. In a child,
start() activates recording, the candidate's code runs, and finish() analyses the records in the child
and returns a JSON-ready dict (events, splits, preprocessingLeaks, resamplingLeaks). Row fingerprints
(one uint64 per row) never leave the child.

The tracer must never change what the candidate's code does: wrappers return exactly what the wrapped
call returned, exceptions from it propagate unchanged, and every failure of the tracer's own code is
swallowed (counted in `errors`).
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
import threading

import numpy as np
import pandas as pd
from pandas.util import hash_array

from . import notebook

_state = None  # the active _State of this process, or None
_tl = threading.local()  # .depth: >0 while inside a recorded call (nested calls are not recorded)
_cv_nesting = [0]  # process-wide: >0 while inside cross_val_* / SearchCV.fit (any thread)
_installed = False

MAX_RECORDS = 50_000
MAX_EVENTS_OUT = 2400
MAX_SPLITS_KEPT = 200
MAX_FOLDS_KEPT = 1000
MAX_HASH_CELLS = 30_000_000
LEAK_COVERAGE = 0.9
MIN_UNIQUE_SHARE = 0.2

STATELESS = {
    "FunctionTransformer", "Normalizer", "Binarizer", "PolynomialFeatures", "LabelEncoder", "LabelBinarizer",
    "MultiLabelBinarizer", "FeatureHasher", "HashingVectorizer",
}
CV_FUNCTIONS = ("cross_val_score", "cross_validate", "cross_val_predict", "learning_curve",
                "validation_curve", "permutation_test_score")
SPLIT_PARAMS = ("n_splits", "shuffle", "n_repeats", "test_size", "train_size", "random_state", "max_train_size",
                "gap", "p", "n_groups")


def _depth():
    return getattr(_tl, "depth", 0)


# ----------------------------------------------------------------------------------------------
# Row fingerprints
# ----------------------------------------------------------------------------------------------

_K = np.zeros(0, dtype=np.uint64)


def _col_keys(m):
    """Per-position odd multipliers used to combine column hashes into a row hash."""
    global _K
    if len(_K) < m:
        rng = np.random.default_rng(0x5EED)
        _K = rng.integers(0, np.iinfo(np.uint64).max, size=max(m, 256), dtype=np.uint64, endpoint=True) | np.uint64(1)
    return _K[:m]


def _num_rows(x):
    try:
        shape = getattr(x, "shape", None)
        if shape is not None and len(shape) >= 1:
            return int(shape[0])
        if hasattr(x, "__len__") and not isinstance(x, (str, bytes, dict)):
            return len(x)
    except Exception:
        pass
    return None


def _float_hash(f):
    f = np.array(f, dtype=np.float64, copy=True)
    f += 0.0  # -0.0 -> 0.0
    nan = np.isnan(f)
    if nan.any():
        f[nan] = np.nan  # one NaN bit pattern
    return hash_array(f.ravel()).reshape(f.shape)


def _column_hash(values):
    """uint64 hash per element of a 1-D column, equal for equal values whatever the container."""
    if isinstance(values, (pd.Series, pd.Index)):
        dtype = values.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
            return _float_hash(values.to_numpy(dtype=np.float64, na_value=np.nan))
        values = values.to_numpy(dtype=object)
    v = np.asarray(values)
    kind = v.dtype.kind
    if kind in "biuf":
        return _float_hash(v)
    if kind in "mM":
        return _float_hash(v.view("i8"))
    if kind == "O":
        return hash_array(v)
    return hash_array(v.astype(str).astype(object))


_SALT = np.uint64(0x9E3779B97F4A7C15)


def _combine(H):
    """(n, m) element hashes -> n row hashes (order- and width-dependent; hash(0.0) is 0, hence the salt)."""
    s = ((H + _SALT) * _col_keys(H.shape[1])).sum(axis=1, dtype=np.uint64)
    return hash_array(s)


def fingerprint(x, with_columns=False):
    """Row fingerprints of X: (fps uint64[n] or None, column-hash matrix or None, column names or None).

    DataFrames are hashed column by column (numbers as float64, everything else as text), so a frame
    and its .to_numpy() hash the same when all columns are numeric. Column names are returned for
    frames; the (n, m) matrix only when with_columns (it is used to compare column subsets).
    """
    try:
        if x is None:
            return None, None, None
        if isinstance(x, pd.Series):
            x = x.to_frame()
        if isinstance(x, pd.DataFrame):
            n, m = x.shape
            if n * max(m, 1) > MAX_HASH_CELLS or m == 0:
                return None, None, None
            H = np.empty((n, m), dtype=np.uint64)
            dtypes = list(x.dtypes)
            num = [j for j, d in enumerate(dtypes)
                   if pd.api.types.is_numeric_dtype(d) and not isinstance(d, pd.CategoricalDtype)]
            if num:
                block = x.iloc[:, num].to_numpy(dtype=np.float64, na_value=np.nan)
                H[:, num] = _float_hash(block)
            numset = set(num)
            for j in range(m):
                if j not in numset:
                    H[:, j] = _column_hash(x.iloc[:, j])
            cols = [str(c) for c in x.columns]
            return _combine(H), (H if with_columns else None), cols
        try:
            import scipy.sparse as sp
            if sp.issparse(x):
                X = sp.csr_matrix(x, dtype=np.float64, copy=True)
                if X.shape[0] * 2 > MAX_HASH_CELLS:
                    return None, None, None
                X.data = np.nan_to_num(X.data, nan=-7.77e300, posinf=7.7e300, neginf=-7.7e300)
                R = np.random.default_rng(0xC0FFEE).standard_normal((X.shape[1], 2))
                P = np.asarray(X @ R)
                return _combine(_float_hash(P)), None, None
        except ImportError:
            pass
        a = x if isinstance(x, np.ndarray) else np.asarray(x)
        if a.ndim == 0:
            return None, None, None
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        elif a.ndim > 2:
            a = a.reshape(a.shape[0], -1)
        n, m = a.shape
        if n * max(m, 1) > MAX_HASH_CELLS or m == 0:
            return None, None, None
        if a.dtype.kind in "biuf":
            H = _float_hash(a)
        else:
            H = np.empty((n, m), dtype=np.uint64)
            for j in range(m):
                H[:, j] = _column_hash(a[:, j])
        return _combine(H), (H if with_columns else None), None
    except Exception:
        return None, None, None


def normalize_labels(y, positive):
    """y -> float array of 1.0 (positive) / 0.0, or None."""
    try:
        if y is None:
            return None
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                return None
            y = y.iloc[:, 0]
        if isinstance(y, pd.Series):
            y = y.to_numpy()
        a = np.asarray(y)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            return None
        if a.dtype.kind == "b":
            return a.astype(np.float64)
        if a.dtype.kind in "iuf":
            return (a == 1).astype(np.float64)
        s = pd.Series(a, dtype=object).astype(str).str.strip().str.lower()
        pos = str(positive).strip().lower()
        return (s.eq(pos) | s.eq("1") | s.eq("true") | s.eq("1.0")).to_numpy(dtype=np.float64)
    except Exception:
        return None


def _rate(yn, idx):
    if yn is None:
        return None
    try:
        if len(idx) == 0:
            return None
        return float(np.clip(yn[idx].mean(), 0.0, 1.0))
    except Exception:
        return None


# ----------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------

class _Rec:
    __slots__ = ("seq", "kind", "estimator", "role", "n_rows", "file", "line", "code", "inside_cv",
                 "in_fps", "in_cols", "out_fps", "out_cols", "stateless", "products", "applied")

    def __init__(self, seq, kind, estimator, role, n_rows, loc, inside_cv):
        self.seq = seq
        self.kind = kind
        self.estimator = estimator
        self.role = role
        self.n_rows = n_rows
        self.file, self.line, self.code = loc
        self.inside_cv = inside_cv
        self.in_fps = self.out_fps = None
        self.in_cols = self.out_cols = None
        self.stateless = False
        self.products = []  # fingerprints of rows this fitted transformer produced (fit_transform, transform)
        self.applied = []  # fingerprints of rows it was later applied to (transform input)


class _Split:
    __slots__ = ("seq", "kind", "splitter", "params", "stratified", "repeated", "file", "line", "code",
                 "inside_cv", "fps", "colmat", "cols", "yn", "folds", "n_folds", "n_rows", "ready")

    def __init__(self, seq, kind, splitter, params, stratified, repeated, loc, inside_cv):
        self.seq = seq
        self.kind = kind
        self.splitter = splitter
        self.params = params
        self.stratified = stratified
        self.repeated = repeated
        self.file, self.line, self.code = loc
        self.inside_cv = inside_cv
        self.fps = self.colmat = self.cols = self.yn = None
        self.folds = []  # (train_rows, val_idx, val_rate, train_rate)
        self.n_folds = 0
        self.n_rows = None
        self.ready = False


class _State:
    def __init__(self, phase, root, positive, target):
        self.phase = phase
        self.root = os.path.realpath(root).rstrip(os.sep) + os.sep
        self.positive = positive
        self.target = target
        self.seq = 0
        self.records = []
        self.splits = []
        self.dropped = 0
        self.errors = 0
        self.files = {}
        self.fitted = {}  # id(estimator) -> the _Rec of its latest recorded fit
        self.alias_pairs = []

    def next_seq(self):
        s = self.seq
        self.seq += 1
        return s

    def location(self):
        f = sys._getframe(2)
        while f is not None:
            fn = f.f_code.co_filename
            rel = self.files.get(fn)
            if rel is None:
                try:
                    ab = os.path.realpath(fn)
                    rel = os.path.relpath(ab, self.root) if ab.startswith(self.root) else ""
                except Exception:
                    rel = ""
                self.files[fn] = rel
            if rel:
                file, line, code = notebook.where(fn, rel, f.f_lineno)
                return file[:500], line, code
            f = f.f_back
        return None, None, None

    def add_record(self, rec):
        if len(self.records) >= MAX_RECORDS:
            self.dropped += 1
            return False
        self.records.append(rec)
        return True


def _role(est, method):
    try:
        from sklearn.base import is_classifier, is_regressor
        from sklearn.feature_selection import SelectorMixin
        from sklearn.model_selection._search import BaseSearchCV
        from sklearn.pipeline import Pipeline
        if isinstance(est, BaseSearchCV):
            return "search"
        if isinstance(est, Pipeline):
            last = est.steps[-1][1] if est.steps else None
            if method == "fit_transform" or last is None or last == "passthrough":
                return "transformer"
            if hasattr(last, "transform") and not (is_classifier(last) or is_regressor(last)):
                return "transformer"
            if method == "fit_resample":
                return "sampler"
            return "pipeline"
        if method == "fit_resample" or getattr(est, "_estimator_type", None) == "sampler":
            return "sampler"
        if isinstance(est, SelectorMixin):
            return "selector"
        if is_classifier(est) or is_regressor(est):
            return "model"
        if method == "fit_transform" or hasattr(est, "transform"):
            return "transformer"
        return "model"
    except Exception:
        return "model"


def _x_arg(args, kwargs):
    if args:
        return args[0]
    return kwargs.get("X", kwargs.get("x"))


def _y_arg(args, kwargs):
    if len(args) > 1:
        return args[1]
    return kwargs.get("y")


def _is_1d(x):
    try:
        if isinstance(x, pd.Series):
            return True
        shape = getattr(x, "shape", None)
        if shape is not None:
            return len(shape) == 1
        a = np.asarray(x)
        return a.ndim == 1 and a.dtype.kind != "O"
    except Exception:
        return False


# ----------------------------------------------------------------------------------------------
# Wrappers
# ----------------------------------------------------------------------------------------------

def _before_fit(st, est, method, args, kwargs):
    inside = _cv_nesting[0] > 0
    name = type(est).__name__
    role = _role(est, method)
    X = _x_arg(args, kwargs)
    rec = _Rec(st.next_seq(), method, name, role, _num_rows(X), st.location(), inside)
    if not st.add_record(rec):
        return None
    if inside:
        return None  # folds inside CV are fitted on training folds: nothing to fingerprint
    rec.stateless = name in STATELESS or (role in ("transformer", "selector") and _is_1d(X))
    if role in ("transformer", "selector", "sampler") and not rec.stateless:
        rec.in_fps, _, rec.in_cols = fingerprint(X)
        return (rec, X)
    return None


def _after_fit(st, pre, est, method, result):
    rec, X = pre
    if rec.role in ("transformer", "selector"):
        st.fitted[id(est)] = rec
    if method == "fit_transform":
        out, _, out_cols = fingerprint(result)
        rec.out_fps = out
        if out is not None:
            rec.products.append(out)
        if out_cols is None and rec.in_cols is not None and out is not None:
            width = getattr(result, "shape", (0, 0))
            if len(width) == 2 and width[1] == len(rec.in_cols):
                out_cols = list(rec.in_cols)  # same columns, same order (scalers, imputers)
        rec.out_cols = out_cols
        if out is not None and rec.in_fps is not None and len(out) == len(rec.in_fps):
            st.alias_pairs.append((out, rec.in_fps))
    elif method == "fit_resample":
        if isinstance(result, tuple) and result:
            rec.out_fps, _, rec.out_cols = fingerprint(result[0])


def _wrap_fit(orig, method):
    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        st = _state
        if st is None or _depth() > 0:
            return orig(self, *args, **kwargs)
        pre = None
        try:
            pre = _before_fit(st, self, method, args, kwargs)
        except Exception:
            st.errors += 1
        _tl.depth = 1
        try:
            result = orig(self, *args, **kwargs)
        finally:
            _tl.depth = 0
        if pre is not None:
            try:
                _after_fit(st, pre, self, method, result)
            except Exception:
                st.errors += 1
        return result

    wrapper._grader_wrapped = True
    return wrapper


def _wrap_transform(orig):
    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        st = _state
        if st is None or _depth() > 0 or _cv_nesting[0] > 0 or id(self) not in st.fitted:
            return orig(self, *args, **kwargs)
        _tl.depth = 1
        try:
            result = orig(self, *args, **kwargs)
        finally:
            _tl.depth = 0
        try:
            a, _, _ = fingerprint(_x_arg(args, kwargs))
            b, _, _ = fingerprint(result)
            rec = st.fitted.get(id(self))
            if rec is not None and len(rec.products) < 100:
                if a is not None:
                    rec.applied.append(a)
                if b is not None:
                    rec.products.append(b)
            if a is not None and b is not None and len(a) == len(b):
                st.alias_pairs.append((b, a))
        except Exception:
            st.errors += 1
        return result

    wrapper._grader_wrapped = True
    return wrapper


def _jsonable(v):
    if v is None or isinstance(v, (bool, str)):
        return v if not isinstance(v, str) else v[:200]
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if np.isfinite(f) else None
    return type(v).__name__[:200]


def _split_params(cv):
    params = {}
    for attr in SPLIT_PARAMS:
        if hasattr(cv, attr):
            try:
                params[attr] = _jsonable(getattr(cv, attr))
            except Exception:
                pass
    cvargs = getattr(cv, "cvargs", None)
    if isinstance(cvargs, dict):
        for k, v in cvargs.items():
            params[str(k)[:64]] = _jsonable(v)
        params.setdefault("n_splits", 5)
        params["shuffle"] = True
    return params


def _begin_split(st, cv):
    name = type(cv).__name__
    if name == "_CVIterableWrapper":
        name = "iterable of (train, test) indices"
    rec = _Split(st.next_seq(), "split", name, _split_params(cv), "Stratified" in type(cv).__name__,
                 type(cv).__name__.startswith("Repeated"), st.location(), _cv_nesting[0] > 0)
    st.add_record(rec)
    if len(st.splits) >= MAX_SPLITS_KEPT:
        st.dropped += 1
        return None
    st.splits.append(rec)
    return rec


def _prepare_split(st, rec, X, y):
    rec.ready = True
    rec.n_rows = _num_rows(X)
    rec.fps, rec.colmat, rec.cols = fingerprint(X, with_columns=True)
    rec.yn = normalize_labels(y, st.positive)
    if rec.yn is not None and rec.n_rows is not None and len(rec.yn) != rec.n_rows:
        rec.yn = None


def _add_fold(rec, train, test):
    rec.n_folds += 1
    if len(rec.folds) >= MAX_FOLDS_KEPT:
        return
    tr = np.asarray(train)
    te = np.asarray(test)
    if tr.dtype == bool:
        tr = np.flatnonzero(tr)
    if te.dtype == bool:
        te = np.flatnonzero(te)
    rec.folds.append((int(len(tr)), te.astype(np.int64, copy=False), _rate(rec.yn, te), _rate(rec.yn, tr)))


def _split_iter(st, rec, gen, X, y):
    first = True
    while True:
        _tl.depth = _depth() + 1
        try:
            item = next(gen)
        except StopIteration:
            return
        finally:
            _tl.depth = _depth() - 1
        try:
            if first:
                first = False
                _prepare_split(st, rec, X, y)
            train, test = item
            _add_fold(rec, train, test)
        except Exception:
            st.errors += 1
        yield item


def _wrap_split(orig):
    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        st = _state
        if st is None or _depth() > 0:
            return orig(self, *args, **kwargs)
        rec = None
        try:
            rec = _begin_split(st, self)
        except Exception:
            st.errors += 1
        _tl.depth = 1
        try:
            gen = orig(self, *args, **kwargs)
        finally:
            _tl.depth = 0
        if rec is None:
            return gen
        return _split_iter(st, rec, iter(gen), _x_arg(args, kwargs), _y_arg(args, kwargs))

    wrapper._grader_wrapped = True
    return wrapper


def _record_tts(st, arrays, options, out, idx_tr, idx_te):
    params = {
        "test_size": _jsonable(options.get("test_size")),
        "train_size": _jsonable(options.get("train_size")),
        "shuffle": _jsonable(options.get("shuffle", True)),
        "random_state": _jsonable(options.get("random_state")),
        "stratify": options.get("stratify") is not None,
    }
    rec = _Split(st.next_seq(), "train_test_split", "train_test_split", params, options.get("stratify") is not None,
                 False, st.location(), _cv_nesting[0] > 0)
    st.add_record(rec)
    if len(st.splits) >= MAX_SPLITS_KEPT:
        st.dropped += 1
        return
    st.splits.append(rec)
    X = arrays[0]
    y = options.get("stratify")
    if y is None:
        for a in arrays[1:]:
            if _is_1d(a) and _num_rows(a) == _num_rows(X):
                y = a
                break
    if y is None and isinstance(X, pd.DataFrame) and st.target in X.columns:
        y = X[st.target]
    _prepare_split(st, rec, X, y)
    _add_fold(rec, idx_tr, idx_te)


def _wrap_tts(orig):
    @functools.wraps(orig)
    def wrapper(*arrays, **options):
        st = _state
        if st is None or _depth() > 0 or not arrays:
            return orig(*arrays, **options)
        n = _num_rows(arrays[0])
        if n is None:
            return orig(*arrays, **options)
        _tl.depth = 1
        try:
            try:
                res = orig(*arrays, np.arange(n), **options)
            except Exception:
                res = None
            if res is None or len(res) != 2 * len(arrays) + 2:
                return orig(*arrays, **options)  # the candidate's own exception, untouched
        finally:
            _tl.depth = 0
        out = res[:-2]
        try:
            _record_tts(st, arrays, options, out, res[-2], res[-1])
        except Exception:
            st.errors += 1
        return out

    wrapper._grader_wrapped = True
    return wrapper


def _wrap_cv_function(orig, name):
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        st = _state
        if st is None:
            return orig(*args, **kwargs)
        if _cv_nesting[0] == 0 and _depth() == 0:
            try:
                X = args[1] if len(args) > 1 else kwargs.get("X")
                st.add_record(_Rec(st.next_seq(), "cross_val", name, "function", _num_rows(X), st.location(), False))
            except Exception:
                st.errors += 1
        _cv_nesting[0] += 1
        try:
            return orig(*args, **kwargs)
        finally:
            _cv_nesting[0] -= 1

    wrapper._grader_wrapped = True
    return wrapper


def _wrap_search_fit(orig):
    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        st = _state
        if st is None or _depth() > 0:
            return orig(self, *args, **kwargs)
        try:
            st.add_record(_Rec(st.next_seq(), "search_fit", type(self).__name__, "search",
                               _num_rows(_x_arg(args, kwargs)), st.location(), _cv_nesting[0] > 0))
        except Exception:
            st.errors += 1
        _cv_nesting[0] += 1
        try:
            return orig(self, *args, **kwargs)
        finally:
            _cv_nesting[0] -= 1

    wrapper._grader_wrapped = True
    return wrapper


# ----------------------------------------------------------------------------------------------
# Installation
# ----------------------------------------------------------------------------------------------

def _all_subclasses(root):
    out, stack = set(), [root]
    while stack:
        c = stack.pop()
        for s in c.__subclasses__():
            if s not in out:
                out.add(s)
                stack.append(s)
    return out


def _lib_class(c):
    mod = getattr(c, "__module__", "") or ""
    return mod.startswith("sklearn.") or mod.startswith("imblearn.")


def install():
    """Wrap the library once (idempotent). Imports every scikit-learn / imbalanced-learn module."""
    global _installed
    if _installed:
        return
    _installed = True
    import importlib
    import warnings

    from sklearn.base import BaseEstimator
    from sklearn.utils import all_estimators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        all_estimators()
        for mod in ("imblearn", "imblearn.over_sampling", "imblearn.under_sampling", "imblearn.combine",
                    "imblearn.ensemble", "imblearn.pipeline", "imblearn.base"):
            try:
                importlib.import_module(mod)
            except Exception:
                pass
    import sklearn.model_selection._split as _split
    import sklearn.model_selection._validation as _validation
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.utils._available_if import _AvailableIfDescriptor

    classes = set()
    for c in _all_subclasses(BaseEstimator):
        for k in c.__mro__:
            if _lib_class(k):
                classes.add(k)
    for c in sorted(classes, key=lambda k: (k.__module__, k.__qualname__)):
        d = c.__dict__
        for name in ("fit", "fit_transform", "fit_resample"):
            v = d.get(name)
            if inspect.isfunction(v) and not getattr(v, "_grader_wrapped", False):
                if name == "fit" and issubclass(c, BaseSearchCV):
                    setattr(c, name, _wrap_search_fit(v))
                else:
                    setattr(c, name, _wrap_fit(v, name))
        v = d.get("transform")
        if inspect.isfunction(v) and not getattr(v, "_grader_wrapped", False):
            setattr(c, "transform", _wrap_transform(v))
        elif isinstance(v, _AvailableIfDescriptor) and not getattr(v.fn, "_grader_wrapped", False):
            v.fn = _wrap_transform(v.fn)
    for obj in list(vars(_split).values()):
        if inspect.isclass(obj):
            v = obj.__dict__.get("split")
            if inspect.isfunction(v) and not getattr(v, "_grader_wrapped", False):
                setattr(obj, "split", _wrap_split(v))

    replace = {}
    orig = _split.train_test_split
    replace[id(orig)] = (orig, _wrap_tts(orig))
    for name in CV_FUNCTIONS:
        f = getattr(_validation, name, None)
        if f is not None:
            replace[id(f)] = (f, _wrap_cv_function(f, name))
    for modname, mod in list(sys.modules.items()):
        if not (modname.startswith("sklearn") or modname.startswith("imblearn")) or mod is None:
            continue
        try:
            items = list(vars(mod).items())
        except Exception:
            continue
        for attr, val in items:
            hit = replace.get(id(val))
            if hit is not None and hit[0] is val:
                try:
                    setattr(mod, attr, hit[1])
                except Exception:
                    pass


def start(phase, submission_root, positive, target):
    """Begin recording in this (child) process."""
    global _state
    _tl.depth = 0
    _cv_nesting[0] = 0
    _state = _State(phase, submission_root, positive, target)


def stop():
    global _state
    _state = None


# ----------------------------------------------------------------------------------------------
# Analysis
# ----------------------------------------------------------------------------------------------

class _Canon:
    """Maps fingerprints of transformed rows back to the rows they were computed from."""

    def __init__(self, pairs):
        self.keys = np.zeros(0, dtype=np.uint64)
        self.vals = np.zeros(0, dtype=np.uint64)
        if not pairs:
            return
        out = np.concatenate([p[0] for p in pairs])
        inp = np.concatenate([p[1] for p in pairs])
        keep = out != inp
        out, inp = out[keep], inp[keep]
        if not len(out):
            return
        order = np.lexsort((inp, out))
        out, inp = out[order], inp[order]
        distinct = np.ones(len(out), dtype=bool)
        distinct[1:] = (out[1:] != out[:-1]) | (inp[1:] != inp[:-1])
        out, inp = out[distinct], inp[distinct]
        uo, first, cnt = np.unique(out, return_index=True, return_counts=True)
        good = cnt == 1  # ambiguous outputs (several input rows -> one output row) are dropped
        self.keys = uo[good]
        self.vals = inp[first[good]]

    def step(self, cur):
        """One step up the chain: -> (new array, whether anything changed)."""
        if cur is None or not len(self.keys):
            return cur, False
        pos = np.searchsorted(self.keys, cur)
        pos_c = np.minimum(pos, len(self.keys) - 1)
        hit = (pos < len(self.keys)) & (self.keys[pos_c] == cur)
        if not hit.any():
            return cur, False
        cur = cur.copy()
        cur[hit] = self.vals[pos_c[hit]]
        return cur, True

    def __call__(self, fps):
        cur = fps
        for _ in range(8):
            cur, changed = self.step(cur)
            if not changed:
                break
        return cur

    def derived_share(self, fps, products):
        """Share of rows that are, or were computed from, one of `products` (raw fingerprints)."""
        if fps is None or not len(fps) or products is None or not len(products):
            return 0.0
        mark = np.isin(fps, products)
        cur = fps
        for _ in range(8):
            cur, changed = self.step(cur)
            if not changed:
                break
            mark |= np.isin(cur, products)
        return float(mark.mean())


def _leak_dict(st, rec, split, seen, total, synth=0):
    return {
        "estimator": rec.estimator[:200], "method": rec.kind[:64], "fitRows": int(rec.n_rows or 0),
        "validationRowsSeen": int(seen), "validationRowsTotal": int(total),
        "syntheticOrRepeatedValidationRows": int(synth), "splitter": (split.splitter or "")[:200] or None,
        "file": rec.file, "line": rec.line, "code": rec.code, "phase": st.phase[:64],
    }


def _coverage(rows_u, seen_u):
    if not len(rows_u):
        return 0.0
    return float(np.isin(rows_u, seen_u, assume_unique=True).mean())


def _analyse(st):
    canon = _Canon(st.alias_pairs)
    splits = [s for s in st.splits if s.ready and s.fps is not None]
    samplers = [r for r in st.records if isinstance(r, _Rec) and r.kind == "fit_resample" and not r.inside_cv
                and r.in_fps is not None and r.out_fps is not None]
    sampler_info = []
    for r in samplers:
        A = canon(r.in_fps)
        B = canon(r.out_fps)
        uA, cA = np.unique(A, return_counts=True)
        uB, cB = np.unique(B, return_counts=True)
        synth = np.setdiff1d(uB, uA, assume_unique=True)
        common, ia, ib = np.intersect1d(uA, uB, assume_unique=True, return_indices=True)
        extra = common[cB[ib] > cA[ia]]
        sampler_info.append((r, uA, cA, uB, synth, extra))

    canon_split = {}
    for s in splits:
        canon_split[id(s)] = canon(s.fps)

    pre_leaks, res_leaks = [], []
    seen_keys = set()
    candidates = [r for r in st.records if isinstance(r, _Rec) and r.kind in ("fit", "fit_transform")
                  and r.role in ("transformer", "selector") and not r.inside_cv and not r.stateless
                  and r.in_fps is not None]
    for r in candidates:
        key = (r.estimator, r.file, r.line)
        if key in seen_keys:
            continue
        parts = [canon(r.in_fps)]
        if r.out_fps is not None:
            parts.append(canon(r.out_fps))
        S = np.unique(np.concatenate(parts))
        P = np.unique(np.concatenate(r.products)) if r.products else None
        applied_raw = np.unique(np.concatenate(r.applied)) if r.applied else None
        applied = np.unique(canon(applied_raw)) if applied_raw is not None else None
        for s in splits:
            if s.seq <= r.seq:
                continue
            R = canon_split[id(s)]
            if len(np.unique(s.fps)) < MIN_UNIQUE_SHARE * len(s.fps):
                continue  # e.g. skf.split(np.zeros(n), y): the rows' content identifies nothing
            derived = None
            applied_set = applied
            synth_before = [si[4] for si in sampler_info if si[0].seq < s.seq]
            Ru = np.unique(R)
            if synth_before:
                Ru = np.setdiff1d(Ru, np.concatenate(synth_before), assume_unique=False)
            rows = R
            cover = _coverage(Ru, S)
            if cover < LEAK_COVERAGE and s.colmat is not None and s.cols is not None and len(set(s.cols)) == len(s.cols):
                index = {c: j for j, c in enumerate(s.cols)}
                for fps, cols in ((r.in_fps, r.in_cols), (r.out_fps, r.out_cols)):
                    if fps is None or not cols or len(cols) == len(s.cols) or not all(c in index for c in cols):
                        continue
                    sub = _combine(s.colmat[:, [index[c] for c in cols]])
                    sub_u = np.unique(sub)
                    if len(sub_u) < MIN_UNIQUE_SHARE * len(sub):
                        continue  # those columns do not identify rows
                    c2 = _coverage(sub_u, np.unique(fps))
                    if c2 >= LEAK_COVERAGE:
                        cover, rows, S = c2, sub, np.unique(fps)
                        derived = fps is r.out_fps  # the split's columns hold this fit's output
                        applied_set = applied_raw
                        break
            if cover < LEAK_COVERAGE:
                continue
            # It saw the split's rows; it leaks only if it is involved in that split: the split's data
            # was computed from its output, or it was later applied to the split's validation rows.
            # (A scaler fitted on everything for a look, next to a clean Pipeline CV, is not.)
            if derived is None:
                derived = canon.derived_share(s.fps, P) >= 0.5
            seen = total = hit_applied = 0
            for (_, val_idx, _, _) in s.folds:
                vals = rows[val_idx[val_idx < len(rows)]]
                total += len(vals)
                seen += int(np.isin(vals, S).sum())
                if applied_set is not None and not derived:
                    hit_applied += int(np.isin(vals, applied_set).sum())
            if seen == 0 or not (derived or (total and hit_applied >= 0.5 * total)):
                continue
            pre_leaks.append(_leak_dict(st, r, s, seen, total))
            seen_keys.add(key)
            break

    for (r, uA, cA, uB, synth, extra) in sampler_info:
        key = (r.estimator, r.file, r.line)
        if key in seen_keys:
            continue
        seen_set = np.union1d(uA, uB)
        for s in splits:
            if s.seq <= r.seq:
                continue
            R = canon_split[id(s)]
            uR, cR = np.unique(R, return_counts=True)
            if len(np.unique(s.fps)) < MIN_UNIQUE_SHARE * len(s.fps) or _coverage(uR, uB) < LEAK_COVERAGE:
                continue
            # copies the sampler made that the split's data still carries
            rep = np.zeros(0, dtype=np.uint64)
            if len(extra):
                pr = np.searchsorted(uR, extra)
                pr_c = np.minimum(pr, len(uR) - 1)
                inR = (pr < len(uR)) & (uR[pr_c] == extra)
                pa = np.searchsorted(uA, extra)
                cnt_R = np.where(inR, cR[pr_c], 0)
                rep = extra[cnt_R > cA[pa]]
            bad = np.union1d(synth, rep)
            n_bad = seen = total = 0
            for (_, val_idx, _, _) in s.folds:
                vals = R[val_idx[val_idx < len(R)]]
                total += len(vals)
                n_bad += int(np.isin(vals, bad).sum())
                seen += int(np.isin(vals, seen_set).sum())
            if n_bad == 0:
                continue
            res_leaks.append(_leak_dict(st, r, s, seen, total, n_bad))
            seen_keys.add(key)
            break
    return pre_leaks[:200], res_leaks[:200]


def _split_out(st, s):
    folds = []
    for (tr_n, val_idx, vrate, trate) in s.folds[:MAX_FOLDS_KEPT]:
        folds.append({"trainRows": int(tr_n), "validationRows": int(len(val_idx)),
                      "validationPositiveRate": vrate, "trainPositiveRate": trate})
    return {
        "phase": st.phase[:64], "splitter": s.splitter[:200], "params": s.params, "stratified": bool(s.stratified),
        "repeated": bool(s.repeated), "folds": folds, "file": s.file, "line": s.line, "code": s.code,
    }


def _event_out(st, r):
    if isinstance(r, _Split):
        return {"seq": r.seq, "phase": st.phase[:64], "kind": r.kind,
                "estimator": r.splitter[:200], "role": "function" if r.kind == "train_test_split" else "splitter",
                "nRows": r.n_rows, "file": r.file, "line": r.line, "code": r.code, "insideCv": bool(r.inside_cv)}
    return {"seq": r.seq, "phase": st.phase[:64], "kind": r.kind, "estimator": r.estimator[:200],
            "role": r.role[:32], "nRows": r.n_rows, "file": r.file, "line": r.line, "code": r.code,
            "insideCv": bool(r.inside_cv)}


def finish(max_events=MAX_EVENTS_OUT):
    """Stop recording and analyse: {events, eventsDropped, splits, preprocessingLeaks, resamplingLeaks}."""
    global _state
    st = _state
    _state = None
    if st is None:
        return {"events": [], "eventsDropped": 0, "splits": [], "preprocessingLeaks": [], "resamplingLeaks": [],
                "errors": 0}
    try:
        pre, res = _analyse(st)
    except Exception:
        st.errors += 1
        pre, res = [], []
    events = [_event_out(st, r) for r in st.records[:max_events]]
    dropped = st.dropped + max(0, len(st.records) - max_events)
    return {
        "events": events,
        "eventsDropped": int(dropped),
        "splits": [_split_out(st, s) for s in st.splits if s.ready],
        "preprocessingLeaks": pre,
        "resamplingLeaks": res,
        "errors": int(st.errors),
    }
