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
to each call's wall time the probe records the CPU time the identity's processes used during it
(schedstat): on a busy machine the wall time includes waiting for a CPU, which is not the model's.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import signal
import time

from . import contract, identity, procs

INPUT_NAME = "holdout.csv"
MODEL_NAME = "model.pkl"
BATCH_NAME = "batch.csv"  # in the workspace from the start, readable only once handed over
MAX_REQUEST_BYTES = 4096  # at most PIPE_BUF: a request is written to the pipe whole or not at all
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ns_of(uids):
    """CPU time of every live process of each uid in `uids` (all threads, ns, from the kernel's
    schedstat) plus what their waited-for children used (cutime, cstime; clock ticks), from one look
    at /proc. -> {uid: ns, or None where no process of it was seen}, or None where the kernel does not
    keep schedstat (gVisor)."""
    totals, seen = {}, False
    for uid, pids in identity.live_processes_of(uids).items():
        total, counted = 0, False
        for pid in pids:
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                        total += int(fh.read().split()[0])
                        counted = True
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += (int(fields[13]) + int(fields[14])) * 1_000_000_000 // CLK_TCK
            except (OSError, ValueError, IndexError):
                continue
        totals[uid] = total if counted else None
        seen = seen or counted
    return totals if seen else None


def uid_cpu_ns(uid):
    """cpu_ns_of for one uid. -> ns, or None."""
    return (cpu_ns_of((uid,)) or {}).get(uid)


def call_cpu_ms(before, after, own, lanes):
    """The CPU time a single-row call counts with, from snapshots (cpu_ns_of) of every lane's identity
    taken when the request was handed over and when its answer was read. -> ms, or None when the
    caller's own identity was not seen in both.

    Lanes answer side by side and can talk to each other, so the caller's own CPU time alone would let
    it have another lane do its work unseen. The call therefore counts with at least the mean over the
    lanes of all their CPU time during it: work moved to another lane counts at least half, as a second
    thread of the caller's own would (the host takes the smaller of this and the wall time). With the
    lanes equally busy (each answering its own customers) the mean is the caller's own time; a lane
    that has finished adds nothing."""
    if before is None or after is None or before.get(own) is None or after.get(own) is None:
        return None

    def used(uid):
        a, b = before.get(uid), after.get(uid)
        return max(0, b - a) if a is not None and b is not None else 0  # a lane that ended: no new time

    mine = used(own)
    together = sum(used(uid) for uid in after)
    return round(max(mine, together / max(1, lanes)) / 1e6, 3)


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


def plan(df, disguise, rng, calls, lanes=1):
    """Single-row requests for `calls` warm calls plus one cold call per lane, rows drawn from `df`,
    each re-keyed on its own (disguise). -> [(row index, request bytes)]"""
    n = len(df)
    if n == 0 or calls <= 0:
        return []
    total = calls + max(1, lanes)
    out = []
    for k, row in enumerate(int(i) for i in rng.choice(n, size=total, replace=n < total)):
        data, _order = disguise(df.iloc[[row]], rng)
        line = (json.dumps({"k": k, "csv": data.decode("utf-8")}) + "\n").encode()
        if len(line) <= MAX_REQUEST_BYTES:
            out.append((row, line))
    return out


class _Lane:
    """One serving process and the call it has in flight."""

    def __init__(self, run):
        self.run = run
        self.state = "waiting"  # -> cold (first call) -> ready (cold answered) -> single -> batch / done
        self.k = None           # index into the requests of the call in flight
        self.sent = 0.0
        self.cpu0 = None        # cpu_ns_of every lane's identity when the call was handed over
        self.cold = None


def probe(zyg, model, requests, batch, budget_s, timeout_s, lanes=1):
    """Runs the probe. `requests` from plan(); `batch`: (csv bytes, rows) of the whole primary input.
    Requests stop when `budget_s` (cold start included) has passed (a slow model answers fewer). With `lanes` > 1 that many processes (one per CPU of the container) take the requests from
    one queue side by side, each one at a time; the batch goes to one of them once every single-row
    call is answered. A lane killed for memory or pids while others ran makes the probe run again with
    one lane. -> dict of supervisor-measured results (see harness-output.ts, servingSchema)."""
    t0 = time.monotonic()
    lanes = max(1, int(lanes))
    r = _probe(zyg, model, requests, batch, budget_s, timeout_s, lanes)
    if lanes > 1 and r.pop("crowded"):
        used = time.monotonic() - t0
        r = _probe(zyg, model, requests, batch, max(1.0, budget_s - used), max(1.0, timeout_s - used), 1)
    r.pop("crowded", None)
    return r


def _probe(zyg, model, requests, batch, budget_s, timeout_s, lanes):
    st = {"next": 0, "until": math.inf, "warm": [], "warmCpu": [], "answers": [], "problems": [],
          "batch": None, "batchProblem": None}
    sup = procs.Supervisor(zyg)
    pool = []
    for i in range(lanes):
        sealed = [(BATCH_NAME, batch[0])] if batch is not None and i == 0 else []
        run = sup.start("serving", {"kind": "serve"}, timeout_s,
                        procs.Workspace(files=[(MODEL_NAME, model)], sealed=sealed, requests=True))
        pool.append(_Lane(run))
    uids = [lane.run.uid for lane in pool]

    def send(lane, k, snapshot=None):
        lane.k = k
        lane.cpu0 = snapshot if snapshot is not None else cpu_ns_of(uids)  # the last answer's: no gap between calls
        lane.sent = time.monotonic()
        if lane.run.request(requests[k][1]):
            return True
        st["problems"].append("the serving process stopped reading its requests")
        return False

    def finish(lane):
        lane.state = "done"
        lane.k = None
        lane.run.close_requests()

    def next_single(lane, now, snapshot=None):
        if lane.state in ("ready", "single"):
            k = st["next"]
            if k < len(requests) and now < st["until"]:
                st["next"] += 1
                lane.state = "single"
                if send(lane, k, snapshot):
                    return
            lane.state = "singles_done"
            lane.k = None
        if lane.state == "singles_done" and (batch is None or lane is not pool[0] or lane.run.finished):
            finish(lane)

    def settle(now):
        """Warm calls start once every lane answered its cold call (or is gone); the batch once every
        single-row call is answered."""
        live = [lane for lane in pool if not lane.run.finished and lane.state != "done"]
        if any(lane.state in ("waiting", "cold") for lane in live):
            return
        if st["until"] == math.inf:  # the budget includes a cold start, not a wait for a slower lane
            st["until"] = now + max(0.0, budget_s - max((lane.cold for lane in pool if lane.cold is not None), default=0.0) / 1000.0)
        for lane in live:
            if lane.state == "ready":
                next_single(lane, now)
        if batch is None or any(lane.state == "single" for lane in live):
            return
        first = pool[0]
        if first.state == "singles_done" and not first.run.finished:
            first.state = "batch"
            try:
                first.run.unseal(BATCH_NAME)
                first.sent = time.monotonic()
                if first.run.request((json.dumps({"k": "batch", "batch": BATCH_NAME, "rows": batch[1]}) + "\n").encode()):
                    return
            except OSError as exc:
                st["batchProblem"] = f"the harness could not hand over the batch file: {exc}"
            finish(first)

    def on_message(run, msg, now):
        lane = next(x for x in pool if x.run is run)
        if msg.get("type") == "ready" and lane.state == "waiting":
            if st["next"] >= len(requests):
                finish(lane)
                return
            lane.state = "cold"
            k = st["next"]
            st["next"] += 1
            if not send(lane, k):
                finish(lane)
        elif msg.get("type") != "served":
            return
        elif lane.state == "batch" and msg.get("k") == "batch":
            ms = round((now - lane.sent) * 1000.0, 3)
            st["batch"] = ms if isinstance(msg.get("labels"), int) else None
            st["batchProblem"] = None if st["batch"] is not None else str(msg.get("problem") or "no answer")[:2000]
            finish(lane)
        elif lane.state in ("cold", "single") and lane.k is not None and msg.get("k") == lane.k:
            ms = round((now - lane.sent) * 1000.0, 3)
            cpu1 = cpu_ns_of(uids)
            label = msg.get("labels")
            label = label[0] if isinstance(label, list) and len(label) == 1 and label[0] in (0, 1) else None
            st["answers"].append([requests[lane.k][0], label])
            if label is None and msg.get("problem"):
                st["problems"].append(str(msg["problem"])[:2000])
            lane.k = None
            if lane.state == "cold":
                lane.cold = ms
                lane.state = "ready"  # the warm calls start together (settle)
            else:
                st["warm"].append(ms)
                st["warmCpu"].append(call_cpu_ms(lane.cpu0, cpu1, run.uid, lanes))
                next_single(lane, now, cpu1)
        settle(now)

    for lane in pool:
        lane.run.on_message = on_message
    # Lanes side by side count time at a shared rate (procs.Supervisor): the probe's own deadline
    # keeps the whole of it within `timeout_s` of wall time.
    deadline = time.monotonic() + timeout_s
    while any(not lane.run.finished for lane in pool):
        for _run in sup.wait():
            settle(time.monotonic())  # a lane that ended releases the others from waiting for it
        if time.monotonic() > deadline:
            for lane in pool:
                lane.run.expire()
    return _result(st, pool, budget_s, batch, lanes)


def _result(st, pool, budget_s, batch, lanes):
    outs = [lane.run.outcome for lane in pool]
    colds = [lane.cold for lane in pool if lane.cold is not None]
    problem = None
    if all(lane.state == "waiting" for lane in pool):
        problem = next((o.error for o in outs if o.error), None) or "the serving process never became ready"
    elif any(o.status == "timeout" for o in outs):
        problem = f"the serving process did not finish within {float(pool[0].run.timeout_s):g} s and was stopped"
    elif st["problems"]:
        problem = st["problems"][0]
    cpu = st["warmCpu"]
    rss = [o.max_rss for o in outs if isinstance(o.max_rss, int)]
    return {
        # The slower of the lanes' cold starts: each loaded the model and answered once, side by side.
        "coldStartMs": max(colds) if colds else None,
        "warmMs": st["warm"],
        # On-CPU time of the same calls (call_cpu_ms): the latency without the waiting that other
        # work on the machine causes; empty where the kernel keeps no schedstat.
        "warmCpuMs": cpu if len(cpu) == len(st["warm"]) and all(c is not None for c in cpu) else [],
        "budgetS": float(budget_s),
        "lanes": lanes,
        "answers": st["answers"],
        "batchMs": st["batch"],
        "batchRows": batch[1] if batch is not None else 0,
        "batchProblem": st["batchProblem"],
        "peakRssBytes": max(rss) if rss else None,
        "problem": problem[:4000] if problem else None,
        "crowded": len(pool) > 1 and any(o.pids_exhausted or (o.status == "killed" and o.signal == signal.SIGKILL) for o in outs),
    }
