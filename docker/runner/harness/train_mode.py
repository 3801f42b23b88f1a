"""`run.py train`: lint, then train / train_repeat / evaluate / evaluate_null, each in a forked child."""
from __future__ import annotations

import os
import pickle
import sys

from . import contract, lint, procs, tracer
from .common import HARNESS_VERSION, clean_trace, preimport, read_csv_text, write_json_atomic, positive_rate


def _child_import(ch, ctx, done):
    """Import solution.py in the child; report functions or the import error. -> module or None."""
    ch.send({"type": "stage", "stage": "import"})
    try:
        mod = contract.import_solution(ctx["import_root"], ctx["solution_path"])
    except BaseException as exc:
        err = contract.format_exception(exc, ctx["paths"], context="importing solution.py failed")
        ch.send({"type": "import_error", "error": err})
        done.update(error=err, pidsExhausted=procs.is_pids_error(exc))
        return None
    ch.send({"type": "imported", "functions": contract.functions_of(mod)})
    return mod


def _child_train(ctx, phase, model_name, traced):
    def run(ch):
        if traced:
            tracer.start(phase, ctx["sub"], ctx["positive"], ctx["target"])
        done = {"type": "done", "ok": False}
        try:
            mod = _child_import(ch, ctx, done)
            if mod is None:
                return
            fn = getattr(mod, "train", None)
            if not callable(fn):
                done["error"] = "module has no function `train`"
                return
            try:
                model = fn(ctx["train_csv"])
            except BaseException as exc:
                done["error"] = contract.format_exception(exc, ctx["paths"], context="train() raised")
                done["pidsExhausted"] = procs.is_pids_error(exc)
                return
            if model is None:
                done["error"] = "train() returned None; it must return the fitted model"
                return
            try:
                data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:
                done["error"] = contract.format_exception(
                    exc, ctx["paths"], context="train() returned a model that cannot be pickled")
                return
            target = os.path.join(ctx["out"], model_name)
            try:
                with open(target + ".tmp", "wb") as fh:
                    fh.write(data)
                os.replace(target + ".tmp", target)
            except OSError as exc:
                done["error"] = f"could not save the model ({len(data)} bytes): {exc}"
                try:
                    os.unlink(target + ".tmp")
                except OSError:
                    pass
                return
            done.update(ok=True, modelBytes=len(data))
        finally:
            if traced:
                done["trace"] = tracer.finish()
            ch.send(done)
    return run


def _child_evaluate(ctx, phase, csv_path, traced):
    def run(ch):
        if traced:
            tracer.start(phase, ctx["sub"], ctx["positive"], ctx["target"])
        done = {"type": "done", "ok": False}
        try:
            mod = _child_import(ch, ctx, done)
            if mod is None:
                return
            fn = getattr(mod, "evaluate", None)
            if not callable(fn):
                done["error"] = "module has no function `evaluate`"
                return
            try:
                res = fn(csv_path)
            except BaseException as exc:
                done["error"] = contract.format_exception(exc, ctx["paths"], context="evaluate() raised")
                done["pidsExhausted"] = procs.is_pids_error(exc)
                return
            ev, problem = contract.check_evaluate(res)
            done.update(ok=True, evaluate=ev, problem=problem)
        finally:
            if traced:
                done["trace"] = tracer.finish()
            ch.send(done)
    return run


def _valid_eval(ev):
    if not isinstance(ev, dict):
        return None
    metric = ev.get("metric")
    scores = ev.get("foldScores")
    if not isinstance(metric, str) or not isinstance(scores, list) or not scores or len(scores) > 1000:
        return None
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")
               for x in scores):
        return None
    return {"metric": metric[:100], "foldScores": [float(x) for x in scores]}


def run(args):
    sub = os.path.realpath(args.submission)
    out_dir = args.out
    paths = contract.SubmissionPaths(sub)
    result = {
        "harnessVersion": HARNESS_VERSION,
        "mode": "train",
        "solution": {"found": False, "path": None, "importError": None,
                     "functions": {k: False for k in contract.FUNCTIONS}},
        "lint": [],
        "phases": [],
        "evaluate": None,
        "evaluateProblem": None,
        "evaluateNull": None,
        "trainPositiveRate": None,
        "trace": {"events": [], "eventsDropped": 0, "splits": [], "preprocessingLeaks": [], "resamplingLeaks": []},
        "models": [],
    }
    import_root, sol_path, problem = contract.locate_solution(sub)
    result["solution"]["found"] = import_root is not None
    result["solution"]["path"] = sol_path

    try:
        result["lint"] = lint.lint_paths([sub], root=sub)[:500]
    except Exception as exc:  # the lint must never cost the candidate a grade
        print(f"harness: lint failed: {exc!r}", file=sys.stderr)

    train_df, read_problem = read_csv_text(args.train)
    if train_df is not None and args.target in train_df.columns:
        result["trainPositiveRate"] = positive_rate(train_df[args.target], args.positive)

    phases = []
    if import_root is None:
        result["solution"]["importError"] = problem
        for name in ("train", "train_repeat", "evaluate", "evaluate_null"):
            phases.append(procs.skipped(name, problem))
        result["phases"] = [p.record() for p in phases]
        write_json_atomic(os.path.join(out_dir, "result.json"), result)
        return

    preimport(trace=not args.no_trace)
    ctx = {"sub": sub, "paths": paths, "import_root": import_root, "solution_path": sol_path,
           "train_csv": args.train, "out": out_dir, "target": args.target, "positive": args.positive}
    timeout = args.phase_timeout_s
    traces = []

    def note_functions(outcome):
        imp = outcome.find("imported")
        if imp and isinstance(imp[-1].get("functions"), dict):
            funcs = imp[-1]["functions"]
            result["solution"]["functions"] = {k: funcs.get(k) is True for k in contract.FUNCTIONS}
            return True
        err = outcome.find("import_error")
        if err:
            result["solution"]["importError"] = str(err[-1].get("error"))[:200_000]
        elif outcome.status in ("timeout", "killed") and outcome.find("stage"):
            result["solution"]["importError"] = f"importing solution.py did not complete: {outcome.error}"
        return False

    def take_trace(outcome):
        if outcome.done is not None and isinstance(outcome.done.get("trace"), dict):
            traces.append(outcome.done["trace"])

    # train
    train = procs.run_phase("train", _child_train(ctx, "train", "model.pkl", not args.no_trace), timeout)
    phases.append(train)
    imported = note_functions(train)
    take_trace(train)
    funcs = result["solution"]["functions"]

    # train_repeat
    if train.status == "ok":
        rep = procs.run_phase("train_repeat", _child_train(ctx, "train_repeat", "model_repeat.pkl", False), timeout)
    else:
        rep = procs.skipped("train_repeat", "skipped: train did not succeed")
    phases.append(rep)

    # evaluate
    ev_ok = False
    if not imported:
        phases.append(procs.skipped("evaluate", "skipped: solution.py could not be imported"))
    elif not funcs["evaluate"]:
        phases.append(procs.skipped("evaluate", "skipped: the module has no function `evaluate`"))
    else:
        ev = procs.run_phase("evaluate", _child_evaluate(ctx, "evaluate", args.train, not args.no_trace), timeout)
        phases.append(ev)
        take_trace(ev)
        if ev.status == "ok" and ev.done is not None:
            result["evaluate"] = _valid_eval(ev.done.get("evaluate"))
            prob = ev.done.get("problem")
            result["evaluateProblem"] = str(prob)[:4000] if prob else None
            if result["evaluate"] is None and not result["evaluateProblem"]:
                result["evaluateProblem"] = "evaluate returned a malformed result"
            ev_ok = result["evaluate"] is not None
        else:
            result["evaluateProblem"] = (ev.error or "evaluate failed")[:4000]

    # evaluate_null
    if not ev_ok:
        if funcs["evaluate"] and imported:
            phases.append(procs.skipped("evaluate_null", "skipped: evaluate did not return a usable result"))
        else:
            phases.append(procs.skipped("evaluate_null", "skipped: no evaluate"))
    else:
        null_path, why = _write_null(train_df, read_problem, args)
        if null_path is None:
            phases.append(procs.skipped("evaluate_null", why))
        else:
            nul = procs.run_phase("evaluate_null", _child_evaluate(ctx, "evaluate_null", null_path, False), timeout)
            phases.append(nul)
            if nul.status == "ok" and nul.done is not None:
                result["evaluateNull"] = _valid_eval(nul.done.get("evaluate"))
                if result["evaluateNull"] is None:
                    nul.status = "error"
                    nul.error = "evaluate on the permuted-target copy: " + str(
                        nul.done.get("problem") or "malformed result")
    result["phases"] = [p.record() for p in phases]
    result["trace"] = clean_trace(traces)
    result["models"] = [m for m in ("model.pkl", "model_repeat.pkl") if os.path.isfile(os.path.join(out_dir, m))]
    write_json_atomic(os.path.join(out_dir, "result.json"), result)


def _write_null(train_df, read_problem, args):
    """train.csv with the target column permuted (seeded); every other value kept as text."""
    import numpy as np
    if train_df is None:
        return None, f"skipped: could not read train.csv ({read_problem})"
    if args.target not in train_df.columns:
        return None, f"skipped: train.csv has no target column {args.target!r}"
    df = train_df.copy()
    perm = np.random.default_rng(args.seed).permutation(len(df))
    df[args.target] = df[args.target].to_numpy()[perm]
    d = os.path.join("/tmp", "null")
    try:
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, os.path.basename(args.train) or "train.csv")
        df.to_csv(path + ".tmp", index=False, encoding="utf-8", errors="surrogateescape")
        os.replace(path + ".tmp", path)
    except Exception as exc:
        return None, f"skipped: could not write the permuted copy: {exc}"
    return path, None
