"""zygote.py and procs.py: candidate processes forked from a clean parent, under their own uids,
supervised with time limits; phases of different rounds never meet."""
import os
import time

from _grader_harness import identity, procs, zygote
from conftest import needs_root

SECRET = "evaluate_null-secret-held-by-the-supervisor"


def _body(spec):
    def run(ch):
        kind = spec["kind"]
        if kind == "whoami":
            frames, f = [], __import__("sys")._getframe()
            while f is not None:
                frames.extend(repr(v)[:200] for v in f.f_locals.values())
                f = f.f_back
            status = open("/proc/self/status").read()
            cap = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0]
            ch.send({"type": "done", "ok": True, "uid": os.getuid(), "capeff": cap,
                     "sawSecret": any(SECRET in x for x in frames)})
        elif kind == "sleep":
            time.sleep(spec["s"])
            ch.send({"type": "done", "ok": True, "end": time.monotonic()})
    return run


def _zygote():
    return zygote.Zygote({"whoami": _body, "sleep": _body}).start()


def _run(sup, spec, timeout=20):
    run = sup.start("t", spec, timeout)
    while run in sup.running:
        sup.wait()
    return run.outcome


def test_a_child_inherits_nothing_the_supervisor_learnt_after_the_zygote_started():
    z = _zygote()
    try:
        secret = SECRET  # noqa: F841  (in this frame: a child forked from here could walk up to it)
        o = _run(procs.Supervisor(z), {"kind": "whoami"})
        assert o.status == "ok", o.error
        assert o.done["sawSecret"] is False
    finally:
        z.close()


@needs_root
def test_each_child_runs_under_a_uid_of_its_own_without_capabilities():
    z = _zygote()
    try:
        sup = procs.Supervisor(z)
        a, b = _run(sup, {"kind": "whoami"}), _run(sup, {"kind": "whoami"})
        assert a.done["uid"] != b.done["uid"]
        assert identity.UID_LOW <= a.done["uid"] <= identity.UID_HIGH
        assert a.done["capeff"] == "0000000000000000"
    finally:
        z.close()


def test_a_child_over_its_time_is_stopped_and_reported():
    z = _zygote()
    try:
        o = _run(procs.Supervisor(z), {"kind": "sleep", "s": 30}, timeout=1)
        assert o.status == "timeout"
        assert o.duration_ms < 10_000
    finally:
        z.close()


def test_phases_of_different_rounds_never_run_side_by_side():
    z = _zygote()
    try:
        sched = procs.Scheduler(z, 2, {"a": 0, "b": 1, "c": 2}, {"a": 1, "b": 2, "c": 2})
        started = {}
        for name, s in (("a", 0.6), ("b", 0.2), ("c", 0.2)):
            sched.submit(name, {"kind": "sleep", "s": s}, 20)
        done = {}
        t0 = time.monotonic()
        while sched.busy():
            for name, outcome in sched.step():
                done[name] = outcome
            for name, run in sched.runs.items():
                started.setdefault(name, time.monotonic() - t0)
        assert set(done) == {"a", "b", "c"}
        # b and c (round 2) start only after a (round 1) has ended; they may share.
        assert min(started["b"], started["c"]) >= 0.5
    finally:
        z.close()
