"""Starts the IPython kernel of an exploratory notebook as the candidate identity it was given.

    python3 -I nb_kernel.py <uid> <connection file>

Started by the supervisor's jupyter_client (root with the supervisor's capabilities), it copies the
connection file (0600, in the supervisor's runtime folder), drops to `uid` for good (no groups, no
capabilities), writes the copy into the kernel's own home and replaces itself with ipykernel. Its stdio goes to
/dev/null: what the notebook prints is not collected. A uid of -1 (host runs, outside a container)
keeps the caller's identity.
"""
import os
import sys


def main(argv):
    uid = int(argv[1])
    conn_src = argv[2]
    home = os.environ.get("HOME") or "/tmp"
    with open(conn_src, "rb") as fh:  # readable by the supervisor's identity only
        conn = fh.read(65536)
    null = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(null, std)
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.geteuid() != uid or os.getegid() != uid:
            os._exit(71)
    conn_path = os.path.join(home, "runtime", "kernel-" + os.path.basename(conn_src))
    fd = os.open(conn_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.write(fd, conn)
    os.close(fd)
    os.execv(sys.executable, [sys.executable, "-s", "-m", "ipykernel_launcher", "-f", conn_path,
                              "--HistoryManager.enabled=False"])


if __name__ == "__main__":
    main(sys.argv)
