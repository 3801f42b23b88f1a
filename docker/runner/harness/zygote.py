"""The clean parent of every candidate process.

A forked child inherits its parent's whole memory. Were candidate processes forked by the supervisor,
a candidate could walk up its own stack or the heap and read what the supervisor knows: which phase
or input this process serves, the other inputs, the order. So the supervisor forks the zygote first,
right after the libraries are imported and before it reads any data or decides anything, and every
candidate process is forked by the zygote from that clean state. The zygote learns only what a
request carries: an identity, a private folder, the descriptors to use and a spec naming what to call
with which path — the same for the runs that must look alike.

Protocol, over a socketpair (the supervisor's end is `Zygote.sock`):
  supervisor -> zygote: one JSON request per message, descriptors attached (SCM_RIGHTS):
      {"uid", "cwd", "spec", "outputs": [path...], "stdin": bool};
      fds = [stdout, stderr, result, (requests,) *outputs]: with "stdin", the read end of the
      supervisor's request pipe becomes the child's standard input (else /dev/null)
  zygote -> supervisor: {"pid": n} or {"error": "..."} in answer, then later, for every child,
      {"exited": pid, "status": waitstatus, "cpuMs": ..., "maxRss": ...}
"""
from __future__ import annotations

import fcntl
import json
import os
import selectors
import signal
import socket
import sys
import traceback

from . import identity

MAX_MSG = 1 << 16
FIRST_FREE_FD = 3  # the child's result channel; its outputs follow


class Zygote:
    """Supervisor side. `builders`: kind -> function(spec) returning the child's body fn(channel)."""

    def __init__(self, builders):
        self.builders = builders
        self.sock = None
        self.pid = None
        self.exits = {}  # pid -> (status, cpu_ms, max_rss) reported, not yet taken
        self._buf = b""

    def start(self):
        """Forks the zygote now: call it before reading any data the candidate must not see."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                parent.close()
                _serve(child, self.builders)
            except BaseException:
                traceback.print_exc()
                code = 70
            finally:
                os._exit(code)
        child.close()
        self.sock, self.pid = parent, pid
        return self

    def spawn(self, uid, cwd, spec, fds, outputs, stdin=False):
        """-> pid of the new candidate process; raises OSError with the zygote's reason."""
        request = json.dumps({"uid": uid, "cwd": cwd, "spec": spec, "outputs": outputs, "stdin": bool(stdin)}).encode()
        socket.send_fds(self.sock, [request], list(fds))
        while True:
            msg = self._receive(block=True)
            if "pid" in msg:
                return int(msg["pid"])
            if "error" in msg:
                raise OSError(msg.get("errno") or 0, str(msg["error"]))

    def poll(self):
        """Takes every exit report waiting on the socket, without blocking."""
        while True:
            msg = self._receive(block=False)
            if msg is None:
                return

    def exit_of(self, pid):
        """-> (waitstatus, cpu_ms, max_rss) once the zygote has reaped `pid`, else None."""
        self.poll()
        return self.exits.pop(pid, None)

    def _receive(self, block):
        self.sock.setblocking(block)
        try:
            data = self.sock.recv(MAX_MSG)
        except BlockingIOError:
            return None
        finally:
            self.sock.setblocking(True)
        if not data:
            raise RuntimeError("the zygote ended unexpectedly")
        msg = json.loads(data)
        if "exited" in msg:
            self.exits[int(msg["exited"])] = (int(msg["status"]), msg.get("cpuMs"), msg.get("maxRss"))
        return msg

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.pid is not None:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None


def _serve(sock, builders):
    """The zygote's loop: fork on request, report exits. Runs as root; never runs candidate code."""
    import gc
    gc.freeze()  # what the libraries allocated stays put: fewer pages copied into every child
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wake-up descriptor is written
    signal.set_wakeup_fd(wake_w)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "request")
    sel.register(wake_r, selectors.EVENT_READ, "child")
    children = set()
    while True:
        for key, _ in sel.select(timeout=0.5 if children else None):
            if key.data == "child":
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                continue
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MSG, 64)
            except OSError:
                return
            if not data:
                return
            _answer(sock, data, fds, builders, children)
        for pid in list(children):
            try:
                got, status, ru = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                children.discard(pid)
                continue
            if got == pid:
                children.discard(pid)
                sock.send(json.dumps({"exited": pid, "status": status,
                                      "cpuMs": (ru.ru_utime + ru.ru_stime) * 1000.0,
                                      "maxRss": int(ru.ru_maxrss) * 1024}).encode())


def _answer(sock, data, fds, builders, children):
    try:
        req = json.loads(data)
        body = builders[req["spec"]["kind"]](req["spec"])
        pid = os.fork()
    except BaseException as exc:
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}", "errno": getattr(exc, "errno", None)}).encode())
        return
    if pid == 0:
        _child(req, fds, body)
    for fd in fds:
        os.close(fd)
    children.add(pid)
    sock.send(json.dumps({"pid": pid}).encode())


def _child(req, fds, body):
    """In the candidate process: own session, fixed descriptors, no capabilities, then the body."""
    from .procs import Channel, fresh_random_state
    code = 70
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        if req.get("stdin"):
            out_w, err_w, res_w, stdin, *outputs = fds
        else:
            out_w, err_w, res_w, *outputs = fds
            stdin = os.open(os.devnull, os.O_RDONLY)
        wanted = [stdin, out_w, err_w, res_w, *outputs]
        # Move every descriptor above the range first, then into place: 0..2, the channel, outputs.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 256) for fd in wanted]
        for target, fd in enumerate(high):
            os.dup2(fd, target, inheritable=False)
        os.closerange(len(high), 1 << 16)
        for fd in (0, 1, 2):
            os.set_inheritable(fd, True)
        identity.become(req["uid"])
        os.chdir(req["cwd"])
        os.environ["TMPDIR"] = req["cwd"]
        import tempfile
        tempfile.tempdir = None
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        fresh_random_state()
        body(Channel(FIRST_FREE_FD, {p: FIRST_FREE_FD + 1 + i for i, p in enumerate(req["outputs"])}))
        code = 0
    except BaseException:
        try:
            Channel(FIRST_FREE_FD).send({"type": "crash", "error": traceback.format_exc()[-4000:]})
        except BaseException:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code)
