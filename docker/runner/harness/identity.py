"""Who runs what inside a sandbox container: the trust boundary between the harness and candidate code.

The harness supervisor runs as root inside the container with only CAP_SETUID, CAP_SETGID, CAP_KILL
and CAP_CHOWN (the container's whole capability set; no-new-privileges; read-only root). It alone
can write /out, the folder the host copies back, and read /in, where the host put the data.

Every candidate process (each phase of training, each prediction) is forked from the supervisor and
drops to its own uid, drawn at random from a range no other process uses, before any candidate code
runs. It has no capabilities left, so it cannot signal, trace or read the memory of the supervisor or
of another candidate process, and it cannot write anything the host reads.

When a candidate process has ended (or its time is up), `end_all(uid)` ends every process of that
uid, detached ones included, from outside the candidate's reach: the supervisor stops each of them
and kills them once all are stopped (no new pid needed, so a fork bomb cannot block it); then a
helper takes that uid and calls kill(-1, SIGKILL), which the kernel applies to all of the uid's
processes at once (no fork can slip between), and removes what the uid left in the places
processes share (/tmp, /dev/shm, /dev/mqueue, System V IPC). The supervisor then checks /proc: only when no live
process of that uid remains does it read the process's results. Nothing a phase leaves behind can
reach a later phase or the host.
"""
from __future__ import annotations

import os
import secrets
import signal
import time

UID_LOW = 20000
UID_HIGH = 59999
SHARED_PLACES = ("/tmp", "/dev/shm", "/dev/mqueue")
SETPRIV = "/usr/bin/setpriv"


class IdentityError(RuntimeError):
    """The trust boundary could not be kept (a harness failure, never the candidate's)."""


def supervised():
    """True when this process can give candidate processes identities of their own (root with
    CAP_SETUID/SETGID). Outside a container (host runs of the harness, its tests) it is False and
    candidate processes keep the harness's uid: the boundary is then the host's business."""
    return os.geteuid() == 0


class Pool:
    """Hands out uids at random, never twice in one container, so a process cannot tell from its
    uid which phase or which input it serves, nor in which order it was started."""

    def __init__(self):
        self._used = set()

    def take(self):
        if not supervised():
            return None
        while True:
            uid = UID_LOW + secrets.randbelow(UID_HIGH - UID_LOW + 1)
            if uid not in self._used:
                self._used.add(uid)
                return uid


def become(uid):
    """In a freshly forked child, before any candidate code: drop to `uid` for good."""
    if uid is None:
        return
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getegid() != uid:
        raise IdentityError(f"could not drop to uid {uid}")
    try:  # from root to another uid the kernel clears every capability; make sure of it
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("CapEff:") and int(line.split()[1], 16) != 0:
                    raise IdentityError("capabilities survived the change of uid")
    except OSError:
        pass


def private_dir(path, uid, files=(), sealed=()):
    """A fresh folder owned by `uid` (mode 0700) holding `files` ([(name, bytes)]), written by the
    supervisor. Other candidate identities cannot enter it. `sealed` files are written too but stay
    the supervisor's (root, 0600) until handed over with unseal(): the child sees their names, not
    their content. -> {sealed name: descriptor}"""
    os.makedirs(path, mode=0o700, exist_ok=False)
    kept = {}
    for name, data in [*files, *sealed]:
        fd = os.open(os.path.join(path, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            raise
        if any(name == n for n, _ in sealed):
            kept[name] = fd
            continue
        os.close(fd)
        if uid is not None:
            os.chown(os.path.join(path, name), uid, uid)
    if uid is not None:
        os.chown(path, uid, uid)
    return kept


def unseal(fd, uid):
    """Hands a sealed file (private_dir) to `uid`; closes the descriptor."""
    try:
        if uid is not None:
            os.fchown(fd, uid, uid)
    finally:
        os.close(fd)


def live_processes(uid):
    """Pids of processes of `uid` that are not zombies."""
    return [pid for pid, _state in _processes(uid)]


def _processes(uid):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                state = real = None
                for line in fh:
                    if line.startswith("State:"):
                        state = line.split()[1]
                    elif line.startswith("Uid:"):
                        real = [int(x) for x in line.split()[1:4]]
                        break
        except (OSError, ValueError):
            continue
        if real and uid in real and state != "Z":
            found.append((int(name), state))
    return found


def _stop_then_kill(uid, rounds=500):
    """Ends the uid's processes without a new process of our own (a fork bomb may hold every free
    pid): SIGSTOP each one until all are stopped (a stopped process forks no more), then SIGKILL."""
    for _ in range(rounds):
        procs = _processes(uid)
        if not procs:
            return
        stopped = all(state in ("T", "t") for _pid, state in procs)
        for pid, _state in procs:
            try:
                os.kill(pid, signal.SIGKILL if stopped else signal.SIGSTOP)
            except (ProcessLookupError, PermissionError):
                pass
        if not stopped:
            time.sleep(0.001)


def end_all(uid, scratch=None, attempts=20):
    """Ends every process of `uid` and removes what it left in shared places (and `scratch`).
    -> seconds it took. Raises IdentityError when processes of that uid survive.

    The helper is spawned, not forked (a fork of this large process costs tens of milliseconds):
    setpriv takes the uid, the shell's kill(-1) reaches exactly that uid's processes (not itself),
    then find and ipcrm remove what the uid owns where other processes could find it."""
    if uid is None:
        return 0.0
    t0 = time.monotonic()
    places = " ".join(SHARED_PLACES + ((scratch,) if scratch else ()))
    script = (f"kill -9 -1 2>/dev/null; find {places} -xdev -mindepth 1 -user {int(uid)} -delete 2>/dev/null; "
              "ipcrm -a 2>/dev/null; exit 0")
    argv = ["setpriv", f"--reuid={int(uid)}", f"--regid={int(uid)}", "--clear-groups", "--inh-caps=-all",
            "/bin/sh", "-c", script]
    for _ in range(attempts):
        _stop_then_kill(uid)
        try:
            pid = os.posix_spawn(SETPRIV, argv, {"PATH": "/usr/bin:/bin"})
        except BlockingIOError:  # no pid free right now: the sweep above frees them
            time.sleep(0.05)
            continue
        os.waitpid(pid, 0)
        if not live_processes(uid):
            if scratch:  # emptied by the helper; its parent folder may be the supervisor's
                try:
                    os.rmdir(scratch)
                except OSError:
                    pass
            return time.monotonic() - t0
        time.sleep(0.01)  # processes killed but not yet torn down by the kernel
    raise IdentityError(f"processes of uid {uid} survived {attempts} rounds of SIGKILL: {live_processes(uid)[:5]}")
