"""`run.py notebooks`: the submission's exploratory notebooks executed top to bottom (the optional
check reproducibility.notebook_runs), in a container of their own after training and prediction.

Every `.ipynb` other than the graded solution notebook (at most MAX_NOTEBOOKS, in path order) is read
with nbformat under the limits of notebook.py (a notebook that cannot be read is a result, never a
crash) and run with nbclient on an IPython kernel (Debian's python3-nbclient, python3-ipykernel):
- in a fresh copy of the submission, with the training data at the paths the brief names, relative
  to the notebook's folder and to the submission's root (the host passes them: --data-at);
- the kernel runs under a uid of its own (identity.py), launched through nb_kernel.py, with its own
  writable home, IPython and Jupyter runtime folders; the supervisor (this process) drives it over
  loopback ZeroMQ and alone writes /out; every process of that uid is ended afterwards;
- each cell has a time limit (nbclient's `timeout`), each notebook a total one (a timer ends the
  kernel), and all of them together the run's budget; cell outputs are dropped as they arrive (the
  result needs only which cell failed and why), and the texts recorded are truncated.

Cells are numbered as notebook.py numbers them: from 1, markdown cells included.
"""
from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import sys
import threading
import time

from . import contract, identity, notebook
from .common import HARNESS_VERSION, write_json_atomic

MAX_NOTEBOOKS = 5
KERNEL_NAME = "grader-python"
KERNEL_LAUNCHER = os.path.join(os.path.dirname(os.path.realpath(__file__)), "nb_kernel.py")
TEXT_MAX = 1000


def find_notebooks(sub, solution_rel):
    """Exploratory notebooks: every .ipynb under the submission but the solution notebook, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(sub):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in contract.SKIP_DIRS)
        for name in filenames:
            if not name.endswith(".ipynb") or name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, sub).replace(os.sep, "/")
            if rel != solution_rel and os.path.isfile(full) and not os.path.islink(full):
                found.append(rel)
    return sorted(found)


def _cut(text, n=TEXT_MAX):
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _load(path, rel):
    """-> (nbformat node, None) or (None, why it could not be read)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(notebook.MAX_BYTES + 1)
        if len(raw) > notebook.MAX_BYTES:
            return None, f"the notebook is larger than {notebook.MAX_BYTES // 1_000_000} MB"
        nb = notebook.load_node(raw, rel)
    except notebook.NotebookError as exc:
        return None, _cut(exc)
    except OSError as exc:
        return None, _cut(f"cannot read the notebook ({exc.strerror or exc})")
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") == "code" and len(notebook._cell_text(cell.get("source"))) > notebook.MAX_CELL_CHARS:
            return None, f"cell {number} has more than {notebook.MAX_CELL_CHARS} characters"
    return nb, None


def _workspace(sub, root_rel, nb_rel, data, data_at, uid):
    """A fresh copy of the submission owned by `uid`, with the training data placed; -> (base, cwd, home)."""
    base = os.path.join("/tmp", "nbrun-" + secrets.token_hex(6))
    os.makedirs(base, mode=0o711)
    copy = os.path.join(base, "submission")
    shutil.copytree(sub, copy, symlinks=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    # The supervisor may create files only in folders it may write (no CAP_DAC_OVERRIDE): the copy's
    # modes are made ordinary before the data goes in; everything then goes to the kernel's uid.
    for dirpath, dirnames, filenames in os.walk(copy):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            if not os.path.islink(os.path.join(dirpath, name)):
                os.chmod(os.path.join(dirpath, name), 0o644)
    cwd = os.path.join(copy, os.path.dirname(nb_rel))
    root = os.path.join(copy, root_rel) if root_rel else copy
    for folder in {os.path.realpath(cwd), os.path.realpath(root)}:
        for rel in data_at:
            # realpath: a link in the candidate's archive must not lead this (root) process elsewhere
            target = os.path.realpath(os.path.join(folder, rel))
            if not target.startswith(copy + os.sep) or os.path.isdir(target):
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(data, target)
    home = os.path.join(base, "home")
    for d in (home, os.path.join(home, ".ipython"), os.path.join(home, "runtime"), os.path.join(home, "config")):
        os.makedirs(d, mode=0o700, exist_ok=True)
    if uid is not None:  # bottom-up: a folder given away first could no longer be entered (no CAP_DAC_*)
        for dirpath, dirnames, filenames in os.walk(base, topdown=False):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), uid, uid)
    return base, cwd, home


def _kernel_spec(jupyter_dir, uid):
    """The kernel the notebooks run on: nb_kernel.py drops to `uid`, then starts ipykernel."""
    spec_dir = os.path.join(jupyter_dir, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir, mode=0o700, exist_ok=True)
    argv = [sys.executable, "-I", KERNEL_LAUNCHER, str(uid if uid is not None else -1), "{connection_file}"]
    with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
        json.dump({"argv": argv, "display_name": "Python 3 (sandbox)", "language": "python"}, fh)


def _client_class():
    from nbclient import NotebookClient

    class Client(NotebookClient):
        """Remembers the cell running now; keeps no outputs (only which cell failed and why matters)."""
        current = None
        first_cell_at = None

        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            self.current = cell_index + 1
            if self.first_cell_at is None:
                self.first_cell_at = time.monotonic()
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

        def output(self, outs, msg, display_id, cell_index):
            return None

        def clear_output(self, outs, msg, cell_index):
            return None

    return Client


def run_one(nb, rel, cwd, home, uid, cell_s, total_s):
    """Execute one notebook; -> the result record (status ok / error / timeout)."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    Client = _client_class()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "IPYTHONDIR": os.path.join(home, ".ipython"),
           "JUPYTER_RUNTIME_DIR": os.path.join(home, "runtime"), "JUPYTER_CONFIG_DIR": os.path.join(home, "config"),
           "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    client = Client(nb, timeout=max(1, int(cell_s)), startup_timeout=int(min(60, max(5, total_s))), kernel_name=KERNEL_NAME,
                    allow_errors=False, record_timing=False, resources={"metadata": {"path": cwd}})
    code_cells = sum(1 for c in nb.cells if c.get("cell_type") == "code")
    record = {"path": rel, "status": "ok", "cells": len(nb.cells), "codeCells": code_cells, "cell": None,
              "errorName": None, "errorValue": None, "error": None, "durationMs": 0, "kernelStartMs": None}
    expired = threading.Event()

    def expire():
        expired.set()
        try:
            if uid is not None:
                identity.end_all(uid)
            elif client.km is not None and client.km.has_kernel:
                client.km.provisioner.process.kill()
        except Exception as exc:  # the kernel's end is also nbclient's business
            print(f"harness: could not end the notebook kernel: {exc!r}", file=sys.stderr)

    timer = threading.Timer(total_s, expire)
    t0 = time.monotonic()
    timer.start()
    try:
        client.execute(env=env)  # starts the kernel (with env, cwd from resources), runs, shuts it down
    except CellTimeoutError:
        record.update(status="timeout", cell=client.current,
                      error=f"cell {client.current} did not finish within {cell_s:g} s")
    except CellExecutionError as exc:
        record.update(status="error", cell=client.current, errorName=_cut(getattr(exc, "ename", "") or "Error", 200),
                      errorValue=_cut(getattr(exc, "evalue", "") or ""))
        record["error"] = _cut(f"cell {client.current}: {record['errorName']}: {record['errorValue']}")
    except DeadKernelError as exc:
        if expired.is_set():
            record.update(status="timeout", cell=client.current,
                          error=f"the notebook did not finish within {total_s:g} s (stopped in cell {client.current})")
        else:
            record.update(status="error", cell=client.current, errorName="DeadKernelError",
                          error=_cut(f"the kernel died in cell {client.current}: {exc}"))
    except Exception as exc:  # kernel start failures, protocol trouble: the notebook did not run
        if expired.is_set():
            record.update(status="timeout", cell=client.current,
                          error=f"the notebook did not finish within {total_s:g} s"
                                + (f" (stopped in cell {client.current})" if client.current else " (the kernel did not start)"))
        else:
            record.update(status="error", cell=client.current, errorName=type(exc).__name__,
                          error=_cut(f"the notebook could not be run: {type(exc).__name__}: {exc}"))
    finally:
        timer.cancel()
        atexit.unregister(client._cleanup_kernel)  # nbclient's exit hook for a kernel it has already shut down
        record["durationMs"] = round((time.monotonic() - t0) * 1000)
        if client.first_cell_at is not None:  # the kernel started and answered: the first cell went in
            record["kernelStartMs"] = round((client.first_cell_at - t0) * 1000)
    return record


def run(args):
    sub = os.path.realpath(args.submission)
    root, sol_rel, _ = contract._locate(sub)
    root_rel = os.path.relpath(root, sub) if root else ""
    root_rel = "" if root_rel == "." else root_rel
    found = find_notebooks(sub, sol_rel)
    result = {"harnessVersion": HARNESS_VERSION, "mode": "notebooks", "solutionPath": sol_rel,
              "notebooks": [], "notRun": found[MAX_NOTEBOOKS:][:100],
              "limits": {"cellSeconds": args.cell_timeout_s, "notebookSeconds": args.notebook_timeout_s,
                         "totalSeconds": args.total_timeout_s, "maxNotebooks": MAX_NOTEBOOKS}}
    deadline = time.monotonic() + args.total_timeout_s
    jupyter_dir = os.path.join("/tmp", "jupyter-" + secrets.token_hex(6))
    os.makedirs(os.path.join(jupyter_dir, "runtime"), mode=0o700)
    # The driver's own Jupyter folders (connection files are written here, then handed to the kernel).
    os.environ.update({"JUPYTER_PATH": jupyter_dir, "JUPYTER_DATA_DIR": jupyter_dir,
                       "JUPYTER_RUNTIME_DIR": os.path.join(jupyter_dir, "runtime"),
                       "JUPYTER_CONFIG_DIR": os.path.join(jupyter_dir, "config"), "JUPYTER_PLATFORM_DIRS": "0"})
    pool = identity.Pool()
    for rel in found[:MAX_NOTEBOOKS]:
        nb, problem = _load(os.path.join(sub, rel), rel)
        base_record = {"path": rel, "cells": len(nb.cells) if nb is not None else None, "codeCells": None,
                       "cell": None, "errorName": None, "errorValue": None, "durationMs": 0, "kernelStartMs": None}
        if nb is None:
            result["notebooks"].append({**base_record, "status": "unreadable", "error": f"could not be read: {problem}"})
            continue
        left = deadline - time.monotonic()
        if left < 5:
            result["notebooks"].append({**base_record, "status": "not_run",
                                        "error": f"not run: the {args.total_timeout_s:g} s budget for all notebooks was used"})
            continue
        uid = pool.take()
        _kernel_spec(jupyter_dir, uid)
        base = None
        try:
            try:
                base, cwd, home = _workspace(sub, root_rel, rel, args.data, args.data_at, uid)
            except OSError as exc:  # e.g. a file of the archive this process may not read
                result["notebooks"].append({**base_record, "status": "error", "errorName": type(exc).__name__,
                                            "error": _cut(f"the notebook's folder could not be prepared: {exc}")})
                continue
            result["notebooks"].append(run_one(nb, rel, cwd, home, uid, args.cell_timeout_s,
                                               min(args.notebook_timeout_s, left)))
        finally:
            if uid is not None:
                identity.end_all(uid, scratch=None)
            if base is not None:
                shutil.rmtree(base, ignore_errors=True)
    write_json_atomic(os.path.join(args.out, "notebooks.json"), result)
