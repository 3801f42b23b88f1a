"""The serving probe of `run.py predict`: the trained model answering one customer at a time.

A production scoring service gets one row per request. This probe measures what that costs with the
contract's own `predict(model, csv)`: a fresh candidate process (forked by the zygote, its own uid,
nothing else alive) loads model.pkl when the first request arrives, and the supervisor hands it one
single-row file at a time on its standard input, each only after the answer to the one before. The
times are the supervisor's own clock from handing a request over to reading the answer, so the
candidate cannot report a number, cannot see the next row before answering the current one, and an
answer given before the work is done has to be right to count (answers are compared with the
whole-file predictions of the same rows). The first request includes loading the model (cold
start); the rest are warm. Last, the whole primary holdout is given as one file (batch throughput): it lies in the process's
folder from the start, but stays the supervisor's until it is handed over with the request.
The process's peak memory comes from the kernel (the zygote's wait4), not from the candidate. Next
to each call's wall time the probe records the CPU time used during it: on a busy machine the wall
time includes waiting for a CPU, which is not the model's. In a container that is the container's
own cgroup counter less the supervisor's own CPU: everything the candidate runs is in it, threads
and processes that ended during the call included (a thread, or a grandchild handed to PID 1, takes
its CPU out of any per-process count; the cgroup keeps it). A count can only be too high, which
leaves the wall time to judge.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import time

from . import contract, identity, procs

INPUT_NAME = "holdout.csv"
MODEL_NAME = "model.pkl"
BATCH_NAME = "batch.csv"  # in the workspace from the start, readable only once handed over
MAX_REQUEST_BYTES = 4096  # at most PIPE_BUF: a request is written to the pipe whole or not at all
CLK_TCK = os.sysconf("SC_CLK_TCK")


# The container's CPU counter: cgroup v2 (microseconds), then v1's cpuacct (nanoseconds).
CGROUP_CPU = (("/sys/fs/cgroup/cpu.stat", "usage_usec ", 1000),
              ("/sys/fs/cgroup/cpuacct/cpuacct.usage", "", 1),
              ("/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage", "", 1))


def cgroup_cpu_ns(_uid=None):
    """CPU time of everything in this container's cgroup, the dead included, less this process's own
    (ns). Only for a run in its own container (run.py --cpu-clock cgroup): elsewhere the file is the
    machine's. None where there is no such counter (gVisor has no cgroup files)."""
    for path, key, scale in CGROUP_CPU:
        try:
            with open(path) as fh:
                text = fh.read()
        except OSError:
            continue
        try:
            if key:
                value = next(int(line[len(key):]) for line in text.splitlines() if line.startswith(key))
            else:
                value = int(text.strip())
        except (StopIteration, ValueError):
            return None
        return max(0, value * scale - time.process_time_ns())
    return None


def uid_cpu_ns(uid):
    """CPU time of every live process of `uid` (all threads, ns, from the kernel's schedstat) plus
    what their waited-for children used (cutime, cstime; clock ticks), from one look at /proc. None
    where the kernel does not keep schedstat (gVisor). Not proof: a thread or an orphaned grandchild
    that ends during a call takes its CPU with it; for runs outside a container (the host sandbox)."""
    total, seen = 0, False
    for pid in identity.live_processes(uid):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    total += int(fh.read().split()[0])
                    seen = True
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[13]) + int(fields[14])) * 1_000_000_000 // CLK_TCK
        except (OSError, ValueError, IndexError):
            continue
    return total if seen else None


def child(ctx, spec):
    """The candidate process: answers requests read from standard input until end of input."""
    def run(ch):
        done = {"type": "done", "ok": False}
        try:
            try:
                mod = contract.import_solution(ctx["import_root"], ctx["solution_path"])
            except BaseException as exc:
                err = contract.format_exception(exc, ctx["paths"], context="importing solution.py failed")
                ch.send({"type": "import_error", "error": err})
                done.update(error=err, pidsExhausted=procs.is_pids_error(exc))
                return
            if not contract.functions_of(mod)["predict"]:
                done["error"] = "module has no function `predict`"
                return
            requests = open(0, "rb", closefd=False)
            ch.send({"type": "ready"})
            model, load_err = None, None
            for line in iter(requests.readline, b""):
                req = json.loads(line)
                if model is None and load_err is None:
                    try:
                        with open(os.path.join(os.getcwd(), MODEL_NAME), "rb") as fh:
                            model = pickle.load(fh)
                    except BaseException as exc:
                        load_err = contract.format_exception(exc, ctx["paths"], context="could not load the model")
                ch.send(_answer(mod, model, load_err, req, ctx))
            done["ok"] = True
        finally:
            ch.send(done)
    return run


def _answer(mod, model, load_err, req, ctx):
    msg = {"type": "served", "k": req.get("k"), "labels": None, "problem": load_err}
    if load_err:
        return msg
    if "batch" in req:
        path = os.path.join(os.getcwd(), str(req["batch"]))
        rows = int(req["rows"])
    else:
        path = os.path.join(os.getcwd(), INPUT_NAME)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(req["csv"])
        rows = 1
    try:
        labels, problem = contract.normalize_predictions(mod.predict(model, path), rows, ctx["positive"], ctx["negative"])
    except BaseException as exc:
        labels, problem = None, contract.format_exception(exc, ctx["paths"], context="predict raised")
    msg["problem"] = problem
    if labels is not None and rows == 1:
        msg["labels"] = labels
    elif labels is not None:
        msg["labels"] = len(labels)  # the batch: only whether it answered every row matters here
    return msg


def plan(df, disguise, rng, calls):
    """Single-row requests for `calls` warm calls plus the cold one, rows drawn from `df`, each
    re-keyed on its own (disguise). -> [(row index, request bytes)]"""
    n = len(df)
    if n == 0 or calls <= 0:
        return []
    out = []
    for k, row in enumerate(int(i) for i in rng.choice(n, size=calls + 1, replace=n < calls + 1)):
        data, _order = disguise(df.iloc[[row]], rng)
        line = (json.dumps({"k": k, "csv": data.decode("utf-8")}) + "\n").encode()
        if len(line) <= MAX_REQUEST_BYTES:
            out.append((row, line))
    return out


CPU_CLOCKS = {"cgroup": cgroup_cpu_ns, "processes": uid_cpu_ns}


def probe(zyg, model, requests, batch, budget_s, timeout_s, cpu_clock):
    """Runs the probe. `requests` from plan(); `batch`: (csv bytes, rows) of the whole primary input.
    `cpu_clock(uid)` -> ns or None: one of CPU_CLOCKS.
    Requests stop when `budget_s` (cold start included) has passed (a slow model answers fewer).
    -> dict of supervisor-measured results (see harness-output.ts, servingSchema)."""
    st = {"state": "waiting", "next": 0, "k": None, "sent": 0.0, "cpu0": None, "until": math.inf, "cold": None,
          "warm": [], "warmCpu": [], "answers": [], "problems": [], "batch": None, "batchProblem": None}
    sup = procs.Supervisor(zyg)
    sealed = [(BATCH_NAME, batch[0])] if batch is not None else []
    run = sup.start("serving", {"kind": "serve"}, timeout_s,
                    procs.Workspace(files=[(MODEL_NAME, model)], sealed=sealed, requests=True))

    def send(k):
        st["next"] = k + 1
        st["k"] = k
        st["sent"] = time.monotonic()
        if run.request(requests[k][1]):
            return True
        st["problems"].append("the serving process stopped reading its requests")
        return False

    def finish():
        st["state"] = "done"
        run.close_requests()

    def next_call(now):
        """The next warm call while the budget lasts; after the last one the batch, then end of input."""
        k = st["next"]
        if k < len(requests) and now < st["until"] and send(k):
            return
        if batch is not None and not run.finished:
            st["state"] = "batch"
            try:
                run.unseal(BATCH_NAME)
                st["sent"] = time.monotonic()
                if run.request((json.dumps({"k": "batch", "batch": BATCH_NAME, "rows": batch[1]}) + "\n").encode()):
                    return
            except OSError as exc:
                st["batchProblem"] = f"the harness could not hand over the batch file: {exc}"
        finish()

    def on_message(run, msg, now):
        if msg.get("type") == "ready" and st["state"] == "waiting":
            st["state"] = "single"
            if not requests or not send(0):  # the cold call: loading the model and the first answer
                finish()
        elif msg.get("type") != "served":
            return
        elif st["state"] == "batch" and msg.get("k") == "batch":
            ms = round((now - st["sent"]) * 1000.0, 3)
            st["batch"] = ms if isinstance(msg.get("labels"), int) else None
            st["batchProblem"] = None if st["batch"] is not None else str(msg.get("problem") or "no answer")[:2000]
            finish()
        elif st["state"] == "single" and msg.get("k") == st["k"]:
            ms = round((now - st["sent"]) * 1000.0, 3)
            cpu1 = cpu_clock(run.uid)
            label = msg.get("labels")
            label = label[0] if isinstance(label, list) and len(label) == 1 and label[0] in (0, 1) else None
            st["answers"].append([requests[st["k"]][0], label])
            if label is None and msg.get("problem"):
                st["problems"].append(str(msg["problem"])[:2000])
            if st["k"] == 0:
                st["cold"] = ms
                st["until"] = now + max(0.0, budget_s - ms / 1000.0)  # the budget includes the cold start
            else:
                st["warm"].append(ms)
                st["warmCpu"].append(None if st["cpu0"] is None or cpu1 is None else round(max(0, cpu1 - st["cpu0"]) / 1e6, 3))
            st["cpu0"] = cpu1  # this answer's look at /proc starts the next call: one look per call
            next_call(now)

    run.on_message = on_message
    while not run.finished:
        sup.wait()
    o = run.outcome
    problem = None
    if st["state"] == "waiting":
        problem = o.error or "the serving process never became ready"
    elif o.status == "timeout":
        problem = f"the serving process did not finish within {float(timeout_s):g} s and was stopped"
    elif st["problems"]:
        problem = st["problems"][0]
    cpu = st["warmCpu"]
    return {
        "coldStartMs": st["cold"],
        "warmMs": st["warm"],
        # On-CPU time of the same calls (see cpu_clock): the latency without the waiting that other
        # work on the machine causes; empty where there is no counter (gVisor).
        "warmCpuMs": cpu if len(cpu) == len(st["warm"]) and all(c is not None for c in cpu) else [],
        "budgetS": float(budget_s),
        "answers": st["answers"],
        "batchMs": st["batch"],
        "batchRows": batch[1] if batch is not None else 0,
        "batchProblem": st["batchProblem"],
        "peakRssBytes": o.max_rss,
        "problem": problem[:4000] if problem else None,
    }
