"""`run.py predict`: every prediction in a fresh candidate process that can see only its own input.

Checks compare predictions on several inputs: the primary holdout with the as-recorded variant
(leakage.target), with the second model's answers (reproducibility), with its shuffled chunks and
single rows (leakage.transductive); the messy variants must each be answered (robustness). A
candidate must not be able to answer one input from another. So each input is predicted by its own
process, forked by the zygote (it inherits nothing this process knows), under a uid of its own, in
a private folder holding only `holdout.csv` and `model.pkl`: the rows in a fresh secret order, the
id column re-keyed, the same names for every input. Every process of a uid is ended, and what it
left removed, before its answer counts (identity.end_all): nothing survives a process. The inputs
everything is compared with (the primary, the as-recorded variant, the second model's run) are
predicted with no other candidate process alive; the rest run at most two of a kind at a time
(Task.group). predict_proba is called
only where a check reads probabilities (the primary and the as-recorded inputs); their content
tells them apart anyway. The supervisor maps the answers back to the holdout's order.

Order of work (so a timeout loses the least important part): primary variant, the other variants,
model_repeat.pkl on the primary variant, the shuffled chunks, the single rows; then, on a time
budget of its own and with no other candidate process alive, the serving probe (serving.py). The
inputs are prepared while the training container runs; the models arrive with the host's go-ahead.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import secrets
import signal
import time

from . import contract, procs, serving, zygote
from .common import HARNESS_VERSION, csv_bytes, preimport, read_csv_text, warm_up, write_json_atomic

N_CHUNKS = 5
N_SAMPLE_ROWS = 10
INPUT_NAME = "holdout.csv"
MODEL_NAME = "model.pkl"
SERVING_GRACE_S = 30  # beyond the serving budget: importing, loading the model, the batch


def _child(ctx, spec):
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
            path = os.path.join(os.getcwd(), INPUT_NAME)
            msg = {"type": "pred", "labels": None, "probabilities": None, "labelsProblem": None,
                   "probabilitiesProblem": None, "durationMs": 0.0}
            try:
                with open(os.path.join(os.getcwd(), MODEL_NAME), "rb") as fh:
                    model, load_err = pickle.load(fh), None
            except BaseException as exc:
                model, load_err = None, contract.format_exception(exc, ctx["paths"], context="could not load the model")
            t0 = time.monotonic()
            if load_err:
                msg["labelsProblem"] = load_err
                if spec["proba"] and funcs["predict_proba"]:
                    msg["probabilitiesProblem"] = load_err
            elif not funcs["predict"]:
                msg["labelsProblem"] = "module has no function `predict`"
            else:
                try:
                    msg["labels"], msg["labelsProblem"] = contract.normalize_predictions(
                        mod.predict(model, path), spec["rows"], ctx["positive"], ctx["negative"])
                except BaseException as exc:
                    msg["labelsProblem"] = contract.format_exception(exc, ctx["paths"], context="predict raised")
                if spec["proba"] and funcs["predict_proba"]:
                    try:
                        msg["probabilities"], msg["probabilitiesProblem"] = contract.normalize_probabilities(
                            mod.predict_proba(model, path), spec["rows"])
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


def _pset(msg, n, order, want_proba):
    """Validated predictionSet from a child message, mapped back from the order the child saw."""
    labels = msg.get("labels")
    if not (isinstance(labels, list) and len(labels) == n
            and all(type(v) is int and v in (0, 1) for v in labels)):
        labels = None
    probs = msg.get("probabilities") if want_proba else None
    if not (isinstance(probs, list) and len(probs) == n and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in probs)):
        probs = None
    lp = msg.get("labelsProblem")
    pp = msg.get("probabilitiesProblem") if want_proba else None
    if labels is None and not lp:
        lp = "predict output could not be read"
    if probs is None and want_proba and msg.get("probabilities") is not None and not pp:
        pp = "predict_proba output could not be read"
    d = msg.get("durationMs")
    d = float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d) and d >= 0 else 0.0
    return {"labels": _unshuffle(labels, order), "probabilities": _unshuffle([float(p) for p in probs], order) if probs else None,
            "labelsProblem": str(lp)[:4000] if lp else None,
            "probabilitiesProblem": str(pp)[:4000] if pp else None, "durationMs": d}


def _unshuffle(values, order):
    """`values[i]` answers row `order[i]` of the original; -> values in the original order."""
    if values is None:
        return None
    out = [None] * len(values)
    for i, row in enumerate(order):
        out[row] = values[i]
    return out


class Task:
    """One input for one candidate process: what the check calls it, the bytes the process reads,
    and the secret order its rows are in.

    `group`: tasks that may run two at a time because nothing one could learn from the other can
    change a verdict: messy variants (only each one's validity is judged), shuffled chunks (two of
    five chunks are not the whole batch a transductive model would need), single rows. The inputs
    the checks compare everything with (the primary, the as-recorded variant, the second model's
    run) have no group: they always run alone, so no process is alive next to them."""

    def __init__(self, key, model, data, order, want_proba, group=None):
        self.key, self.model, self.data, self.order, self.want_proba = key, model, data, order, want_proba
        self.group = group
        self.alone = False


def _disguise(df, id_column, rng):
    """The rows in a fresh order, the id column re-keyed with fresh ids of the same shape.
    -> (csv bytes, order) where row i of the file is row order[i] of `df`."""
    order = rng.permutation(len(df))
    out = df.iloc[order].reset_index(drop=True)
    if id_column in out.columns:
        out[id_column] = _fresh_ids(out[id_column].tolist())
    data, problem = csv_bytes(out)
    if data is None:
        raise RuntimeError(problem)
    return data, [int(i) for i in order]


def _fresh_ids(ids):
    """Random ids shaped like the originals (digits for digits, letters for letters), all distinct."""
    seen, out = set(), []
    for old in ids:
        for _ in range(100):
            new = "".join(secrets.choice("0123456789") if c.isdigit() else
                          secrets.choice("abcdefghijklmnopqrstuvwxyz") if c.islower() else
                          secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if c.isupper() else c for c in str(old))
            if new not in seen:
                break
        else:
            new = secrets.token_hex(8)
        seen.add(new)
        out.append(new)
    return out


def run(args):
    import numpy as np

    sub = os.path.realpath(args.submission)
    paths = contract.SubmissionPaths(sub)
    result = {"harnessVersion": HARNESS_VERSION, "mode": "predict", "phases": [], "variants": {},
              "repeat": None, "transductive": None, "serving": None}
    out_path = os.path.join(args.out, "predictions.json")
    import_root, sol_path, problem = contract.locate_solution(sub)
    zyg = None
    if import_root is not None:
        preimport(trace=False)
        warm_up()
        ctx = {"sub": sub, "paths": paths, "import_root": import_root, "solution_path": sol_path,
               "positive": args.positive, "negative": args.negative}
        # Forked before this process reads any input: candidate processes inherit none of them.
        zyg = zygote.Zygote({"predict": lambda spec: _child(ctx, spec), "serve": lambda spec: serving.child(ctx, spec)}).start()
    try:
        _predict_all(args, result, import_root, problem, zyg, np)
    finally:
        if zyg is not None:
            zyg.close()
    write_json_atomic(out_path, result)


def _predict_all(args, result, import_root, problem, zyg, np):
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
        df, read_problem = read_csv_text(os.path.join(args.inputs, v + ".csv"))
        frames[v] = df
        if df is None:
            result["variants"][v] = _empty_set(f"the harness could not read {v}.csv: {read_problem}")

    # Probabilities are kept only where a check reads them (the primary and the as-recorded variants).
    with_proba = set(order) if args.proba_variants is None else set(args.proba_variants.split(",")) | {primary}
    tasks, probe, serving_plan, serving_batch = [], None, [], None
    if import_root is not None:
        rng = np.random.default_rng(int.from_bytes(os.urandom(16), "little"))
        for v in order:
            if frames[v] is not None:
                anchor = v in with_proba  # the primary and the as-recorded variant
                tasks.append(Task(f"variant:{v}", MODEL_NAME, *_disguise(frames[v], args.id_column, rng), anchor,
                                  None if anchor else "messy"))
        if primary is not None and frames[primary] is not None:
            tasks.append(Task("repeat", "model_repeat.pkl", *_disguise(frames[primary], args.id_column, rng), False))
            probe = _probe_tasks(frames[primary], args, rng, tasks)
            if args.serving_calls > 0:
                serving_plan = serving.plan(frames[primary], lambda d, r: _disguise(d, args.id_column, r), rng, args.serving_calls)
                serving_batch = (_disguise(frames[primary], args.id_column, rng)[0], len(frames[primary]))

    if args.wait_for:
        go, why = _wait_for(args.wait_for, args.wait_timeout_s)
        if not go:
            _give_up(result, order, why)
            return
    model_path = os.path.join(args.models, MODEL_NAME)
    fatal = problem if import_root is None else (
        None if os.path.isfile(model_path) else "no model.pkl: training did not produce a model")
    if fatal:
        _give_up(result, order, fatal)
        return
    models = {}
    for name in (MODEL_NAME, "model_repeat.pkl"):
        try:
            with open(os.path.join(args.models, name), "rb") as fh:
                models[name] = fh.read()
        except OSError:
            pass
    tasks = [t for t in tasks if t.model in models]
    got, phase = _run_tasks(zyg, tasks, models, args.phase_timeout_s, max(1, min(2, args.jobs)))
    result["phases"].append(phase.record())
    missing_why = phase.error or "not predicted"

    by_key = {t.key: t for t in tasks}
    for v in order:
        if frames[v] is None:
            continue
        t = by_key.get(f"variant:{v}")
        m = got.get(f"variant:{v}")
        result["variants"][v] = _pset(m, len(frames[v]), t.order, t.want_proba) if m else _empty_set(missing_why)
    t = by_key.get("repeat")
    if t is not None:
        m = got.get("repeat")
        result["repeat"] = _pset(m, len(frames[primary]), t.order, False) if m else _empty_set(missing_why)
    if probe is not None:
        result["transductive"] = _assemble_probe(probe, primary, got, by_key, missing_why)
    # Last, on its own time budget: a slow model answers fewer single-row requests, nothing else is lost.
    if serving_plan and MODEL_NAME in models and (result["variants"].get(primary) or {}).get("labels") is not None:
        result["serving"] = serving.probe(zyg, models[MODEL_NAME], serving_plan, serving_batch,
                                          args.serving_budget_s, args.serving_budget_s + SERVING_GRACE_S,
                                          serving.CPU_CLOCKS[args.cpu_clock])


def _give_up(result, order, why):
    for v in order:
        result["variants"].setdefault(v, _empty_set(why))
    result["phases"].append(procs.skipped("predict", why).record())


def _run_tasks(zyg, tasks, models, timeout_s, jobs):
    """One candidate process per task, within one time budget for all of them. A task runs alone,
    except that two tasks of one pairable group may run side by side (see Task.group); one killed
    for memory or pids while it shared the container runs again alone.
    -> ({key: the process's prediction message}, the phase record of them all)."""
    sup = procs.Supervisor(zyg)
    phase = procs.PhaseOutcome("predict")
    phase.status = "ok"
    phase.cpu_ms, phase.max_rss = 0.0, 0
    got = {}
    deadline = time.monotonic() + max(1.0, float(timeout_s))
    state = {"import_error": None}
    pending, running = list(tasks), {}

    def may_start(t):
        if not running:
            return True
        return (len(running) < jobs and t.group is not None and not t.alone
                and all(r.group == t.group and not r.alone for r in running.values()))

    def settle(t, o):
        phase.stdout.feed(o.stdout.text().encode() if o.stdout.total else b"")
        phase.stderr.feed(o.stderr.text().encode() if o.stderr.total else b"")
        phase.duration_ms += o.duration_ms
        phase.cpu_ms += o.cpu_ms or 0.0
        phase.max_rss = max(phase.max_rss, o.max_rss or 0)
        phase.pids_exhausted = phase.pids_exhausted or o.pids_exhausted
        preds = o.find("pred")
        if preds:
            got[t.key] = preds[0]
        errors = o.find("import_error")
        if errors:
            state["import_error"] = str(errors[-1].get("error"))
            phase.status, phase.error = "error", state["import_error"]
        elif o.status != "ok" and phase.status == "ok":
            phase.status, phase.signal, phase.error = o.status, o.signal, f"predicting {t.key.split(':')[0]}: {o.error}"

    while pending or running:
        while pending and not state["import_error"] and may_start(pending[0]):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            t = pending.pop(0)
            files = [(INPUT_NAME, t.data), (MODEL_NAME, models[t.model])]
            run = sup.start("predict", {"kind": "predict", "rows": len(t.order), "proba": t.want_proba}, left,
                            procs.Workspace(files=files))
            if run.finished:
                settle(t, run.outcome)
            else:
                running[run] = t
        if not running:
            break
        for run in sup.wait():
            t = running.pop(run)
            o = run.outcome
            if run.shared and (o.pids_exhausted or (o.status == "killed" and o.signal == signal.SIGKILL)):
                t.alone = True
                pending.insert(0, t)
                continue
            settle(t, o)
    if pending and not state["import_error"]:
        done = len(tasks) - len(pending)
        phase.status = "timeout"
        phase.error = phase.error or f"the prediction time limit of {float(timeout_s):g} s was used up after {done} of {len(tasks)} predictions"
    return got, phase


def _wait_for(path, timeout_s):
    """Waits for the host's go-ahead file: {"proceed": true} once the models are in place.
    -> (True, None) or (False, why). Only this supervisor can read the folder. The file arrives
    through the engine's archive copy, after the models, and is not written atomically: a file
    that is there but not yet a whole document is waited for."""
    deadline = time.monotonic() + max(1.0, float(timeout_s))
    problem = None
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as fh:
                doc = json.loads(fh.read(4096))
            if isinstance(doc, dict) and "proceed" in doc:
                if doc["proceed"] is True:
                    return True, None
                return False, "no trained model was produced, so nothing could be predicted"
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            problem = exc
        time.sleep(0.02)
    if problem is not None:
        return False, f"the go-ahead file could not be read: {problem}"
    return False, f"the trained model did not arrive within {float(timeout_s):g} s"


def _probe_tasks(df, args, rng, tasks):
    """Shuffled chunks (~n/7 rows) and single rows of the primary variant, each a task of its own."""
    n = len(df)
    chunk_size = max(1, math.ceil(n / N_CHUNKS))
    info = {"chunks": [], "rows": [], "chunkSize": chunk_size, "sample": [], "n": n, "problem": None}
    if n == 0:
        info["problem"] = "the primary variant has no rows"
        return info
    perm = rng.permutation(n)
    sample = sorted(int(i) for i in rng.choice(n, size=min(N_SAMPLE_ROWS, n), replace=False))
    info["sample"] = sample
    try:
        for i in range(0, n, chunk_size):
            idx = perm[i:i + chunk_size]
            key = f"chunk:{len(info['chunks'])}"
            data, order = _disguise(df.iloc[idx], args.id_column, rng)
            tasks.append(Task(key, MODEL_NAME, data, order, False, "chunk"))
            info["chunks"].append((key, idx))
        for k, row in enumerate(sample):
            key = f"row:{k}"
            data, order = _disguise(df.iloc[[row]], args.id_column, rng)
            tasks.append(Task(key, MODEL_NAME, data, order, False, "row"))
            info["rows"].append((key, row))
    except Exception as exc:
        info["problem"] = f"the harness could not write the probe files: {exc}"
    return info


def _assemble_probe(probe, primary, got, by_key, missing_why):
    import numpy as np

    problems = []
    n = probe["n"]
    shuffled = None
    if probe["problem"] is None:
        arr = np.full(n, -1, dtype=np.int64)
        ok = True
        k = len(probe["chunks"])
        for i, (key, idx) in enumerate(probe["chunks"]):
            m = got.get(key)
            ps = _pset(m, len(idx), by_key[key].order, False) if m and key in by_key else _empty_set(missing_why)
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
    for key, row in probe["rows"]:
        m = got.get(key)
        ps = _pset(m, 1, [0], False) if m else _empty_set(missing_why)
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
