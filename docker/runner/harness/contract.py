"""The candidate submission contract: finding and importing solution.py, readable error messages,
and validation / normalisation of what train, predict, predict_proba and evaluate return."""
from __future__ import annotations

import importlib
import math
import os
import re
import sys
import traceback
from collections.abc import Mapping

from . import notebook

SKIP_DIRS = {"__pycache__", "__MACOSX", ".git", ".ipynb_checkpoints", "venv", ".venv", "env", "node_modules",
             "site-packages"}
FUNCTIONS = ("train", "predict", "predict_proba", "evaluate")


# ----------------------------------------------------------------------------------------------
# Locating and importing
# ----------------------------------------------------------------------------------------------

SOLUTION_NAMES = ("solution.py", "solution.ipynb")


def locate_solution(sub_root):
    """-> (import_root, path relative to sub_root, problem). solution.ipynb may stand in for solution.py
    (notebook.py builds the module from its code cells); with both in one folder, solution.py wins."""
    root, rel, problem = _locate(sub_root)
    if rel is not None and rel.endswith(".ipynb"):
        notebook.prebuild(os.path.join(root, "solution.ipynb"), rel)
    return root, rel, problem


def _locate(sub_root):
    for name in SOLUTION_NAMES:
        if os.path.isfile(os.path.join(sub_root, name)):
            return sub_root, name, None
    try:
        entries = sorted(os.listdir(sub_root))
    except OSError as exc:
        return None, None, f"cannot read the submission: {exc}"
    folders = [e for e in entries if os.path.isdir(os.path.join(sub_root, e))
               and not e.startswith(".") and e not in SKIP_DIRS]
    hits = []
    for f in folders:
        name = next((n for n in SOLUTION_NAMES if os.path.isfile(os.path.join(sub_root, f, n))), None)
        if name:
            hits.append((f, name))
    if len(hits) == 1:
        return os.path.join(sub_root, hits[0][0]), f"{hits[0][0]}/{hits[0][1]}", None
    if len(hits) > 1:
        return None, None, ("a solution was found in several top-level folders (" + ", ".join(h[0] + "/" for h in hits)
                            + "): keep exactly one")
    nested = []
    for dirpath, dirnames, filenames in os.walk(sub_root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS]
        for name in SOLUTION_NAMES:
            if name in filenames:
                nested.append(os.path.relpath(os.path.join(dirpath, name), sub_root))
        if len(nested) > 3:
            break
    if nested:
        return None, None, ("solution.py (or solution.ipynb) must be at the submission root or directly inside one "
                            "top-level folder; found " + ", ".join(nested[:3]))
    return None, None, "no solution.py or solution.ipynb at the submission root or in a single top-level folder"


class SubmissionPaths:
    def __init__(self, sub_root):
        self.root = os.path.realpath(sub_root).rstrip(os.sep) + os.sep
        self._cache = {}

    def rel(self, filename):
        """Path relative to the submission root for the candidate's own files, else None."""
        r = self._cache.get(filename)
        if r is None:
            try:
                ab = os.path.realpath(filename)
                r = os.path.relpath(ab, self.root) if ab.startswith(self.root) else ""
            except Exception:
                r = ""
            self._cache[filename] = r
        return r or None


def _short_lib_path(path):
    for marker in ("/dist-packages/", "/site-packages/"):
        i = path.find(marker)
        if i >= 0:
            return path[i + len(marker):]
    m = re.search(r"/lib/python3(?:\.\d+)?/", path)
    if m:
        return path[m.end():]
    return os.path.basename(path)


def format_exception(exc, paths, context=None, limit=6000):
    """Readable error: type and message, the candidate's frames, and where in a library it was raised."""
    msg = str(exc)
    if len(msg) > 2000:
        msg = msg[:2000] + " ..."
    head = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    lines = [f"{context}: {head}" if context else head]
    if isinstance(exc, SyntaxError) and exc.filename:
        rel = paths.rel(exc.filename) or os.path.basename(exc.filename)
        cell = notebook.syntax_location(exc, rel)
        if cell is not None:
            lines.append(f'  File "{cell[0]}", line {cell[1]}')
            if cell[2]:
                lines.append("    " + cell[2][:500])
        else:
            lines.append(f'  File "{rel}", line {exc.lineno}')
            if exc.text:
                lines.append("    " + exc.text.strip()[:500])
    tb = traceback.extract_tb(exc.__traceback__)
    mine = [(fr, paths.rel(fr.filename)) for fr in tb]
    cand = [(fr, rel) for fr, rel in mine if rel]
    if cand:
        lines.append("Traceback (the submission's frames, most recent call last):")
        for fr, rel in cand[-12:]:
            file, line, code = notebook.where(fr.filename, rel, fr.lineno)
            lines.append(f'  File "{file}", line {line}, in {fr.name}')
            if code:
                lines.append("    " + code[:500])
    if mine and not mine[-1][1]:
        last = mine[-1][0]
        if "/harness/" not in last.filename:
            lines.append(f"  (raised inside {_short_lib_path(last.filename)}:{last.lineno} in {last.name})")
    text = "\n".join(lines)
    return text[:limit]


def import_solution(import_root, rel_path):
    """Import solution.py (or the module built from solution.ipynb) as the module `solution` with its
    folder on sys.path. A malformed notebook raises notebook.NotebookError (a readable import error)."""
    sys.modules.pop("solution", None)
    if import_root not in sys.path:
        sys.path.insert(0, import_root)
    if rel_path.endswith(".ipynb"):
        path = os.path.join(import_root, "solution.ipynb")
        sys.argv = [path]
        return notebook.import_notebook(path, rel_path)
    sys.argv = [os.path.join(import_root, "solution.py")]
    return importlib.import_module("solution")


def functions_of(mod):
    return {name: callable(getattr(mod, name, None)) for name in FUNCTIONS}


# ----------------------------------------------------------------------------------------------
# Output validation
# ----------------------------------------------------------------------------------------------

def _typename(x):
    t = type(x)
    return t.__name__ if t.__module__ in ("builtins",) else f"{t.__module__.split('.')[0]}.{t.__name__}"


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    try:
        import numpy as np
        if isinstance(v, np.floating):
            return f"{float(v):.3g}"
        if isinstance(v, np.generic):
            v = v.item()
    except Exception:
        pass
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def _as_1d(raw, what, n):
    """-> (numpy 1-D array, None) or (None, problem)."""
    import numpy as np
    import pandas as pd
    if raw is None:
        return None, f"{what} returned None"
    if isinstance(raw, (str, bytes)):
        return None, f"{what} returned a single string ({_fmt(raw)}), not one value per row"
    if isinstance(raw, (bool, int, float, complex)) or (isinstance(raw, np.generic)):
        return None, f"{what} returned a single {_typename(raw)} ({_fmt(raw)}), not one value per row"
    if isinstance(raw, Mapping):
        return None, f"{what} returned a dict ({len(raw)} keys), not one value per row"
    if isinstance(raw, pd.DataFrame):
        if raw.shape[1] == 1:
            raw = raw.iloc[:, 0]
        elif what == "predict_proba" and raw.shape[1] == 2:
            raw = raw.iloc[:, 1]
        else:
            return None, f"{what} returned a table with {raw.shape[1]} columns; expected one value per row"
    try:
        if isinstance(raw, (pd.Series, pd.Index)):
            arr = raw.to_numpy(dtype=object) if isinstance(raw.dtype, pd.CategoricalDtype) else raw.to_numpy()
        else:
            if not hasattr(raw, "__len__") and hasattr(raw, "__iter__"):
                import itertools
                raw = list(itertools.islice(raw, 10 * n + 10))
            if hasattr(raw, "toarray"):
                raw = raw.toarray()
            arr = np.asarray(raw)
            if arr.dtype.kind == "O" and arr.ndim == 1 and len(arr) and all(
                    isinstance(v, (list, tuple)) for v in arr[:5]):
                arr = np.asarray(list(raw), dtype=object)
    except Exception as exc:
        return None, f"{what} returned a {_typename(raw)} that is not an array of values ({type(exc).__name__}: {exc})"
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2 and what == "predict_proba" and arr.shape[1] == 2:
        arr = arr[:, 1]
    if arr.ndim == 2 and what == "predict" and arr.shape[1] == 2 and arr.dtype.kind == "f":
        return None, (f"{what} returned an array of shape {arr.shape} (predict_proba output?); "
                      "expected one label per row")
    if arr.ndim != 1:
        return None, f"{what} returned an array of shape {tuple(arr.shape)}; expected one value per row"
    if len(arr) != n:
        return None, f"{what} returned {len(arr)} values for {n} rows"
    return arr, None


def normalize_predictions(raw, n, positive, negative, what="predict"):
    """-> (list of 0/1, None) or (None, problem)."""
    import numpy as np
    arr, problem = _as_1d(raw, what, n)
    if problem:
        return None, problem
    pos = str(positive).strip().lower()
    neg = str(negative).strip().lower()
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(int).tolist(), None
    if kind in "iu":
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            first = ", ".join(_fmt(v) for v in arr[bad][:5])
            return None, (f"{what} returned numbers other than 0/1 ({int(bad.sum())} of {n}): first unexpected "
                          f"values {first}; labels must be '{positive}'/'{negative}', 0/1 or booleans")
        return arr.astype(int).tolist(), None
    if kind == "f":
        nan = np.isnan(arr)
        if nan.any():
            return None, (f"{what} returned missing values (NaN) for {int(nan.sum())} of {n} rows, "
                          f"first at row {int(np.flatnonzero(nan)[0])}")
        if np.isin(arr, (0.0, 1.0)).all():
            return arr.astype(int).tolist(), None
        first = ", ".join(_fmt(v) for v in arr[:5])
        if ((arr >= 0) & (arr <= 1)).all():
            return None, (f"{what} returned floats between 0 and 1 (probabilities?) where labels belong: "
                          f"first values {first}")
        return None, f"{what} returned numbers that are not 0/1 labels: first values {first}"
    out = []
    bad = []
    missing = []
    for i, v in enumerate(arr.tolist() if kind != "O" else arr):
        lab = None
        if v is None or (isinstance(v, float) and math.isnan(v)):
            missing.append(i)
            out.append(None)
            continue
        try:
            if isinstance(v, (bool, np.bool_)):
                lab = int(bool(v))
            elif isinstance(v, (int, np.integer)) and int(v) in (0, 1):
                lab = int(v)
            elif isinstance(v, (float, np.floating)) and float(v) in (0.0, 1.0):
                lab = int(v)
            elif isinstance(v, (str, bytes, np.str_)):
                s = (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip().lower()
                if s == pos or s in ("1", "true"):
                    lab = 1
                elif s == neg or s in ("0", "false"):
                    lab = 0
        except Exception:
            lab = None
        if lab is None:
            bad.append(v)
        out.append(lab)
    if missing:
        return None, (f"{what} returned missing values (None/NaN) for {len(missing)} of {n} rows, "
                      f"first at row {missing[0]}")
    if bad:
        first = ", ".join(_fmt(v) for v in bad[:5])
        return None, (f"{what} returned labels that are neither '{positive}'/'{negative}' nor 0/1 "
                      f"({len(bad)} of {n}): first unexpected values {first}")
    return out, None


def normalize_probabilities(raw, n):
    """-> (list of floats in [0, 1], None) or (None, problem)."""
    import numpy as np
    arr, problem = _as_1d(raw, "predict_proba", n)
    if problem:
        return None, problem
    try:
        f = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        first = ", ".join(_fmt(v) for v in arr[:5])
        return None, f"predict_proba returned values that are not numbers: first values {first}"
    bad = ~np.isfinite(f)
    if bad.any():
        return None, (f"predict_proba returned NaN or infinite values for {int(bad.sum())} of {n} rows, "
                      f"first at row {int(np.flatnonzero(bad)[0])}")
    out_of = (f < -1e-6) | (f > 1 + 1e-6)
    if out_of.any():
        first = ", ".join(_fmt(v) for v in f[out_of][:5])
        return None, (f"predict_proba returned values outside [0, 1] ({int(out_of.sum())} of {n}): first {first} "
                      "(scores or logits rather than probabilities?)")
    return np.round(np.clip(f, 0.0, 1.0), 7).tolist(), None


def check_evaluate(res):
    """-> (evaluate dict {metric, foldScores} or None, problem or None)."""
    import numpy as np
    if not isinstance(res, Mapping):
        return None, (f"evaluate returned {_typename(res)}, expected a dict "
                      "{'metric': <scikit-learn scorer name>, 'fold_scores': [<float>, ...]}")
    keys = ", ".join(repr(k) for k in list(res.keys())[:10])
    if "metric" not in res:
        return None, f"evaluate's dict has no 'metric' (keys: {keys})"
    if "fold_scores" not in res:
        return None, f"evaluate's dict has no 'fold_scores' (keys: {keys})"
    metric = res["metric"]
    if not isinstance(metric, str) or not metric.strip():
        return None, f"evaluate's 'metric' must be a scikit-learn scorer name string, got {_typename(metric)} ({_fmt(metric)})"
    metric = metric.strip()
    fs = res["fold_scores"]
    if isinstance(fs, (int, float, np.generic)) and not isinstance(fs, bool):
        return None, (f"evaluate's 'fold_scores' must be a list of per-fold scores, got a single number "
                      f"({_fmt(fs)}); return every fold's score, not the mean")
    if isinstance(fs, (str, bytes, Mapping)) or fs is None:
        return None, f"evaluate's 'fold_scores' must be a list of per-fold scores, got {_typename(fs)}"
    try:
        arr = np.asarray(list(fs) if not hasattr(fs, "__array__") else fs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return None, f"evaluate's 'fold_scores' must contain numbers only ({type(exc).__name__}: {exc})"
    arr = np.squeeze(arr) if arr.ndim > 1 else arr
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        return None, f"evaluate's 'fold_scores' must be a flat list, got shape {tuple(arr.shape)}"
    if len(arr) == 0:
        return None, "evaluate's 'fold_scores' is empty"
    if len(arr) > 1000:
        return None, f"evaluate's 'fold_scores' has {len(arr)} values (at most 1000)"
    bad = ~np.isfinite(arr)
    if bad.any():
        return None, (f"evaluate's 'fold_scores' contains NaN or infinite values (fold {int(np.flatnonzero(bad)[0])}): "
                      "a fold failed?")
    problem = None
    try:
        from sklearn.metrics import get_scorer_names
        names = set(get_scorer_names())
        if metric not in names:
            if metric.lower() in names:
                metric = metric.lower()
            else:
                problem = (f"metric {metric!r} is not a scikit-learn scorer name "
                           "(e.g. 'roc_auc', 'average_precision', 'f1', 'balanced_accuracy', 'neg_log_loss')")
    except Exception:
        pass
    return {"metric": metric[:100], "foldScores": [float(x) for x in arr]}, problem
