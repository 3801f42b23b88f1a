"""identity.py: candidate uids, and ending everything of a uid from outside."""
import os
import signal
import subprocess
import time

from _grader_harness import identity
from conftest import needs_root


def _spawn_as(uid, script):
    return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "/usr/bin/python3", "-c", script])


@needs_root
def test_end_all_ends_detached_processes_and_removes_what_the_uid_left(tmp_path):
    uid, other = identity.Pool().take(), identity.Pool().take()
    while other == uid:
        other = identity.Pool().take()
    marker = f"/tmp/.identity-test-{uid}"
    # A double-forked, setsid'ed process of `uid` that would live for a minute, and a file it leaves.
    p = _spawn_as(uid, f"""
import os, time
open({marker!r}, "w").write("x"); os.chmod({marker!r}, 0o666)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.closerange(0, 64); time.sleep(60)
    os._exit(0)
""")
    p.wait()
    bystander = _spawn_as(other, "import time; time.sleep(60)")
    try:
        deadline = time.monotonic() + 5
        while not identity.live_processes(uid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert identity.live_processes(uid), "the detached process should be running"
        identity.end_all(uid)
        assert identity.live_processes(uid) == []
        assert not os.path.exists(marker)
        assert bystander.poll() is None, "another uid's process must not be touched"
    finally:
        bystander.kill()
        bystander.wait()


@needs_root
def test_private_dir_belongs_to_its_uid_only(tmp_path):
    os.chmod(tmp_path, 0o711)
    uid = identity.Pool().take()
    d = str(tmp_path / "w")
    sealed = identity.private_dir(d, uid, [("data.csv", b"a,b\n1,2\n")], [("later.csv", b"x\n1\n")])
    st = os.stat(d)
    assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o700)
    assert os.stat(os.path.join(d, "data.csv")).st_uid == uid
    other = identity.Pool().take()
    r = subprocess.run(["setpriv", f"--reuid={other}", f"--regid={other}", "--clear-groups", "cat", os.path.join(d, "data.csv")],
                       capture_output=True)
    assert r.returncode != 0
    # A sealed file is there by name but stays the supervisor's until handed over.
    later = os.stat(os.path.join(d, "later.csv"))
    assert (later.st_uid, later.st_mode & 0o777) == (0, 0o600)
    identity.unseal(sealed["later.csv"], uid)
    assert os.stat(os.path.join(d, "later.csv")).st_uid == uid


def test_uids_are_drawn_at_random_and_never_twice():
    pool = identity.Pool()
    if not identity.supervised():
        assert pool.take() is None
        return
    taken = [pool.take() for _ in range(200)]
    assert len(set(taken)) == 200
    assert all(identity.UID_LOW <= u <= identity.UID_HIGH for u in taken)
    assert taken != sorted(taken)


@needs_root
def test_end_all_stops_a_process_tree_that_keeps_forking():
    uid = identity.Pool().take()
    # A tree still growing while it is ended: each process forks 5 children, slowly, 3 levels deep
    # (155 processes at most: bounded, this runs on the host).
    p = _spawn_as(uid, """
import os, time
depth = 0
k = 0
while k < 5:
    time.sleep(0.05)
    if depth < 3 and os.fork() == 0:
        depth += 1
        k = 0
        continue
    k += 1
time.sleep(60)
""")
    try:
        time.sleep(0.4)
        assert identity.live_processes(uid)
        identity.end_all(uid)
        assert identity.live_processes(uid) == []
    finally:
        p.kill()
        p.wait()
