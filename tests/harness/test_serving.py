"""serving.py: single-row latency timed by the supervisor, one request at a time, the batch file
readable only once handed over, peak memory from the kernel."""
import os
import pickle
import shutil
import tempfile
import time

import numpy as np
import pandas as pd

from _grader_harness import contract, identity, predict_mode, serving, zygote
from conftest import needs_root

SOLUTION = '''
import os, time
import pandas as pd

def train(csv):
    return {}

def predict(model, csv):
    df = pd.read_csv(csv)
    time.sleep(model.get("delay", 0))
    def burn(s):
        end = time.process_time() + s
        while time.process_time() < end:
            pass
    if model.get("offload"):  # the work done by a helper process, waited for
        pid = os.fork()
        if pid == 0:
            burn(model["offload"])
            os._exit(0)
        os.waitpid(pid, 0)
    # A request must come only after the answer to the one before: nothing more is waiting.
    os.set_blocking(0, False)
    try:
        ahead = os.read(0, 65536)
    except BlockingIOError:
        ahead = b""
    os.set_blocking(0, True)
    if ahead:
        raise RuntimeError("saw the next request early")
    if len(df) == 1 and os.path.exists("batch.csv"):
        try:
            open("batch.csv").read()
            raise RuntimeError("read the batch file before it was handed over")
        except PermissionError:
            pass
    return ["yes" if x % 2 else "no" for x in df["x"]]
'''


def _probe(tmp_path, delay, calls=30, budget=20.0, offload=0, timeout=None):
    # Somewhere the candidate identities can read (pytest's own folder is its owner's only).
    sub = tempfile.mkdtemp(prefix="serving-sub-")
    os.chmod(sub, 0o755)
    with open(os.path.join(sub, "solution.py"), "w") as fh:
        fh.write(SOLUTION)
    os.chmod(os.path.join(sub, "solution.py"), 0o644)
    ctx = {"sub": sub, "paths": contract.SubmissionPaths(sub), "import_root": sub,
           "solution_path": "solution.py", "positive": "yes", "negative": "no"}
    df = pd.DataFrame({"id": [f"C{1000 + i}" for i in range(40)], "x": list(range(40))})
    rng = np.random.default_rng(3)
    plan = serving.plan(df, lambda d, r: predict_mode._disguise(d, "id", r), rng, calls)
    batch = (predict_mode._disguise(df, "id", rng)[0], len(df))
    z = zygote.Zygote({"serve": lambda spec: serving.child(ctx, spec)}).start()
    try:
        return df, serving.probe(z, pickle.dumps({"delay": delay, "offload": offload}), plan, batch, budget,
                                 budget + 30 if timeout is None else timeout,
                                 serving.uid_cpu_ns)  # outside a container: no cgroup of its own
    finally:
        z.close()
        shutil.rmtree(sub, ignore_errors=True)


@needs_root
def test_a_fast_model_answers_every_request_and_the_batch(tmp_path):
    df, r = _probe(tmp_path, 0.0)
    assert r["problem"] is None, r["problem"]
    assert len(r["warmMs"]) == 30 and r["coldStartMs"] is not None
    assert len(r["answers"]) == 31
    # Each answer is the model's answer for the row it was given (odd x -> yes).
    assert all(label == int(df["x"][row] % 2 == 1) for row, label in r["answers"])
    assert r["batchMs"] is not None and r["batchRows"] == 40 and r["batchProblem"] is None
    assert r["peakRssBytes"] and r["peakRssBytes"] > 10 * 2**20
    assert len(r["warmCpuMs"]) == 30 and all(c >= 0 for c in r["warmCpuMs"])


@needs_root
def test_a_slow_model_is_timed_by_the_supervisor_and_stopped_at_the_budget(tmp_path):
    _df, r = _probe(tmp_path, 0.15, calls=100, budget=1.0)
    assert r["problem"] is None, r["problem"]
    assert r["warmMs"] and min(r["warmMs"]) >= 150
    # Sleeping is not computing: most of each call's wall time is not CPU time.
    assert len(r["warmCpuMs"]) == len(r["warmMs"])
    assert sorted(r["warmCpuMs"])[len(r["warmCpuMs"]) // 2] < 0.5 * sorted(r["warmMs"])[len(r["warmMs"]) // 2]
    assert len(r["warmMs"]) <= 8  # about 1 s of budget at 0.15 s per call
    assert r["batchMs"] is not None and r["batchMs"] >= 150


@needs_root
def test_cpu_time_spent_in_a_helper_process_counts(tmp_path):
    _df, r = _probe(tmp_path, 0.0, calls=5, offload=0.12)
    assert r["problem"] is None, r["problem"]
    assert len(r["warmCpuMs"]) == 5 and min(r["warmCpuMs"]) >= 100


@needs_root
def test_a_model_that_hangs_is_stopped_at_the_probes_timeout(tmp_path, monkeypatch):
    # The clean-up after each process sweeps the shared places; this machine's /tmp is large.
    monkeypatch.setattr(identity, "SHARED_PLACES", (str(tmp_path),))
    t0 = time.monotonic()
    _df, r = _probe(tmp_path, 60.0, calls=10, budget=1.0, timeout=4.0)
    assert time.monotonic() - t0 < 9.0  # not the 60 s the model sleeps
    assert "did not finish within 4 s" in r["problem"]
    assert r["warmMs"] == [] and r["coldStartMs"] is None



def test_the_cgroup_clock_reads_v2_then_v1_and_never_counts_the_supervisor(tmp_path, monkeypatch):
    v2, v1 = tmp_path / "cpu.stat", tmp_path / "cpuacct.usage"
    v2.write_text("usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n")
    v1.write_text("7000000000\n")
    monkeypatch.setattr(time, "process_time_ns", lambda: 1_000_000_000)
    monkeypatch.setattr(serving, "CGROUP_CPU", ((str(v2), "usage_usec ", 1000), (str(v1), "", 1)))
    assert serving.cgroup_cpu_ns() == 4_000_000_000  # 5 s in the container, 1 s of it the supervisor's
    v2.unlink()
    assert serving.cgroup_cpu_ns() == 6_000_000_000
    v1.write_text("garbled\n")
    assert serving.cgroup_cpu_ns() is None  # an unreadable counter leaves the wall time to judge
    v1.unlink()
    assert serving.cgroup_cpu_ns() is None  # no cgroup files (gVisor)
