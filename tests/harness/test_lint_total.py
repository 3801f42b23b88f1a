"""The static lint is fast and total: whatever a submission holds, lint_file returns findings and never
raises; a file it cannot parse is one syntax-error finding. Run on the host with the harness package
loaded by conftest.py."""
import glob
import json
import os
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from _grader_harness import lint, notebook

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "lint")
LINT_PY = os.path.join(os.path.dirname(__file__), "..", "..", "docker", "runner", "harness", "lint.py")


def _nb_json(source):
    cell = {"cell_type": "code", "id": "a1", "metadata": {}, "outputs": [], "execution_count": None, "source": source}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


UNPARSEABLE = {
    "syntax.py": (b"import pandas as pd\ndf = pd.read_csv('a.csv'\nprint(df)\n", "SyntaxError"),
    "nul_bytes.py": (b"x = 1\x00\ny = 2\n", "null bytes"),
    "binary_junk.py": (bytes(range(256)) * 16, ""),
    "deep_unary.py": (b"x = " + b"-" * 200_000 + b"1\n", ""),
    "deep_subscripts.py": (b"x = a" + b"[0]" * 120_000 + b"\n", ""),
    "deep_parens.py": (b"x = " + b"(" * 300 + b")" * 300 + b"\n", "nested"),
    "tabs.py": (b"if True:\n\tx = 1\n        y = 2\n", "TabError"),
    "binary_junk.ipynb": (bytes(range(256)) * 16, "not JSON"),
    "truncated.ipynb": (_nb_json("x = 1")[:-20], "not JSON"),
    "empty.ipynb": (b"", "not JSON"),
    "deep_json.ipynb": (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    "a_list.ipynb": (b"[1, 2, 3]", "no list of cells"),
    "source_is_a_number.ipynb": (_nb_json(5), "not a valid notebook"),
    "deep_cell.ipynb": (_nb_json("x = a" + "[0]" * 60_000), ""),
    "cell_syntax.ipynb": (_nb_json("def f(:\n    pass"), ""),
}


@pytest.mark.parametrize("name", sorted(UNPARSEABLE))
def test_a_file_that_cannot_be_parsed_is_one_syntax_error_finding(tmp_path, name):
    content, reason = UNPARSEABLE[name]
    p = tmp_path / name
    p.write_bytes(content)
    [finding] = lint.lint_file(str(p), name)
    assert finding["rule"] == "syntax-error" and finding["file"].startswith(name)
    assert reason in finding["message"] and len(finding["message"]) > 10


def test_the_command_line_lint_prints_one_json_list_for_a_folder_of_junk(tmp_path):
    for name, (content, _) in UNPARSEABLE.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "fine.py").write_text("import pandas as pd\nprint(pd.__version__)\n")
    out = subprocess.run([sys.executable, "-I", LINT_PY, *sorted(str(p) for p in tmp_path.iterdir())],
                         capture_output=True, timeout=60, check=True)
    found = json.loads(out.stdout)
    assert sorted({os.path.basename(f["file"]).split("#")[0] for f in found}) == sorted(UNPARSEABLE)
    assert {f["rule"] for f in found} == {"syntax-error"}


def test_a_byte_order_mark_is_not_a_syntax_error(tmp_path):
    p = tmp_path / "bom.py"
    p.write_bytes(b"\xef\xbb\xbfimport pandas as pd\ndf = pd.read_csv('a.csv')\n")
    assert lint.lint_file(str(p), "bom.py") == []


def test_an_empty_file_and_an_empty_notebook_have_no_findings(tmp_path):
    (tmp_path / "e.py").write_bytes(b"")
    nbformat.write(new_notebook(cells=[]), str(tmp_path / "e.ipynb"))
    assert lint.lint_file(str(tmp_path / "e.py"), "e.py") == []
    assert lint.lint_file(str(tmp_path / "e.ipynb"), "e.ipynb") == []


def test_a_2000_line_notebook_of_every_fixture_style_is_linted_in_under_a_second(tmp_path):
    bodies = [open(p).read() for p in sorted(glob.glob(os.path.join(FIXTURES, "*.py"))) if "syntax_error" not in p]
    cells, lines = [], 0
    while lines < 2000:
        body = bodies[len(cells) % len(bodies)].replace("def ", f"def c{len(cells)}_")
        cells.append(new_code_cell(body))
        lines += body.count("\n") + 1
    p = str(tmp_path / "long.ipynb")
    nbformat.write(new_notebook(cells=cells), p)
    assert len(notebook.read_notebook(p).source.splitlines()) >= 2000
    # CPU time: the machines running the suite are shared, wall time measures the neighbours
    t = time.process_time()
    found = lint.lint_file(p, "long.ipynb")
    assert time.process_time() - t < 1.0
    assert len({f["rule"] for f in found}) >= 6  # the leaks in it are found, not skipped for time


def test_deep_and_mutually_recursive_helpers_do_not_stop_the_analysis(capsys):
    src = ["import pandas as pd", "from sklearn.model_selection import train_test_split",
           "def f0(d):", "    return d.fillna(d.mean())"]
    for i in range(1, 400):  # each helper calls the one before: followed to a fixed depth, not to a RecursionError
        src += [f"def f{i}(d):", f"    return f{i - 1}(d)"]
    for i in range(100):  # helpers and classes calling each other in a ring
        src += [f"def g{i}(d):", f"    return g{(i + 1) % 100}(d) + d.std()",
                f"class P{i}:", "    def fit(self, d):", "        self.m = d.mean()", f"        return P{(i + 1) % 100}().fit(d)"]
    src += ["df = pd.read_csv('a.csv')", "df = f399(g0(P0().fit(df).m))", "df['x'] = df['x'].fillna(df['x'].median())",
            "a, b = train_test_split(df, random_state=0)"]
    found = lint.lint_source("\n".join(src) + "\n", "deep.py")
    assert ("stat-before-split", len(src) - 1) in {(f["rule"], f["line"]) for f in found}
    assert "stopped early" not in capsys.readouterr().err
