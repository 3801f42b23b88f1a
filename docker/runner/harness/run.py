"""Grading harness entry point (runs inside the sandbox container).

  python3 -I /opt/harness/run.py train --submission /submission --train /in/train.csv --out /out \
      --target churned --positive yes --negative no --seed 42 --phase-timeout-s 600
  python3 -I /opt/harness/run.py predict --submission /submission --models /in/models --inputs /in/holdout \
      --primary prediction_time --id-column customer_id --out /out --target churned --positive yes \
      --negative no --seed 42 --phase-timeout-s 300 --wait-for /in/go-ahead.json

  python3 -I /opt/harness/run.py notebooks --submission /submission --data /in/train.csv --data-at train.csv \
      --out /out --cell-timeout-s 60 --notebook-timeout-s 180 --total-timeout-s 300

train writes /out/result.json (+ model.pkl, model_repeat.pkl); predict writes /out/predictions.json;
notebooks writes /out/notebooks.json. The documents follow services/grading/harness-output.ts
(notebooks.json: services/checks/notebook-runs-output.ts). The process exits 0 whenever it wrote its
JSON, whatever the submission did.

In the sandbox this process is the supervisor: root inside the container with only the capabilities
to give candidate processes identities of their own and to end them (identity.py). It alone can read
/in and write /out; candidate code never runs in it (zygote.py, procs.py).
"""
import argparse
import importlib.util
import os
import sys
import traceback

HERE = os.path.dirname(os.path.realpath(__file__))
PKG = "_grader_harness"


def _load_package():
    # Loaded under a private name, without touching sys.path: a candidate's `lint.py` or `common.py`
    # can neither shadow the harness nor be shadowed by it.
    if PKG in sys.modules:
        return sys.modules[PKG]
    spec = importlib.util.spec_from_file_location(PKG, os.path.join(HERE, "__init__.py"),
                                                  submodule_search_locations=[HERE])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[PKG] = pkg
    spec.loader.exec_module(pkg)
    return pkg


def _parser():
    p = argparse.ArgumentParser(prog="run.py")
    sub = p.add_subparsers(dest="mode", required=True)
    for mode in ("train", "predict"):
        s = sub.add_parser(mode)
        s.add_argument("--submission", required=True)
        s.add_argument("--out", required=True)
        s.add_argument("--target", required=True)
        s.add_argument("--positive", required=True)
        s.add_argument("--negative", required=True)
        s.add_argument("--seed", type=int, default=42)
        s.add_argument("--phase-timeout-s", type=float, default=600.0 if mode == "train" else 300.0)
        s.add_argument("--jobs", type=int, default=1,
                       help="phases run side by side (at most 2); the container's CPU count is the right value")
        if mode == "train":
            s.add_argument("--train", required=True)
            s.add_argument("--secrets", default=None,
                           help="JSON the host wrote for the supervisor alone: {\"nullSeed\": hex} (never on the command "
                                "line: every process can read that)")
            s.add_argument("--no-trace", action="store_true", help="skip runtime tracing (overhead measurements)")
            s.add_argument("--post-outcome", action="append", default=[],
                           help="a column known only after the outcome (repeatable): the lint says where it "
                                "enters the features (lint_target.py)")
        else:
            s.add_argument("--models", required=True)
            s.add_argument("--inputs", required=True)
            s.add_argument("--primary", required=True)
            s.add_argument("--id-column", default="id", help="re-keyed in every input a candidate process sees")
            s.add_argument("--proba-variants", default=None,
                           help="comma-separated variants that also get predict_proba (default: all)")
            s.add_argument("--wait-for", default=None,
                           help="wait for this go-ahead file before loading the models (written by the host)")
            s.add_argument("--wait-timeout-s", type=float, default=3600.0)
            s.add_argument("--serving-calls", type=int, default=200,
                           help="warm single-row predict() calls of the serving probe (0: no probe)")
            s.add_argument("--serving-budget-s", type=float, default=20.0,
                           help="the probe stops handing out single rows after this many seconds")
            s.add_argument("--cpu-clock", choices=("cgroup", "processes"), default="cgroup",
                           help="the serving probe's CPU time: the container's cgroup (a run in its own "
                                "container), or the candidate's live processes (outside a container)")
    s = sub.add_parser("notebooks", help="run the exploratory notebooks top to bottom (notebook_runs.py)")
    s.add_argument("--submission", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--data", required=True, help="the training data (supervisor-only)")
    s.add_argument("--data-at", action="append", default=[],
                   help="where the notebooks find the data, relative to a notebook's folder and to the submission "
                        "root (repeatable)")
    s.add_argument("--cell-timeout-s", type=float, default=60.0)
    s.add_argument("--notebook-timeout-s", type=float, default=180.0)
    s.add_argument("--total-timeout-s", type=float, default=300.0)
    return p


def _fallback(args, exc_text):
    """A harness bug must still leave a valid document behind."""
    _load_package()
    from _grader_harness.common import HARNESS_VERSION, write_json_atomic
    phase = {"name": "harness", "status": "error", "durationMs": 0, "cpuMs": None, "maxRssBytes": None,
             "signal": None, "error": ("grading harness error:\n" + exc_text)[:200_000], "stdout": "",
             "stderr": "", "stdoutBytes": 0, "stderrBytes": 0, "pidsExhausted": False}
    if args.mode == "train":
        doc = {"harnessVersion": HARNESS_VERSION, "mode": "train",
               "solution": {"found": False, "path": None, "importError": None,
                            "functions": {"train": False, "predict": False, "predict_proba": False,
                                          "evaluate": False}},
               "lint": [], "phases": [phase], "evaluate": None, "evaluateProblem": None, "evaluateNull": None,
               "trainPositiveRate": None,
               "trace": {"events": [], "eventsDropped": 0, "splits": [], "preprocessingLeaks": [],
                         "resamplingLeaks": []},
               "models": [m for m in ("model.pkl", "model_repeat.pkl") if os.path.isfile(os.path.join(args.out, m))]}
        name = "result.json"
    elif args.mode == "notebooks":
        doc = {"harnessVersion": HARNESS_VERSION, "mode": "notebooks", "solutionPath": None, "notebooks": [],
               "notRun": [], "limits": None, "error": phase["error"]}
        name = "notebooks.json"
    else:
        doc = {"harnessVersion": HARNESS_VERSION, "mode": "predict", "phases": [phase], "variants": {},
               "repeat": None, "transductive": None, "serving": None}
        name = "predictions.json"
    write_json_atomic(os.path.join(args.out, name), doc)


def main(argv):
    args = _parser().parse_args(argv)
    main_pid = os.getpid()
    try:
        _load_package()
        if args.mode == "train":
            from _grader_harness import train_mode
            train_mode.run(args)
        elif args.mode == "notebooks":
            from _grader_harness import notebook_runs
            notebook_runs.run(args)
        else:
            from _grader_harness import predict_mode
            predict_mode.run(args)
        return 0
    except BaseException:
        if os.getpid() != main_pid:  # never let a child fall through into the parent's code
            os._exit(70)
        text = traceback.format_exc()
        print(text, file=sys.stderr)
        try:
            _fallback(args, text)
            return 0
        except Exception:
            traceback.print_exc()
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
