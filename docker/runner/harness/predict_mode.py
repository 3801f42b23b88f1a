"""`run.py predict`: forked children unpickle the model once each and serve every prediction.

Order of work (so a timeout loses the least important part): primary variant, the other variants,
model_repeat.pkl on the primary variant, the shuffled-chunk probe, the row-by-row probe. Children
take the tasks one at a time, in that order (with --jobs 2, two children share them), and send one
message per prediction, so whatever finished before a timeout or crash is kept.
With --wait-for the harness prepares everything that needs no model first, then waits for the
host's go-ahead (the models are in place), so this container can start next to the training one.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import tempfile
import time

from . import contract, procs
from .common import HARNESS_VERSION, preimport, read_csv_text, write_json_atomic

N_CHUNKS = 7
N_SAMPLE_ROWS = 40


def _child(ctx, tasks):
    def run(ch):
        done = {"type": "done", "ok": False}
        try:
            ch.send({"type": "stage", "stage": "import"})
            try:
                mod = contract.import_solution(ctx["import_root"], ctx["solution_path"])
            except BaseException as exc:
                err = contract.format_exception(exc, ctx["paths"], context="importing solution.py failed")
                ch.send({"type": "import_error", "error": err})
                done.update(error=err, pidsExhausted=procs.is_pids_error(exc))
                return
            funcs = contract.functions_of(mod)
            ch.send({"type": "imported", "functions": funcs})
            predict = getattr(mod, "predict", None) if funcs["predict"] else None
            proba = getattr(mod, "predict_proba", None) if funcs["predict_proba"] else None
            models = {}

            def model(which):
                if which not in models:
                    path = os.path.join(ctx["models"], "model.pkl" if which == "model" else "model_repeat.pkl")
                    try:
                        with open(path, "rb") as fh:
                            models[which] = (pickle.load(fh), None)
                    except BaseException as exc:
                        models[which] = (None, contract.format_exception(
                            exc, ctx["paths"], context=f"could not load {os.path.basename(path)}"))
                return models[which]

            while True:
                i = ch.next_task()  # one at a time from the parent, shared with the other child
                if i is None:
                    break
                key, which, path, n, want_proba = tasks[i]
                msg = {"type": "pred", "key": key, "labels": None, "probabilities": None, "labelsProblem": None,
                       "probabilitiesProblem": None, "durationMs": 0.0}
                m, load_err = model(which)
                t0 = time.monotonic()
                if load_err:
                    msg["labelsProblem"] = load_err
                    if want_proba and proba is not None:
                        msg["probabilitiesProblem"] = load_err
                elif predict is None:
                    msg["labelsProblem"] = "module has no function `predict`"
                else:
                    try:
                        raw = predict(m, path)
                        msg["labels"], msg["labelsProblem"] = contract.normalize_predictions(
                            raw, n, ctx["positive"], ctx["negative"])
                    except BaseException as exc:
                        msg["labelsProblem"] = contract.format_exception(exc, ctx["paths"], context="predict raised")
                    if want_proba and proba is not None:
                        try:
                            raw = proba(m, path)
                            msg["probabilities"], msg["probabilitiesProblem"] = contract.normalize_probabilities(raw, n)
                        except BaseException as exc:
                            msg["probabilitiesProblem"] = contract.format_exception(
                                exc, ctx["paths"], context="predict_proba raised")
                msg["durationMs"] = round((time.monotonic() - t0) * 1000.0, 1)
                ch.send(msg)
            done["ok"] = True
        finally:
            ch.send(done)
    return run


def _empty_set(problem):
    return {"labels": None, "probabilities": None, "labelsProblem": problem[:4000] if problem else None,
            "probabilitiesProblem": None, "durationMs": 0.0}


def _pset(msg, n):
    """Validated predictionSet from a child message."""
    labels = msg.get("labels")
    if not (isinstance(labels, list) and len(labels) == n
            and all(type(v) is int and v in (0, 1) for v in labels)):
        labels = None
    probs = msg.get("probabilities")
    if not (isinstance(probs, list) and len(probs) == n and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in probs)):
        probs = None
    lp = msg.get("labelsProblem")
    pp = msg.get("probabilitiesProblem")
    if labels is None and not lp:
        lp = "predict output could not be read"
    if probs is None and msg.get("probabilities") is not None and not pp:
        pp = "predict_proba output could not be read"
    d = msg.get("durationMs")
    d = float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d) and d >= 0 else 0.0
    return {"labels": labels, "probabilities": [float(p) for p in probs] if probs is not None else None,
            "labelsProblem": str(lp)[:4000] if lp else None,
            "probabilitiesProblem": str(pp)[:4000] if pp else None, "durationMs": d}


def run(args):
    import numpy as np

    sub = os.path.realpath(args.submission)
    paths = contract.SubmissionPaths(sub)
    result = {"harnessVersion": HARNESS_VERSION, "mode": "predict", "phases": [], "variants": {},
              "repeat": None, "transductive": None}
    out_path = os.path.join(args.out, "predictions.json")

    try:
        names = sorted(f[:-4] for f in os.listdir(args.inputs)
                       if f.endswith(".csv") and os.path.isfile(os.path.join(args.inputs, f)))
    except OSError as exc:
        names = []
        result["phases"].append(procs.skipped("predict", f"cannot list the holdout files: {exc}").record())
    primary = args.primary if args.primary in names else None
    order = ([primary] if primary else []) + [v for v in names if v != primary]
    frames = {}
    for v in order:
        df, problem = read_csv_text(os.path.join(args.inputs, v + ".csv"))
        frames[v] = df
        if df is None:
            result["variants"][v] = _empty_set(f"the harness could not read {v}.csv: {problem}")

    import_root, sol_path, problem = contract.locate_solution(sub)
    probe = None
    if import_root is not None and primary is not None and frames.get(primary) is not None:
        probe = _write_probes(frames[primary], primary, args.seed)
    if import_root is not None:
        preimport(trace=False)

    # Started next to the training container, this one has done everything that needs no model
    # (imports, reading the holdout, writing the probes) by the time the host hands the models over.
    if args.wait_for:
        go, why = _wait_for(args.wait_for, args.wait_timeout_s)
        if not go:
            for v in order:
                result["variants"].setdefault(v, _empty_set(why))
            result["phases"].append(procs.skipped("predict", why).record())
            write_json_atomic(out_path, result)
            return

    model_path = os.path.join(args.models, "model.pkl")
    repeat_path = os.path.join(args.models, "model_repeat.pkl")
    fatal = None
    if import_root is None:
        fatal = problem
    elif not os.path.isfile(model_path):
        fatal = "no model.pkl: training did not produce a model"
    if fatal:
        for v in order:
            result["variants"].setdefault(v, _empty_set(fatal))
        result["phases"].append(procs.skipped("predict", fatal).record())
        write_json_atomic(out_path, result)
        return

    # Probabilities only where a check reads them (the primary and the as-recorded variants);
    # every other prediction needs labels only.
    with_proba = set(order) if args.proba_variants is None else set(args.proba_variants.split(",")) | {primary}
    tasks = []
    for v in order:
        if frames[v] is not None:
            tasks.append((f"variant:{v}", "model", os.path.join(args.inputs, v + ".csv"), len(frames[v]), v in with_proba))
    has_repeat = primary is not None and frames.get(primary) is not None and os.path.isfile(repeat_path)
    if has_repeat:
        tasks.append(("repeat", "repeat", os.path.join(args.inputs, primary + ".csv"), len(frames[primary]), False))

    if probe is not None and probe.get("problem") is None:
        for i, (path, idx) in enumerate(probe["chunks"]):
            tasks.append((f"chunk:{i}", "model", path, len(idx), False))
        for k, (path, row) in enumerate(probe["rows"]):
            tasks.append((f"row:{k}", "model", path, 1, False))

    ctx = {"sub": sub, "paths": paths, "import_root": import_root, "solution_path": sol_path,
           "models": args.models, "positive": args.positive, "negative": args.negative}
    # Each child unpickles the models once and asks for tasks one at a time, in the order above;
    # with two jobs, two children share the list, however uneven its items are.
    jobs = max(1, min(2, args.jobs))
    names = ["predict", "predict_2"][:jobs]
    got = {}
    feed = procs.TaskFeed(len(tasks))

    def on_message(run, msg):  # kept as they arrive: a child that dies later keeps its finished work
        if msg.get("type") == "pred" and isinstance(msg.get("key"), str):
            got[msg["key"]] = msg
    feed.on_message = on_message
    sched = procs.Scheduler(jobs, {name: k for k, name in enumerate(names)}, feed)
    for name in names:
        sched.submit(name, _child(ctx, tasks), args.phase_timeout_s)
    outcomes = {}
    while sched.busy():
        for name, outcome in sched.step():
            outcomes[name] = outcome
    for name in names:
        result["phases"].append(outcomes[name].record())

    errors = [str(e.get("error")) for o in outcomes.values() for e in o.find("import_error")]
    ended = [f"{n}: {outcomes[n].status}: {outcomes[n].error}" for n in names if outcomes[n].status != "ok"]
    missing_why = errors[0] if errors else (
        f"not predicted: the predict process ended early ({'; '.join(ended) or 'no result'})")

    for v in order:
        if frames[v] is None:
            continue
        m = got.get(f"variant:{v}")
        result["variants"][v] = _pset(m, len(frames[v])) if m else _empty_set(missing_why)
    if has_repeat:
        m = got.get("repeat")
        result["repeat"] = _pset(m, len(frames[primary])) if m else _empty_set(missing_why)

    if probe is not None:
        result["transductive"] = _assemble_probe(probe, primary, got, missing_why)
    write_json_atomic(out_path, result)


def _wait_for(path, timeout_s):
    """Waits for the host's go-ahead file: {"proceed": true} once the models are in place.
    -> (True, None) or (False, why). The host owns the folder; this side only reads it."""
    deadline = time.monotonic() + max(1.0, float(timeout_s))
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            return False, f"the trained model did not arrive within {float(timeout_s):g} s"
        time.sleep(0.02)
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read(4096) or b"{}")
    except (OSError, ValueError) as exc:
        return False, f"the go-ahead file could not be read: {exc}"
    if isinstance(doc, dict) and doc.get("proceed") is True:
        return True, None
    return False, "no trained model was produced, so nothing could be predicted"


def _write_probes(df, primary, seed):
    """Shuffled chunks (~n/7 rows) and single rows of the primary variant, each as its own CSV with
    the same header and the same file name as the original, in its own folder."""
    import numpy as np
    import shutil

    n = len(df)
    chunk_size = max(1, math.ceil(n / N_CHUNKS))
    info = {"chunks": [], "rows": [], "chunkSize": chunk_size, "sample": [], "n": n, "problem": None}
    if n == 0:
        info["problem"] = "the primary variant has no rows"
        return info
    perm = np.random.default_rng(seed).permutation(n)
    sample = np.sort(np.random.default_rng([seed, 1]).choice(n, size=min(N_SAMPLE_ROWS, n), replace=False))
    info["sample"] = [int(i) for i in sample]
    probe_dir = os.path.join(tempfile.gettempdir(), "probe")
    shutil.rmtree(probe_dir, ignore_errors=True)
    fname = primary + ".csv"
    try:
        for i in range(0, n, chunk_size):
            idx = perm[i:i + chunk_size]
            d = os.path.join(probe_dir, f"c{len(info['chunks'])}")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, fname)
            df.iloc[idx].to_csv(path, index=False, encoding="utf-8", errors="surrogateescape")
            info["chunks"].append((path, idx))
        for k, row in enumerate(info["sample"]):
            d = os.path.join(probe_dir, f"r{k}")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, fname)
            df.iloc[[row]].to_csv(path, index=False, encoding="utf-8", errors="surrogateescape")
            info["rows"].append((path, row))
    except Exception as exc:
        info["problem"] = f"the harness could not write the probe files: {exc}"
    return info


def _assemble_probe(probe, primary, got, missing_why):
    import numpy as np

    problems = []
    n = probe["n"]
    shuffled = None
    if probe["problem"] is None:
        arr = np.full(n, -1, dtype=np.int64)
        ok = True
        k = len(probe["chunks"])
        for i, (_, idx) in enumerate(probe["chunks"]):
            m = got.get(f"chunk:{i}")
            ps = _pset(m, len(idx)) if m else _empty_set(missing_why)
            if ps["labels"] is None:
                ok = False
                problems.append(f"shuffled chunk {i + 1} of {k} ({len(idx)} rows): {ps['labelsProblem']}")
                continue
            arr[idx] = ps["labels"]
        if ok and (arr >= 0).all():
            shuffled = [int(x) for x in arr]
    else:
        problems.append(probe["problem"])
    row_by_row = []
    for k, row in enumerate(probe["sample"]):
        m = got.get(f"row:{k}")
        ps = _pset(m, 1) if m else _empty_set(missing_why)
        if ps["labels"] is None:
            row_by_row.append(None)
            problems.append(f"row {row} predicted alone (1-row file): {ps['labelsProblem']}")
        else:
            row_by_row.append(ps["labels"][0])
    distinct, keys = [], set()
    for p in problems:
        key = re.sub(r"[-+]?\d[\d.e+-]*", "#", p.split(": ", 1)[-1])
        if key not in keys:
            keys.add(key)
            distinct.append(p)
    problem = None
    if problems:
        problem = "\n".join(distinct[:3])
        if len(problems) > len(distinct[:3]):
            problem += f"\n({len(problems)} probe predictions failed in all)"
    return {"variant": primary, "sampleRows": probe["sample"], "rowByRow": row_by_row, "shuffledChunks": shuffled,
            "chunkSize": int(probe["chunkSize"]), "problem": problem[:4000] if problem else None}
