"""Shared helpers of the two modes: pre-imports, CSV reading, output sanitising, atomic JSON."""
from __future__ import annotations

import json
import math
import os
import warnings

HARNESS_VERSION = "2.4.1"  # = HARNESS_VERSION in services/grading/harness-output.ts


def preimport(trace=False, wrap=True):
    """Import the heavy libraries once in the parent so every forked child starts warm."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import scipy.sparse  # noqa: F401
        import sklearn  # noqa: F401
        import sklearn.compose  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.impute  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import sklearn.metrics  # noqa: F401
        import sklearn.model_selection  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import sklearn.preprocessing  # noqa: F401
        try:
            import imblearn  # noqa: F401
            import imblearn.over_sampling  # noqa: F401
            import imblearn.pipeline  # noqa: F401
        except Exception:
            pass
        if trace:
            from . import tracer
            tracer.install()


def warm_up():
    """Runs the libraries' first-use paths once (lazy imports, caches) on made-up data, so each
    fresh candidate process forked from here starts warm. No candidate code, no real data."""
    import io
    import warnings
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    rows = "\n".join(f"{i},{'ab'[i % 2]} ,{i * 1.5 if i % 5 else ''},01/0{1 + i % 9}/2020,{'yn'[i % 3 == 0]}" for i in range(40))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = pd.read_csv(io.StringIO("id,cat,num,day,y\n" + rows))
        df["cat"] = df["cat"].astype(str).str.strip().str.lower()
        df["day"] = pd.to_datetime(df["day"], errors="coerce", format="%m/%d/%Y")
        df["age"] = (pd.Timestamp("2021-01-01") - df["day"]).dt.days
        X, y = df[["cat", "num", "age"]], (df["y"] == "y").astype(int)
        pre = ColumnTransformer([("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]), ["num", "age"]),
                                 ("cat", OneHotEncoder(handle_unknown="ignore"), ["cat"])])
        for model in (LogisticRegression(max_iter=50), RandomForestClassifier(n_estimators=3, random_state=0)):
            pipe = Pipeline([("pre", pre), ("model", model)]).fit(X, y)
            pipe.predict_proba(X.head(1))
            np.where(pipe.predict_proba(X)[:, 1] >= 0.5, "yes", "no").tolist()
        pd.get_dummies(X, columns=["cat"]).describe()
        df.to_csv(io.StringIO(), index=False)
        # Cleaning code's usual first calls: text, numbers, dates (strptime compiles and caches a
        # pattern per format), masks, joins, groups.
        import re
        from datetime import datetime
        s = df["cat"].astype(object)
        s = s.where(s.notna(), "").astype(str).str.strip().str.lower().str.replace(r"[\s_]+", " ", regex=True)
        s.replace({"": "missing"}).str.contains("a", regex=False)
        s.str.extract(r"(\w)", expand=False).str.split(" ").str[0].str.upper().str.title()
        n = pd.to_numeric(df["num"].astype(str).str.replace(r"[$,\s]|usd", "", regex=True, flags=re.I), errors="coerce")
        n = n.where((n > 0) & (n < 1e6)).clip(0, 100).fillna(n.median())
        np.log1p(n), np.log(n + 1), n.rank(), n.quantile(0.9), pd.cut(n, 3), pd.qcut(n, 2, duplicates="drop")
        for text, fmt in (("2020-01-02", "%Y-%m-%d"), ("2020-01-02 03:04:05", "%Y-%m-%d %H:%M:%S"), ("01/02/2020", "%m/%d/%Y"),
                          ("Jan 02 2020", "%b %d %Y"), ("2020/01/02", "%Y/%m/%d"), ("02.01.2020", "%d.%m.%Y"),
                          ("January 02, 2020", "%B %d, %Y"), ("Jan 02, 2020", "%b %d, %Y"), ("02 Jan 2020", "%d %b %Y"),
                          ("20200102", "%Y%m%d"), ("2020-01-02T03:04:05", "%Y-%m-%dT%H:%M:%S"), ("02/01/2020", "%d/%m/%Y")):
            datetime.strptime(text, fmt)
        pd.to_datetime(df["day"], errors="coerce"), df["day"].dt.year, df["day"].dt.month
        df["num"].map(lambda v: v).astype(float).isna().sum()
        df.select_dtypes("number").drop(columns=["id"]).copy().rename(columns=str.upper)
        pd.concat([df, df]).drop_duplicates().merge(df[["id"]], on="id", how="left")
        df.groupby("cat")["num"].transform("mean"), df.isin({"cat": ["a"]}), df.apply(lambda r: r["id"], axis=1)


def read_csv_text(path):
    """Whole CSV as text (dtype=str, no NA parsing): -> (DataFrame, None) or (None, problem)."""
    try:
        import pandas as pd
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8",
                         encoding_errors="surrogateescape")
        return df, None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]


def csv_bytes(df, problem=None):
    """A frame read by read_csv_text, written back as CSV bytes (the same text values; one writer
    for every copy a candidate process gets). -> (bytes, None) or (None, problem)"""
    if df is None:
        return None, problem
    try:
        return df.to_csv(index=False).encode("utf-8", "surrogateescape"), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]


def positive_rate(series, positive):
    try:
        s = series.astype(str).str.strip().str.lower()
        if len(s) == 0:
            return None
        r = float((s == str(positive).strip().lower()).mean())
        return min(1.0, max(0.0, r))
    except Exception:
        return None


# ------------------------------------------------------------------------------------------------
# Sanitising what children report (they ran next to candidate code)
# ------------------------------------------------------------------------------------------------

def _str(v, n, nullable=True):
    if v is None:
        return None if nullable else ""
    return str(v)[:n]


def _int(v, nullable=True):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        return None if nullable else 0
    return max(0, int(v))


def _rate(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return min(1.0, max(0.0, float(v)))


EVENT_KINDS = {"fit", "fit_transform", "fit_resample", "split", "train_test_split", "cross_val", "search_fit"}


def _event(e):
    if not isinstance(e, dict) or e.get("kind") not in EVENT_KINDS:
        return None
    return {
        "seq": _int(e.get("seq"), False), "phase": _str(e.get("phase"), 64, False), "kind": e["kind"],
        "estimator": _str(e.get("estimator"), 200, False), "role": _str(e.get("role"), 32, False),
        "nRows": _int(e.get("nRows")), "file": _str(e.get("file"), 500), "line": _int(e.get("line")),
        "code": _str(e.get("code"), 2000), "insideCv": e.get("insideCv") is True,
    }


def _param(v):
    if v is None or isinstance(v, bool) or isinstance(v, str):
        return v if not isinstance(v, str) else v[:200]
    if isinstance(v, (int, float)) and math.isfinite(v):
        return v
    return None


def _split(s):
    if not isinstance(s, dict):
        return None
    folds = []
    for f in (s.get("folds") or [])[:1000]:
        if isinstance(f, dict):
            folds.append({"trainRows": _int(f.get("trainRows"), False),
                          "validationRows": _int(f.get("validationRows"), False),
                          "validationPositiveRate": _rate(f.get("validationPositiveRate")),
                          "trainPositiveRate": _rate(f.get("trainPositiveRate"))})
    params = s.get("params") if isinstance(s.get("params"), dict) else {}
    return {
        "phase": _str(s.get("phase"), 64, False), "splitter": _str(s.get("splitter"), 200, False),
        "params": {str(k)[:64]: _param(v) for k, v in list(params.items())[:32]},
        "stratified": s.get("stratified") is True, "repeated": s.get("repeated") is True, "folds": folds,
        "file": _str(s.get("file"), 500), "line": _int(s.get("line")), "code": _str(s.get("code"), 2000),
    }


def _leak(x):
    if not isinstance(x, dict):
        return None
    return {
        "estimator": _str(x.get("estimator"), 200, False), "method": _str(x.get("method"), 64, False),
        "fitRows": _int(x.get("fitRows"), False), "validationRowsSeen": _int(x.get("validationRowsSeen"), False),
        "validationRowsTotal": _int(x.get("validationRowsTotal"), False),
        "syntheticOrRepeatedValidationRows": _int(x.get("syntheticOrRepeatedValidationRows"), False),
        "splitter": _str(x.get("splitter"), 200), "file": _str(x.get("file"), 500), "line": _int(x.get("line")),
        "code": _str(x.get("code"), 2000), "phase": _str(x.get("phase"), 64, False),
    }


def clean_trace(traces):
    """Merge the traces of several phases into the result.json `trace` object, within schema caps."""
    out = {"events": [], "eventsDropped": 0, "splits": [], "preprocessingLeaks": [], "resamplingLeaks": []}
    for t in traces:
        if not isinstance(t, dict):
            continue
        evs = [e for e in map(_event, t.get("events") or []) if e is not None]
        room = 5000 - len(out["events"])
        out["events"].extend(evs[:room])
        out["eventsDropped"] += max(0, len(evs) - room) + (_int(t.get("eventsDropped"), False) or 0)
        for key, fn, cap in (("splits", _split, 200), ("preprocessingLeaks", _leak, 200),
                             ("resamplingLeaks", _leak, 200)):
            items = [i for i in map(fn, t.get(key) or []) if i is not None]
            out[key].extend(items[: cap - len(out[key])])
    return out


def _finite(o):
    """Replace NaN / inf (not JSON) by None, recursively."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def write_json_atomic(path, doc):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(_finite(doc), fh, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
