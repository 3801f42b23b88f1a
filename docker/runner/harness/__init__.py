"""Grading harness that runs inside the sandbox container (see run.py)."""
