"""Host tests of the grading harness (docker/runner/harness), run with Debian's python3-pytest:
`python3 -m pytest tests/harness`. The harness is loaded under its private package name, as run.py
loads it in the sandbox. Tests of identities need root (as the supervisor has in the sandbox)."""
import importlib.util
import os
import sys

import pytest

HARNESS = os.path.join(os.path.dirname(__file__), "..", "..", "docker", "runner", "harness")
spec = importlib.util.spec_from_file_location("_grader_harness", os.path.join(HARNESS, "__init__.py"),
                                              submodule_search_locations=[HARNESS])
pkg = importlib.util.module_from_spec(spec)
sys.modules["_grader_harness"] = pkg
spec.loader.exec_module(pkg)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="identities need root, as the supervisor has in the sandbox")
