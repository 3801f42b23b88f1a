"""Running one grading phase in a forked child: output capture, timeouts, resource usage.

The child calls setsid() (its own session and process group); the parent drains its stdout/stderr
and its result channel concurrently, kills the whole group with SIGKILL on timeout (and after the
child exits, to reap stray grandchildren such as joblib workers), and reaps it with wait4 for CPU
time and peak RSS. The child reports to the parent through a pipe as JSON lines; the parent treats
everything it reads as untrusted.
"""
from __future__ import annotations

import errno
import json
import os
import selectors
import signal
import sys
import tempfile
import time
import traceback

HEAD_BYTES = 32 * 1024
TAIL_BYTES = 8 * 1024
RESULT_CAP = 64 * 1024 * 1024

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
    """Child side of the result pipe: one JSON document per line."""

    def __init__(self, fd):
        self.fd = fd

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


def _fresh_random_state():
    """A forked child inherits the parent's global random state, so two unseeded trainings would
    agree by accident. Reseed from the OS like a fresh interpreter, so the reproducibility check
    sees what a candidate's code really does when run twice."""
    import random
    random.seed(os.urandom(32))
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(int.from_bytes(os.urandom(4), "little"))


def run_phase(name, child_fn, timeout_s, cwd_parent="/tmp"):
    """Fork, run child_fn(channel) in the child, supervise. Returns a PhaseOutcome."""
    out = PhaseOutcome(name)
    try:
        cwd = tempfile.mkdtemp(prefix=f"{name}-", dir=cwd_parent)
    except OSError as exc:
        out.error = f"could not create a working directory for {name}: {exc}"
        return out
    fds = []
    try:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        fds = [out_r, out_w, err_r, err_w, res_r, res_w]
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        out.error = f"could not create pipes for {name}: {exc}"
        out.pids_exhausted = is_pids_error(exc)
        return out
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    t0 = time.monotonic()
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        out.error = f"could not start the {name} process: {type(exc).__name__}: {exc}"
        out.pids_exhausted = is_pids_error(exc)
        return out
    if pid == 0:  # ------------------------------------------------------------------ child
        code = 70
        try:
            os.setsid()
            for fd in (out_r, err_r, res_r):
                os.close(fd)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (devnull, out_w, err_w):
                if fd > 2:
                    os.close(fd)
            os.chdir(cwd)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _fresh_random_state()
            child_fn(Channel(res_w))
            code = 0
        except BaseException:
            try:
                Channel(res_w).send({"type": "crash", "error": traceback.format_exc()[-4000:]})
            except BaseException:
                pass
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            os._exit(code)
    # ----------------------------------------------------------------------------------- parent
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    sel = selectors.DefaultSelector()
    result_buf = bytearray()
    result_over = False
    sinks = {out_r: out.stdout, err_r: out.stderr, res_r: None}
    for fd in sinks:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(sinks)
    deadline = t0 + max(1.0, float(timeout_s))
    exited = False
    timed_out = False
    drain_until = None
    while True:
        now = time.monotonic()
        if not exited:
            try:
                st = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                st = None
                exited = True
            if st is not None and st.si_pid == pid:
                exited = True
            if exited:
                _killpg(pid)  # stray grandchildren (joblib workers...) die with the phase
                drain_until = now + 2.0
            elif now >= deadline and not timed_out:
                timed_out = True
                _killpg(pid)
        if exited and (not open_fds or now >= drain_until):
            break
        wait = 0.05
        if not exited and not timed_out:
            wait = max(0.0, min(wait, deadline - now))
        for key, _ in sel.select(timeout=wait) if open_fds else []:
            fd = key.fd
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(fd)
                os.close(fd)
                open_fds.discard(fd)
                continue
            sink = sinks[fd]
            if sink is not None:
                sink.feed(data)
            elif not result_over:
                result_buf += data
                if len(result_buf) > RESULT_CAP:
                    result_over = True
                    result_buf.clear()
        if not open_fds and not exited:
            time.sleep(0.02)
    for fd in list(open_fds):
        try:
            sel.unregister(fd)
            os.close(fd)
        except OSError:
            pass
    sel.close()
    try:
        _, status, ru = os.wait4(pid, 0)
    except ChildProcessError:
        status, ru = 0, None
    out.duration_ms = (time.monotonic() - t0) * 1000.0
    if ru is not None:
        out.cpu_ms = (ru.ru_utime + ru.ru_stime) * 1000.0
        out.max_rss = int(ru.ru_maxrss) * 1024
    for line in bytes(result_buf).split(b"\n"):
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict):
            out.messages.append(msg)
    dones = out.find("done")
    out.done = dones[-1] if dones else None
    crash = out.find("crash")

    if os.WIFSIGNALED(status):
        out.signal = os.WTERMSIG(status)
    if timed_out:
        out.status = "timeout"
        out.signal = out.signal or signal.SIGKILL
        out.error = f"{name} did not finish within {float(timeout_s):g} s and was stopped (SIGKILL)"
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
    elif result_over:
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
    try:
        _rmtree(cwd)
    except Exception:
        pass
    return out


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
