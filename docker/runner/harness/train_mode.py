"""`run.py train`: lint, then train / train_repeat / evaluate / evaluate_null, each in a forked child."""
from __future__ import annotations

import os
import pickle
import sys
import tempfile

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


def _child_call(ctx, phase, traced, name, arg, finish):
    """A forked child that imports solution.py, calls `name(arg)` and reports through `done`.

    `finish(result, done)` turns what the function returned into the child's outcome.
    """
    def run(ch):
        if traced:
            tracer.start(phase, ctx["sub"], ctx["positive"], ctx["target"])
        done = {"type": "done", "ok": False}
        try:
            mod = _child_import(ch, ctx, done)
            if mod is None:
                return
            fn = getattr(mod, name, None)
            if not callable(fn):
                done["error"] = f"module has no function `{name}`"
                return
            try:
                result = fn(arg)
            except BaseException as exc:
                done["error"] = contract.format_exception(exc, ctx["paths"], context=f"{name}() raised")
                done["pidsExhausted"] = procs.is_pids_error(exc)
                return
            finish(result, done)
        finally:
            if traced:
                done["trace"] = tracer.finish()
            ch.send(done)
    return run


def _child_train(ctx, phase, model_name, traced):
    def finish(model, done):
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
    return _child_call(ctx, phase, traced, "train", ctx["train_csv"], finish)


def _child_evaluate(ctx, phase, csv_path, traced):
    def finish(res, done):
        ev, problem = contract.check_evaluate(res)
        done.update(ok=True, evaluate=ev, problem=problem)
    return _child_call(ctx, phase, traced, "evaluate", csv_path, finish)


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

    # The four phases as the serial order would run them: train; train_repeat if train worked;
    # evaluate if the module imported and has it; evaluate_null if evaluate gave a usable result.
    # With jobs > 1 a phase may start before the phase it depends on has finished (evaluate next to
    # train, evaluate_null next to evaluate); its outcome is kept only if the serial order would
    # have run it, so the recorded outcomes are the serial ones, sooner.
    jobs = max(1, min(2, args.jobs))
    serial = {"train": 0, "train_repeat": 1, "evaluate": 2, "evaluate_null": 3}
    parallel = {"train": 0, "evaluate": 1, "evaluate_null": 2, "train_repeat": 3}  # longest first
    sched = procs.Scheduler(jobs, serial if jobs == 1 else parallel)
    children = {
        "train": lambda: _child_train(ctx, "train", "model.pkl", not args.no_trace),
        "train_repeat": lambda: _child_train(ctx, "train_repeat", "model_repeat.pkl", False),
        "evaluate": lambda: _child_evaluate(ctx, "evaluate", args.train, not args.no_trace),
    }
    finished = {}  # name -> outcome of a child that ran to the end (kept only if the serial order runs it)
    final = {}     # name -> the outcome recorded
    state = {"imported": None, "null": None}

    def submit(name):
        if name not in finished and not sched.submitted(name):
            if name == "evaluate_null":
                path, why = state["null"]
                sched.submit(name, _child_evaluate(ctx, "evaluate_null", path, False), timeout)
            else:
                sched.submit(name, children[name](), timeout)

    def settle(name, why):
        """The serial order would not run `name`: record why, forget any run of it."""
        sched.withdraw(name)
        finished.pop(name, None)
        final[name] = procs.skipped(name, why)

    def resolve():
        if "train" not in final:
            if "train" in finished:
                final["train"] = finished.pop("train")
                state["imported"] = note_functions(final["train"])
                take_trace(final["train"])
            else:
                submit("train")
                if jobs > 1:
                    submit("evaluate")
                return
        funcs = result["solution"]["functions"]
        if "train_repeat" not in final:
            if final["train"].status != "ok":
                settle("train_repeat", "skipped: train did not succeed")
            elif "train_repeat" in finished:
                final["train_repeat"] = finished.pop("train_repeat")
            else:
                submit("train_repeat")
        if "evaluate" not in final:
            if not state["imported"]:
                settle("evaluate", "skipped: solution.py could not be imported")
            elif not funcs["evaluate"]:
                settle("evaluate", "skipped: the module has no function `evaluate`")
            elif "evaluate" in finished:
                ev = final["evaluate"] = finished.pop("evaluate")
                take_trace(ev)
                if ev.status == "ok" and ev.done is not None:
                    result["evaluate"] = _valid_eval(ev.done.get("evaluate"))
                    prob = ev.done.get("problem")
                    result["evaluateProblem"] = str(prob)[:4000] if prob else None
                    if result["evaluate"] is None and not result["evaluateProblem"]:
                        result["evaluateProblem"] = "evaluate returned a malformed result"
                else:
                    result["evaluateProblem"] = (ev.error or "evaluate failed")[:4000]
            else:
                submit("evaluate")
        if "evaluate_null" not in final:
            ev = final.get("evaluate")
            if ev is not None and ev.status == "skipped":
                settle("evaluate_null", "skipped: no evaluate")
            elif ev is not None and result["evaluate"] is None:
                settle("evaluate_null", "skipped: evaluate did not return a usable result")
            elif ev is not None or jobs > 1:
                if state["null"] is None:
                    state["null"] = _write_null(train_df, read_problem, args)
                if state["null"][0] is None:
                    if ev is not None:
                        settle("evaluate_null", state["null"][1])
                elif "evaluate_null" in finished:
                    if ev is not None:
                        final["evaluate_null"] = finished.pop("evaluate_null")
                else:
                    submit("evaluate_null")

    while True:
        resolve()
        if len(final) == len(serial):
            break
        if not sched.busy():
            raise RuntimeError(f"phase scheduling stalled with {sorted(final)} decided")
        for name, outcome in sched.step():
            finished[name] = outcome
    while sched.busy():  # withdrawn children still being reaped
        sched.step()

    nul = final["evaluate_null"]
    if nul.status == "ok" and nul.done is not None:
        result["evaluateNull"] = _valid_eval(nul.done.get("evaluate"))
        if result["evaluateNull"] is None:
            nul.status = "error"
            nul.error = "evaluate on the permuted-target copy: " + str(nul.done.get("problem") or "malformed result")
    phases = [final[name] for name in ("train", "train_repeat", "evaluate", "evaluate_null")]
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
    d = os.path.join(tempfile.gettempdir(), "null")
    try:
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, os.path.basename(args.train) or "train.csv")
        df.to_csv(path + ".tmp", index=False, encoding="utf-8", errors="surrogateescape")
        os.replace(path + ".tmp", path)
    except Exception as exc:
        return None, f"skipped: could not write the permuted copy: {exc}"
    return path, None
