"""Notebook submissions (notebook.py) and the data-following lint (lint_dataflow.py), on the host.

The labelled set in tests/fixtures/lint/ (ordinary scripts and notebooks, not written to the grading
contract) is asserted exactly here and in tests/integration/lint.test.ts (inside the runner image);
this file also prints precision and recall per rule."""
import json
import os
import time
from collections import Counter

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from _grader_harness import contract, lint, notebook

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "lint")


def write_nb(path, cells):
    nbformat.write(new_notebook(cells=cells), str(path))
    return str(path)


# ----------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------

def test_magics_and_shell_escapes_are_dropped_with_a_note_and_lines_map_to_cells(tmp_path):
    p = write_nb(tmp_path / "a.ipynb", [
        new_markdown_cell("# title"),
        new_code_cell("%matplotlib inline\nimport math\nfiles = !ls\nx = math.sqrt(4)"),
        new_code_cell("%%bash\ny = 1/0"),
        new_code_cell("def f():\n    !echo hi\n    return x"),
        new_code_cell("%%time\ndef train(df):\n    return len(df)"),
    ])
    nbs = notebook.read_notebook(p, "a.ipynb")
    assert "%matplotlib" not in nbs.source and "!ls" not in nbs.source and "1/0" not in nbs.source
    assert "%%time" not in nbs.source and "%%bash" not in nbs.source
    assert any("cell 2, line 1" in n and "%matplotlib inline" in n for n in nbs.notes)
    assert any("cell 2, line 3" in n for n in nbs.notes)
    assert any("cell 3" in n and "%%bash" in n and "whole cell" in n for n in nbs.notes)
    assert any("cell 5" in n and "%%time" in n and "body kept" in n for n in nbs.notes)
    assert any("cell 4, line 2" in n for n in nbs.notes)
    compile(nbs.source, "a.ipynb", "exec")  # what is left is Python
    built = nbs.source.splitlines()
    line = built.index("x = math.sqrt(4)") + 1
    assert nbs.locate(line) == ("a.ipynb#cell-2", 4, "x = math.sqrt(4)")
    assert nbs.locate(built.index("    return x") + 1) == ("a.ipynb#cell-4", 3, "return x")
    # A function defined under %%time exists, as it does when IPython runs the cell.
    assert nbs.locate(built.index("def train(df):") + 1) == ("a.ipynb#cell-5", 2, "def train(df):")


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not JSON"),
    (b'{"cells": 3}', "no list of cells"),
    (b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid notebook"),
    (json.dumps({"cells": [{}] * (notebook.MAX_CELLS + 1)}).encode(), "cells (at most"),
])
def test_a_malformed_notebook_is_a_clear_error_and_one_lint_finding(tmp_path, content, reason):
    p = tmp_path / "solution.ipynb"
    p.write_bytes(content)
    with pytest.raises(notebook.NotebookError, match=r"solution\.ipynb") as err:
        notebook.read_notebook(str(p), "solution.ipynb")
    assert reason in str(err.value)
    [finding] = lint.lint_paths([str(tmp_path)], root=str(tmp_path))
    assert finding["rule"] == "syntax-error" and finding["file"] == "solution.ipynb" and reason in finding["message"]


def test_an_oversized_notebook_is_refused_before_parsing(tmp_path):
    p = tmp_path / "big.ipynb"
    p.write_bytes(b" " * (notebook.MAX_BYTES + 1))
    with pytest.raises(notebook.NotebookError, match="larger than"):
        notebook.read_notebook(str(p))


def test_a_syntax_error_in_one_cell_is_reported_at_that_cell(tmp_path):
    p = write_nb(tmp_path / "nb.ipynb", [new_code_cell("a = 1"), new_code_cell("b = 2\nif b\n    pass")])
    [finding] = lint.lint_file(p, "nb.ipynb")
    assert (finding["rule"], finding["file"], finding["line"], finding["code"]) == ("syntax-error", "nb.ipynb#cell-2", 2, "if b")


# ----------------------------------------------------------------------------------------------
# The submission contract: locating, importing, tracebacks
# ----------------------------------------------------------------------------------------------

def test_solution_ipynb_stands_in_for_solution_py_and_tracebacks_point_at_cells(tmp_path):
    sub = tmp_path / "sub"
    (sub / "work").mkdir(parents=True)
    write_nb(sub / "work" / "solution.ipynb", [
        new_markdown_cell("notes"),
        new_code_cell("!pip install nothing\nimport math"),
        new_code_cell("def train(path):\n    return math.sqrt(-1)"),
    ])
    root, rel, problem = contract.locate_solution(str(sub))
    assert (rel, problem) == ("work/solution.ipynb", None)
    mod = contract.import_solution(root, rel)
    with pytest.raises(ValueError) as err:
        mod.train("x")
    text = contract.format_exception(err.value, contract.SubmissionPaths(str(sub)), context="train() raised")
    assert 'File "work/solution.ipynb#cell-3", line 2, in train' in text
    assert "return math.sqrt(-1)" in text


def test_the_supervisor_builds_the_notebook_once_and_children_reuse_it(tmp_path):
    # locate_solution runs in the supervisor before the zygote forks: the children import what it built
    write_nb(tmp_path / "solution.ipynb", [new_code_cell("def train(p):\n    return 'built once'")])
    root, rel, _ = contract.locate_solution(str(tmp_path))
    (tmp_path / "solution.ipynb").write_text("no longer a notebook")
    assert contract.import_solution(root, rel).train(None) == "built once"


def test_a_notebook_with_a_syntax_error_fails_import_with_the_cell(tmp_path):
    write_nb(tmp_path / "solution.ipynb", [new_code_cell("x = 1"), new_code_cell("def train(p)\n    pass")])
    with pytest.raises(SyntaxError) as err:
        contract.import_solution(str(tmp_path), "solution.ipynb")
    text = contract.format_exception(err.value, contract.SubmissionPaths(str(tmp_path)), context="importing")
    assert 'File "solution.ipynb#cell-2", line 1' in text and "def train(p)" in text


def test_a_malformed_solution_notebook_is_an_import_error(tmp_path):
    (tmp_path / "solution.ipynb").write_text("{}")
    with pytest.raises(notebook.NotebookError, match="solution.ipynb is not a valid notebook"):
        contract.import_solution(str(tmp_path), "solution.ipynb")


def test_exploratory_files_are_marked_and_imported_helpers_are_not(tmp_path):
    leak = "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n" \
           "df = pd.read_csv('d.csv')\ndf = df.fillna(df.mean())\na, b = train_test_split(df, random_state=0)\n"
    (tmp_path / "solution.py").write_text("import features\n")
    (tmp_path / "features.py").write_text(leak)
    (tmp_path / "scratch.py").write_text(leak)
    write_nb(tmp_path / "eda.ipynb", [new_code_cell(leak)])
    found = lint.lint_paths([str(tmp_path)], root=str(tmp_path), solution="solution.py")
    marks = {(f["file"], f["exploratory"]) for f in found if f["rule"] == "stat-before-split"}
    assert marks == {("features.py", False), ("scratch.py", True), ("eda.ipynb#cell-1", True)}


# ----------------------------------------------------------------------------------------------
# The labelled set
# ----------------------------------------------------------------------------------------------

EXPECTED = json.load(open(os.path.join(FIXTURES, "expected.json")))
# later batches keep their own folder and labels (batch9/expected.json): named "batch9/<file>" here
BATCHES = sorted(d for d in os.listdir(FIXTURES) if d.startswith("batch") and os.path.isdir(os.path.join(FIXTURES, d)))
for _batch in BATCHES:
    EXPECTED.update({f"{_batch}/{n}": e for n, e in json.load(open(os.path.join(FIXTURES, _batch, "expected.json"))).items()})


def _key(name, f):
    if name.endswith(".ipynb"):
        return f["rule"], int(f["file"].rsplit("#cell-", 1)[1]), f["line"]
    return f["rule"], None, f["line"]


def _expected_keys(name):
    return Counter((e["rule"], e.get("cell"), e["line"]) for e in EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_labelled_fixture_gets_exactly_its_expected_findings(name):
    path = os.path.join(FIXTURES, name)
    got = lint.lint_file(path, name)
    assert Counter(_key(name, f) for f in got) == _expected_keys(name)
    for f in got:  # every finding names the file (and cell) and quotes the line it points at
        if name.endswith(".ipynb"):
            nbs = notebook.read_notebook(path, name)
            cell = int(f["file"].rsplit("#cell-", 1)[1])
            assert f["code"] == nbs.cell_lines[cell][f["line"] - 1].strip()
        else:
            assert f["file"] == name
            assert f["code"] == open(path).read().splitlines()[f["line"] - 1].strip()


def test_labelled_set_precision_and_recall_per_rule(capsys):
    tp, fp, fn = Counter(), Counter(), Counter()
    for name in EXPECTED:
        got = Counter(_key(name, f) for f in lint.lint_file(os.path.join(FIXTURES, name), name))
        want = _expected_keys(name)
        for k in got | want:
            tp[k[0]] += min(got[k], want[k])
            fp[k[0]] += max(0, got[k] - want[k])
            fn[k[0]] += max(0, want[k] - got[k])
    with capsys.disabled():
        for rule in sorted(set(tp) | set(fp) | set(fn)):
            p = tp[rule] / (tp[rule] + fp[rule]) if tp[rule] + fp[rule] else 1.0
            r = tp[rule] / (tp[rule] + fn[rule]) if tp[rule] + fn[rule] else 1.0
            print(f"\nlint {rule}: precision {p:.2f} recall {r:.2f} (tp {tp[rule]}, fp {fp[rule]}, fn {fn[rule]})", end="")
        print()
    clean = [n for n, e in EXPECTED.items() if not e]
    assert len(EXPECTED) >= 60 and len(clean) >= 20
    assert sum(fp.values()) == 0 and sum(fn.values()) == 0


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if not e))
def test_no_clean_fixture_is_flagged(name):
    assert lint.lint_file(os.path.join(FIXTURES, name), name) == []


def test_every_fixture_on_disk_is_labelled():
    on_disk = {n for n in os.listdir(FIXTURES) if n.endswith((".py", ".ipynb"))}
    on_disk |= {f"{b}/{n}" for b in BATCHES for n in os.listdir(os.path.join(FIXTURES, b)) if n.endswith((".py", ".ipynb"))}
    assert on_disk == set(EXPECTED)


def test_a_2000_line_notebook_is_linted_in_under_a_second(tmp_path):
    body = open(os.path.join(FIXTURES, "helper_and_callback.py")).read()
    cells = [new_code_cell(body.replace("def ", f"def c{i}_")) for i in range(90)]
    p = write_nb(tmp_path / "long.ipynb", cells)
    assert len(notebook.read_notebook(p).source.splitlines()) >= 2000
    # CPU time: the machines running the suite are shared, wall time measures the neighbours
    t = time.process_time()
    lint.lint_file(p, "long.ipynb")
    assert time.process_time() - t < 1.0
