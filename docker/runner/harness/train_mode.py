"""`run.py train`: lint, then train / train_repeat / evaluate / evaluate_null, each in a forked child.

Each phase runs as its own identity in a private folder holding its copy of the training data
(procs.py, identity.py). The two runs of evaluate() — on the real data and on the copy with the
target permuted — look the same from inside: the same path, a file written the same way, the same
tracing, a fresh process and folder each, started in an order drawn at random, and never at the same
time (nor train and train_repeat), so neither can ask the other what it saw.
"""
from __future__ import annotations

import json
import os
import pickle
import secrets
import sys
import tempfile

from . import contract, lint, lint_target, notebook, procs, tracer, zygote
from .common import HARNESS_VERSION, clean_trace, csv_bytes, preimport, read_csv_text, warm_up, write_json_atomic, positive_rate

DATA_NAME = "train.csv"
MODELS = {"train": "model.pkl", "train_repeat": "model_repeat.pkl"}


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

    `finish(result, done, ch)` turns what the function returned into the child's outcome. `phase` is
    what the tracer is told: the same for the runs that must look alike.
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
            finish(result, done, ch)
        finally:
            if traced:
                done["trace"] = tracer.finish()
            ch.send(done)
    return run


def _child_train(ctx, spec):
    part = spec["part"]

    def finish(model, done, ch):
        if model is None:
            done["error"] = "train() returned None; it must return the fitted model"
            return
        try:
            data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            done["error"] = contract.format_exception(
                exc, ctx["paths"], context="train() returned a model that cannot be pickled")
            return
        try:  # through the descriptor the supervisor opened: the child cannot open /out itself
            view = memoryview(data)
            while view:
                view = view[os.write(ch.outputs[part], view):]
        except (OSError, KeyError) as exc:
            done["error"] = f"could not save the model ({len(data)} bytes): {exc}"
            return
        done.update(ok=True, modelBytes=len(data))
    return _child_call(ctx, "train", spec["trace"], "train", spec["path"], finish)


def _child_evaluate(ctx, spec):
    def finish(res, done, ch):
        ev, problem = contract.check_evaluate(res)
        done.update(ok=True, evaluate=ev, problem=problem)
    return _child_call(ctx, "evaluate", spec["trace"], "evaluate", spec["path"], finish)


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
    if import_root is not None and sol_path.endswith(".ipynb"):
        result["solution"]["notes"] = notebook.built_notes(os.path.join(import_root, "solution.ipynb"))

    try:
        result["lint"] = lint.lint_paths([sub], root=sub, solution=sol_path)[:500]
    except Exception as exc:  # the lint must never cost the candidate a grade
        print(f"harness: lint failed: {exc!r}", file=sys.stderr)
    if args.post_outcome and sol_path:
        try:
            result["postOutcome"] = lint_target.locate(lint_target.graded_files(sub, sol_path), args.post_outcome,
                                                       args.target)
        except Exception as exc:  # no answer: the check then says the lint could not tell
            print(f"harness: post-outcome lint failed: {exc!r}", file=sys.stderr)

    phases = []
    if import_root is None:
        train_df, _ = read_csv_text(args.train)
        result["trainPositiveRate"] = _positive_rate(train_df, args)
        result["solution"]["importError"] = problem
        for name in ("train", "train_repeat", "evaluate", "evaluate_null"):
            phases.append(procs.skipped(name, problem))
        result["phases"] = [p.record() for p in phases]
        write_json_atomic(os.path.join(out_dir, "result.json"), result)
        return

    preimport(trace=not args.no_trace)
    warm_up()
    ctx = {"sub": sub, "paths": paths, "import_root": import_root, "solution_path": sol_path,
           "target": args.target, "positive": args.positive}
    # Forked before this process reads the data or draws anything: candidate processes inherit
    # nothing of what follows (zygote.py).
    zyg = zygote.Zygote({"train": lambda spec: _child_train(ctx, spec),
                         "evaluate": lambda spec: _child_evaluate(ctx, spec)}).start()
    try:
        _run_phases(args, result, ctx, zyg)
    finally:
        zyg.close()
    write_json_atomic(os.path.join(out_dir, "result.json"), result)


def _positive_rate(train_df, args):
    if train_df is not None and args.target in train_df.columns:
        return positive_rate(train_df[args.target], args.positive)
    return None


def _run_phases(args, result, ctx, zyg):
    out_dir = args.out
    train_df, read_problem = read_csv_text(args.train)
    result["trainPositiveRate"] = _positive_rate(train_df, args)
    # Every phase reads its own copy, written the same way; the runs of a family share one path,
    # the models go to names drawn at random.
    base = os.path.join(tempfile.gettempdir(), "run-" + secrets.token_hex(6))
    os.makedirs(base, mode=0o711)
    homes = {"train": os.path.join(base, "train"), "evaluate": os.path.join(base, "evaluate")}
    real, real_problem = csv_bytes(train_df, read_problem)
    null, null_problem = _null_copy(train_df, read_problem, args)
    data = {"train": real, "train_repeat": real, "evaluate": real, "evaluate_null": null}
    parts = {phase: os.path.join(out_dir, ".part-" + secrets.token_hex(8)) for phase in MODELS}
    trace = not args.no_trace

    def spec(phase):
        family = "train" if phase in MODELS else "evaluate"
        s = {"kind": family, "path": os.path.join(homes[family], DATA_NAME), "trace": trace}
        if phase in MODELS:
            s["part"] = parts[phase]
        return s

    def workspace(phase):
        family = "train" if phase in MODELS else "evaluate"
        return procs.Workspace(homes[family], [(DATA_NAME, data[phase])] if data[phase] is not None else [],
                               [parts[phase]] if phase in MODELS else [])

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
    # A phase may start before the phase it depends on has finished (evaluate next to train, the
    # two evaluate runs in either order); its outcome is kept only if the serial order would have
    # run it, so the recorded outcomes are the serial ones, sooner. Which evaluate run goes first is
    # drawn at random, so the order says nothing about which one is the permuted copy.
    jobs = max(1, min(2, args.jobs))
    evals = ["evaluate", "evaluate_null"]
    if secrets.randbelow(2):
        evals.reverse()
    # Two rounds, each a training and an evaluation side by side; nothing of round 1 is alive when
    # round 2 starts, so train_repeat cannot be handed train's model, nor one evaluate run told
    # about the other.
    priority = {"train": 0, evals[0]: 1, "train_repeat": 2, evals[1]: 3}
    rounds = {"train": 1, evals[0]: 1, "train_repeat": 2, evals[1]: 2}
    sched = procs.Scheduler(zyg, jobs, priority, rounds)
    finished = {}  # name -> outcome of a child that ran to the end (kept only if the serial order runs it)
    final = {}     # name -> the outcome recorded
    state = {"imported": None}

    def submit(name):
        if name not in finished and not sched.submitted(name):
            sched.submit(name, spec(name), timeout, workspace(name))

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
                    submit(evals[0])
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
            elif real is None:
                settle("evaluate", f"skipped: {real_problem}")
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
            elif null is None:
                if ev is not None:
                    settle("evaluate_null", null_problem)
            elif "evaluate_null" in finished:
                if ev is not None:
                    final["evaluate_null"] = finished.pop("evaluate_null")
            elif state["imported"] and funcs["evaluate"]:
                submit("evaluate_null")

    while True:
        resolve()
        if len(final) == len(priority):
            break
        if not sched.busy():
            raise RuntimeError(f"phase scheduling stalled with {sorted(final)} decided")
        for name, outcome in sched.step():
            finished[name] = outcome
    while sched.busy():  # withdrawn children still being ended
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
    # Every candidate process is gone by now: the models are what their phases wrote, nothing later.
    for phase, name in MODELS.items():
        if final[phase].status == "ok":
            os.replace(parts[phase], os.path.join(out_dir, name))
        elif os.path.exists(parts[phase]):
            os.unlink(parts[phase])
    result["models"] = [m for m in MODELS.values() if os.path.isfile(os.path.join(out_dir, m))]


def _null_copy(train_df, read_problem, args):
    """train.csv with the target column permuted, written like the real copy. -> (bytes, None) or (None, why)
    The permutation is secret — not the assessment's public seed, or it would identify the copy — but
    fixed for a dataset when the host gives a seed, so the same submission gets the same verdict."""
    import numpy as np
    if train_df is None:
        return None, f"skipped: could not read train.csv ({read_problem})"
    if args.target not in train_df.columns:
        return None, f"skipped: train.csv has no target column {args.target!r}"
    df = train_df.copy()
    perm = np.random.default_rng(_null_seed(args)).permutation(len(df))
    df[args.target] = df[args.target].to_numpy()[perm]
    data, problem = csv_bytes(df, None)
    return data, (f"skipped: could not write the permuted copy: {problem}" if problem else None)


def _null_seed(args):
    try:
        with open(args.secrets, "rb") as fh:
            return int(json.loads(fh.read(4096))["nullSeed"], 16)
    except (TypeError, OSError, ValueError, KeyError):
        return int.from_bytes(os.urandom(16), "little")
