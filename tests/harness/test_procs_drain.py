"""procs.py: what a child wrote before it exited is read, however long ending its identity takes.

Ending a phase's identity (identity.end_all) sweeps the shared places with find; on a host whose /tmp
holds a few hundred thousand files it took 3-5 s per phase, and the supervisor's loop stands still
meanwhile. The drain window after an exit was counted from the loop's look *before* that sweep, so a
phase that had exited during another phase's sweep was finalized without its pipes ever being read:
"evaluate exited (code 0) before reporting a result" with empty stderr, its result lost."""
import os
import time

from _grader_harness import procs, zygote

SLOW_END_S = 2.5


def _body(spec):
    def run(ch):
        if spec["kind"] == "quiet":
            # Closes its pipes at once (the supervisor reads end-of-file on all three), exits later.
            for fd in (1, 2, ch.fd):
                os.close(fd)
            time.sleep(spec["s"])
        else:
            time.sleep(spec["s"])
            os.write(1, b"last words on stdout\n")
            ch.send({"type": "done", "ok": True, "payload": "x" * 3000})
    return run


def test_a_child_that_exits_while_another_phase_is_being_ended_keeps_its_result(monkeypatch):
    ended = set()
    original = procs._Run.end_processes

    def slow_end(run):  # as identity.end_all was on that host: seconds, during which nothing is read
        if run.name not in ended:
            ended.add(run.name)
            time.sleep(SLOW_END_S)
        original(run)

    monkeypatch.setattr(procs._Run, "end_processes", slow_end)
    z = zygote.Zygote({"quiet": _body, "talk": _body}).start()
    try:
        sup = procs.Supervisor(z)
        # `quiet` exits at 0.5 s and is being ended until ~3 s; `talk` reports and exits at 1.2 s, in
        # the middle of that. `quiet` finishes in the same round in which `talk`'s exit is noticed.
        sup.start("quiet", {"kind": "quiet", "s": 0.5}, 30)
        talk = sup.start("talk", {"kind": "talk", "s": 1.2}, 30)
        t0 = time.monotonic()
        while sup.running and time.monotonic() - t0 < 30:
            sup.wait()
        out = talk.outcome
        assert out.status == "ok", out.error
        assert out.done["payload"] == "x" * 3000
        assert "last words on stdout" in out.stdout.text()
    finally:
        z.close()
