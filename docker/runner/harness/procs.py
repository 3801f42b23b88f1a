"""Running candidate code in forked children: identities, output capture, timeouts, resource usage.

Each child calls setsid(), drops to a uid of its own (identity.py) and works in a private folder the
supervisor prepared for it. The supervisor drains its stdout/stderr and its result channel; when the
child exits or its time is up, every process of that uid is ended (detached ones too) and what it
left in shared places is removed, before its result counts. The supervisor reaps the child with
wait4 for CPU time and peak RSS. The child reports through a pipe as JSON lines; the supervisor
treats everything it reads as untrusted. One single-threaded loop (Supervisor) can watch several
children at once; the Scheduler runs named phases side by side on the container's CPUs, never two
phases that `conflicts` says must not meet.
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import selectors
import signal
import sys
import tempfile
import time
import traceback

from . import identity

HEAD_BYTES = 32 * 1024
TAIL_BYTES = 8 * 1024
RESULT_CAP = 64 * 1024 * 1024
# Reads of 64 KiB per pipe when a finished run's pipes are drained: more than a pipe can hold (1 MiB
# at most, /proc/sys/fs/pipe-max-size), so only a writer that outlived the phase can reach the bound.
DRAIN_READS = 32

PIDS_MARKERS = (
    "resource temporarily unavailable", "can't start new thread", "pthread_create failed",
    "fork: retry", "blockingioerror", "cannot allocate memory for thread",
)


class Capture:
    """Keeps the first HEAD_BYTES and the last TAIL_BYTES of a stream and counts all of it."""

    def __init__(self):
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data):
        self.total += len(data)
        room = HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > TAIL_BYTES:
                del self.tail[:-TAIL_BYTES]

    def text(self):
        omitted = self.total - len(self.head) - len(self.tail)
        raw = bytes(self.head)
        if omitted > 0:
            raw += f"\n[... {omitted} bytes omitted ...]\n".encode()
        raw += bytes(self.tail)
        return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class Channel:
    """Child side of the result pipe: one JSON document per line. `outputs`: path -> a descriptor the
    supervisor opened for writing that file (the child cannot open anything the host reads)."""

    def __init__(self, fd, outputs=None):
        self.fd = fd
        self.outputs = outputs or {}

    def send(self, msg):
        data = (json.dumps(msg, allow_nan=False, default=_json_default) + "\n").encode()
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]


def _json_default(o):
    try:
        import numpy as np
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
    except Exception:
        pass
    return str(o)


def is_pids_error(exc):
    if isinstance(exc, BlockingIOError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.EAGAIN:
        return True
    return any(m in str(exc).lower() for m in PIDS_MARKERS[:3])


class PhaseOutcome:
    def __init__(self, name):
        self.name = name
        self.status = "error"
        self.duration_ms = 0.0
        self.cpu_ms = None
        self.max_rss = None
        self.signal = None
        self.error = None
        self.stdout = Capture()
        self.stderr = Capture()
        self.pids_exhausted = False
        self.messages = []
        self.done = None  # the child's final {"type": "done"} message

    def record(self):
        return {
            "name": self.name[:64],
            "status": self.status,
            "durationMs": round(max(0.0, self.duration_ms), 1),
            "cpuMs": None if self.cpu_ms is None else round(max(0.0, self.cpu_ms), 1),
            "maxRssBytes": self.max_rss,
            "signal": self.signal,
            "error": None if self.error is None else str(self.error)[:200_000],
            "stdout": self.stdout.text()[:200_000],
            "stderr": self.stderr.text()[:200_000],
            "stdoutBytes": int(self.stdout.total),
            "stderrBytes": int(self.stderr.total),
            "pidsExhausted": bool(self.pids_exhausted),
        }

    def find(self, mtype):
        return [m for m in self.messages if isinstance(m, dict) and m.get("type") == mtype]


def skipped(name, why):
    o = PhaseOutcome(name)
    o.status = "skipped"
    o.error = why
    return o


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _signame(sig):
    try:
        return signal.Signals(sig).name
    except Exception:
        return f"signal {sig}"


def fresh_random_state():
    """A forked child inherits the parent's global random state, so two unseeded trainings would
    agree by accident. Reseed from the OS like a fresh interpreter, so the reproducibility check
    sees what a candidate's code really does when run twice."""
    import random
    random.seed(os.urandom(32))
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(int.from_bytes(os.urandom(4), "little"))


class Workspace:
    """The private folder a child works in: `path` (None: a fresh random name under the temp folder)
    and the files the supervisor puts there first ([(name, bytes)]). `outputs`: files the supervisor
    opens (truncated) for the child to write through the descriptor it inherits."""

    def __init__(self, path=None, files=(), outputs=(), requests=False, sealed=()):
        self.path = path
        self.files = list(files)
        # Files the child sees by name but can read only once handed over (_Run.unseal).
        self.sealed = list(sealed)
        self.outputs = list(outputs)
        # A pipe from the supervisor to the child's standard input (_Run.request): inputs handed
        # over one at a time, each only after the answer to the one before.
        self.requests = requests


class Supervisor:
    """Supervises several phase children at once from one single-threaded loop (no threads: the
    parent forks, and forking a multi-threaded process is unsafe). Each child keeps its own
    identity, capture, time limit, process group and rusage, as if it ran alone.

    Time limits count the container's time: while k phases run side by side, each one's clock runs
    at 1/k speed, so a phase gets the same share of the container's CPUs within its limit as it
    would alone, and the container's total time stays within the sum of the phases' limits.
    """

    def __init__(self, zygote):
        self.sel = selectors.DefaultSelector()
        self.running = []
        self.zygote = zygote
        self.uids = identity.Pool()
        # The zygote's exit reports wake the loop as the children's pipes do.
        self.sel.register(zygote.sock, selectors.EVENT_READ, None)

    def start(self, name, spec, timeout_s, workspace=None):
        """Starts a candidate process doing `spec` (see zygote.py) in a private `workspace`."""
        run = _Run(name, timeout_s, self.uids.take(), self.zygote)
        if run.fork(spec, workspace or Workspace()):
            for fd in run.sinks:
                self.sel.register(fd, selectors.EVENT_READ, run)
            self._advance(time.monotonic())
            for other in self.running:
                other.shared = True
                run.shared = True
            self.running.append(run)
        return run

    def wait(self):
        """One round of supervision; returns the runs that finished during it."""
        finished = []
        now = time.monotonic()
        live = self._advance(now)
        wait = 0.05
        for run in list(self.running):
            if run.tick(now):
                run.drain(self.sel)
                self._close(run)
                run.finalize()
                self.running.remove(run)
                finished.append(run)
            elif not run.exited and not run.timed_out:
                wait = min(wait, max(0.0, run.limit - run.clock) * max(1, live))
        if finished or not self.running:
            return finished
        for key, _ in self.sel.select(timeout=wait):
            if key.data is None:
                self.zygote.poll()
            else:
                key.data.read(key.fd, self.sel)
        return finished

    def _advance(self, now):
        """Moves every live child's clock on by its share of the time since the last look."""
        live = [r for r in self.running if not r.exited]
        for r in live:
            r.clock += (now - r.seen) / len(live)
            if len(live) > 1:
                r.shared_s += now - r.seen
            r.seen = now
        return len(live)

    def _close(self, run):
        for fd in list(run.open_fds):
            try:
                self.sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            try:
                os.close(fd)
            except OSError:
                pass
        run.open_fds.clear()


class Scheduler:
    """Runs named phases on up to `jobs` concurrent children, in priority order, in `rounds`
    (name -> number): a phase starts only while every running phase is of its round, so a phase
    never meets one of another round, nor any process that met one (processes that run at the same
    time can talk; those that do not, cannot: nothing survives a phase).

    Memory and pids are the container's, shared by the phases that run side by side: a phase
    killed by SIGKILL (the OOM killer) or short of pids while another phase ran next to it is run
    again alone, and only that run counts, so sharing never turns a phase that fits the limits
    into a failure. (Time needs no rerun: see Supervisor.) A withdrawn phase is ended and forgotten.
    """

    def __init__(self, zygote, jobs, priority, rounds=None):
        self.sup = Supervisor(zygote)
        self.jobs = max(1, int(jobs))
        self.priority = priority
        self.rounds = rounds or {}
        self.queue = []  # (name, spec, timeout_s, alone, workspace)
        self.runs = {}   # name -> _Run
        self.ready = []  # (name, outcome) finished without being supervised (fork failed)

    def submitted(self, name):
        return name in self.runs or any(q[0] == name for q in self.queue)

    def submit(self, name, spec, timeout_s, workspace=None):
        self.queue.append((name, spec, timeout_s, False, workspace))

    def withdraw(self, name):
        self.queue = [q for q in self.queue if q[0] != name]
        run = self.runs.get(name)
        if run is not None and not run.cancelled:
            run.cancelled = True
            run.end_processes()

    def busy(self):
        return bool(self.queue or self.runs or self.ready)

    def step(self):
        """Starts what may start, supervises one round; -> [(name, outcome)] of accepted runs."""
        self._launch()
        done, self.ready = self.ready, []
        for run in self.sup.wait():
            self.runs.pop(run.name, None)
            if run.cancelled:
                continue
            again = run.shared and (run.outcome.pids_exhausted or (
                run.outcome.status == "killed" and run.outcome.signal == signal.SIGKILL))
            if again:
                self.queue.append((run.name, run.spec, run.timeout_s, True, run.workspace))
                continue
            done.append((run.name, run.outcome))
        return done

    def _launch(self):
        self.queue.sort(key=lambda q: (not q[3], self.priority.get(q[0], 99)))
        k = 0
        while k < len(self.queue):
            name, spec, timeout_s, alone, workspace = self.queue[k]
            if any(r.alone for r in self.runs.values()) or (alone and self.runs) or len(self.runs) >= self.jobs:
                return
            if any(self.rounds.get(other, 0) != self.rounds.get(name, 0) for other in self.runs):
                k += 1
                continue
            self.queue.pop(k)
            run = self.sup.start(name, spec, timeout_s, workspace)
            run.spec, run.alone, run.workspace = spec, alone, workspace
            if run.finished:
                self.ready.append((name, run.outcome))
            else:
                self.runs[name] = run


class _Run:
    """One forked child, its identity, and what the supervisor has read from it so far."""

    def __init__(self, name, timeout_s, uid, zygote):
        self.name = name
        self.zygote = zygote
        self.exit = None  # (waitstatus, cpu_ms, max_rss) reported by the zygote
        self.timeout_s = timeout_s
        self.uid = uid
        self.outcome = PhaseOutcome(name)
        self.pid = None
        self.cwd = None
        self.sinks = {}
        self.open_fds = set()
        self.pending = bytearray()  # an unfinished line of the result channel
        self.result_bytes = 0
        self.result_over = False
        self.t0 = 0.0
        self.limit = 1.0
        self.clock = 0.0     # seconds of this phase's own time (see Supervisor)
        self.seen = 0.0
        self.shared_s = 0.0  # wall seconds spent next to another phase
        self.exited = False
        self.ended = False   # every process of this run's identity is gone
        self.timed_out = False
        self.drain_until = None
        self.finished = False
        self.cancelled = False
        self.shared = False  # another phase ran in the same container at some point of this one's life
        self.alone = False
        self.spec = None
        self.workspace = None
        self.requests_fd = None
        self.sealed = {}  # name -> descriptor of a file not yet handed over
        # Called as on_message(run, msg, now) for every message of the result channel as it arrives.
        self.on_message = None

    def fork(self, spec, workspace):
        out = self.outcome
        self.cwd = workspace.path or os.path.join(tempfile.gettempdir(), "w-" + secrets.token_hex(8))
        try:
            self.sealed = identity.private_dir(self.cwd, self.uid, workspace.files, workspace.sealed)
        except OSError as exc:
            out.error = f"could not create a working directory for {self.name}: {exc}"
            self.finished = True
            return False
        fds = []
        try:
            out_r, out_w = os.pipe()
            fds += [out_r, out_w]
            err_r, err_w = os.pipe()
            fds += [err_r, err_w]
            res_r, res_w = os.pipe()
            fds += [res_r, res_w]
            req = list(os.pipe()) if workspace.requests else []
            fds += req
            outputs = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600) for p in workspace.outputs]
            fds += outputs
        except OSError as exc:
            return self._start_failed(fds, exc, f"could not create pipes for {self.name}: {exc}")
        self.t0 = time.monotonic()
        given = [out_w, err_w, res_w, *req[:1], *outputs]
        try:
            self.pid = self.zygote.spawn(self.uid, self.cwd, spec, given, workspace.outputs, stdin=bool(req))
        except OSError as exc:
            return self._start_failed(fds, exc, f"could not start the {self.name} process: {exc.strerror or exc}")
        for fd in given:
            os.close(fd)
        if req:
            self.requests_fd = req[1]
            os.set_blocking(self.requests_fd, False)
        self.sinks = {out_r: out.stdout, err_r: out.stderr, res_r: None}
        for fd in self.sinks:
            os.set_blocking(fd, False)
        self.open_fds = set(self.sinks)
        self.limit = max(1.0, float(self.timeout_s))
        self.seen = self.t0
        return True

    def end_processes(self):
        """Ends every process of this run (its identity's, detached ones included) from outside."""
        if self.uid is None:
            if self.pid is not None:
                _killpg(self.pid)
            return
        identity.end_all(self.uid, self.cwd)
        self.ended = True

    def tick(self, now):
        """Notices the exit or the deadline; True once the child is gone and its pipes drained."""
        if not self.exited:
            self.exit = self.zygote.exit_of(self.pid)
            self.exited = self.exit is not None
            if self.exited:
                self.end_processes()  # stray and detached processes (joblib workers...) end with the phase
                # Counted from now, not from `now`: ending the processes can take seconds (end_all
                # sweeps the shared places) and so can another run's tick in the same round.
                self.drain_until = time.monotonic() + 2.0
            elif self.clock >= self.limit and not self.timed_out:
                self.timed_out = True
                self.end_processes()
        return self.exited and (not self.open_fds or now >= self.drain_until)

    def read(self, fd, sel):
        """Takes what `fd` holds now. -> False when it held nothing (and is still open)."""
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            sel.unregister(fd)
            os.close(fd)
            self.open_fds.discard(fd)
            return
        sink = self.sinks[fd]
        if sink is not None:
            sink.feed(data)
        elif not self.result_over:
            self.result_bytes += len(data)
            if self.result_bytes > RESULT_CAP:
                self.result_over = True
                self.pending.clear()
                self.outcome.messages.clear()
                return True
            self.pending += data
            while True:
                nl = self.pending.find(b"\n")
                if nl < 0:
                    break
                line = bytes(self.pending[:nl])
                del self.pending[:nl + 1]
                self._message(line)
        return True

    def drain(self, sel):
        """Reads what the pipes still hold, before they are closed: everything the child wrote before
        it exited is there, however long the supervisor took to come back to them (the drain window
        may have run out while it was ending this or another run's processes). Stops at a pipe that
        is empty but still open: a writer outlived the phase, and what it writes later does not count."""
        for fd in list(self.open_fds):
            for _ in range(DRAIN_READS):
                if fd not in self.open_fds or not self.read(fd, sel):
                    break

    def _message(self, line):
        if not line.strip():
            return
        try:
            msg = json.loads(line)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        self.outcome.messages.append(msg)
        if self.on_message is not None and not self.finished:
            self.on_message(self, msg, time.monotonic())

    def request(self, data):
        """Hands the child one request line on its standard input. The supervisor never blocks on
        it: a request that does not fit the pipe at once (the child stopped reading) is refused.
        -> whether it was written whole."""
        if self.requests_fd is None:
            return False
        try:
            return os.write(self.requests_fd, data) == len(data)
        except OSError:
            return False

    def unseal(self, name):
        """Hands the sealed workspace file `name` over to the child's identity. -> whether it was sealed."""
        fd = self.sealed.pop(name, None)
        if fd is None:
            return False
        identity.unseal(fd, self.uid)
        return True

    def close_requests(self):
        """End of input for the child (it reads end-of-file)."""
        if self.requests_fd is not None:
            try:
                os.close(self.requests_fd)
            except OSError:
                pass
            self.requests_fd = None

    def finalize(self):
        out, name, timeout_s = self.outcome, self.name, self.timeout_s
        status, cpu_ms, max_rss = self.exit
        out.duration_ms = (time.monotonic() - self.t0) * 1000.0
        out.cpu_ms = cpu_ms if isinstance(cpu_ms, (int, float)) else None
        out.max_rss = max_rss if isinstance(max_rss, int) else None
        if not self.result_over:
            self._message(bytes(self.pending))
        self.pending = bytearray()
        dones = out.find("done")
        out.done = dones[-1] if dones else None
        crash = out.find("crash")

        if os.WIFSIGNALED(status):
            out.signal = os.WTERMSIG(status)
        if self.timed_out:
            out.status = "timeout"
            out.signal = out.signal or signal.SIGKILL
            out.error = f"{name} did not finish within {float(timeout_s):g} s and was stopped (SIGKILL)"
            if self.shared_s >= 1.0:
                out.error += (f"; for {self.shared_s:.0f} s of its {out.duration_ms / 1000:.0f} s it ran next to another "
                              "phase, and that time counted at half rate")
        elif out.signal is not None:
            out.status = "killed"
            if out.signal == signal.SIGKILL:
                out.error = (f"{name} was killed by SIGKILL: most likely it ran out of memory "
                             f"(peak RSS {round((out.max_rss or 0) / 2**20)} MiB)")
            else:
                out.error = f"{name} crashed with {_signame(out.signal)}"
        elif out.done is not None:
            ok = out.done.get("ok") is True
            out.status = "ok" if ok else "error"
            err = out.done.get("error")
            out.error = None if ok else (str(err) if err else f"{name} failed")
            out.pids_exhausted = bool(out.done.get("pidsExhausted"))
        elif self.result_over:
            out.status = "error"
            out.error = f"{name} produced an oversized result (more than {RESULT_CAP} bytes); it was discarded"
        elif crash:
            out.status = "error"
            out.error = "grading harness error in the child process:\n" + str(crash[-1].get("error"))[:4000]
        else:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            out.status = "error"
            out.error = f"{name} exited (code {code}) before reporting a result (os._exit / sys.exit in a thread?)"
        low = (out.stderr.text() + "\n" + (out.error or "")).lower()
        if out.status != "ok" and any(m in low for m in PIDS_MARKERS):
            out.pids_exhausted = True
        self._cleanup()
        self.finished = True

    def _start_failed(self, fds, exc, message):
        """The child could not be started (no pipes, no fork): close what was opened, record why. -> False"""
        for fd in fds:
            os.close(fd)
        self.outcome.error = message
        self.outcome.pids_exhausted = is_pids_error(exc)
        self._cleanup()
        self.finished = True
        return False

    def _cleanup(self):
        self.close_requests()
        for name in list(self.sealed):  # the identity's clean-up removes only what it owns
            self.unseal(name)
        if not self.ended:
            self.end_processes()
        if self.uid is None and self.cwd:
            try:
                _rmtree(self.cwd)
            except Exception:
                pass


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
