"""lint_target.py: where the assessment's post-outcome columns enter the features (static), on the host.

Each case is a small solution with the exact (line, how) entries expected for `refund_issued`, or the
answer that the lint could not tell."""
import os
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from _grader_harness import lint_target

COL = "refund_issued"


def run(tmp_path, files, solution="solution.py"):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".ipynb"):
            nbformat.write(new_notebook(cells=text), str(p))
        else:
            p.write_text(textwrap.dedent(text))
    return lint_target.locate(lint_target.graded_files(str(tmp_path), solution), [COL], "churned")


def entries(found):
    return [(u["file"], u["line"], u["how"]) for u in found["uses"]]


CASES = [
    ("named in a feature list, followed to the selection", """\
        import pandas as pd
        FEATURES = ["plan", "refund_issued"]
        def train(path):
            df = pd.read_csv(path)
            return fit(df[FEATURES], df["churned"])
        """, [("solution.py", 2, "named in a list of columns"), ("solution.py", 5, "through `FEATURES` (line 2)")]),
    ("read from the data and written into the frame", """\
        def clean(raw):
            refund = raw["refund_issued"].eq("yes")
            out = raw[["plan"]].copy()
            out["refunded"] = refund
            return out
        """, [("solution.py", 2, "read from the data"), ("solution.py", 4, "through `refund` (line 2)")]),
    ("a local name is followed only inside its function", """\
        def a(raw):
            x = raw["refund_issued"]
            return x
        def b(x):
            return x + 1
        """, [("solution.py", 2, "read from the data"), ("solution.py", 3, "through `x` (line 2)")]),
    ("an assignment chain is followed to the write into the frame", """\
        def clean(raw):
            refund = raw["refund_issued"]
            flag = refund.astype(str).str.lower()
            is_yes = (flag == "yes") if len(flag) else flag
            out = raw[["plan"]].copy()
            out["refunded"] = is_yes.astype(int)
            return out
        """, [("solution.py", 2, "read from the data"), ("solution.py", 3, "through `refund` (line 2)"),
              ("solution.py", 4, "through `flag` (line 3)"), ("solution.py", 6, "through `is_yes` (line 4)")]),
    ("a chain stops where the column is selected or passed on", """\
        import pandas as pd
        NUMERIC = ["tenure", "refund_issued"]
        def train(df):
            cols = NUMERIC + ["plan"]
            X = df[cols]
            X_train = X.iloc[:100]
            prep = make_prep(cols)
            return prep, X_train
        """, [("solution.py", 2, "named in a list of columns"), ("solution.py", 4, "through `NUMERIC` (line 2)"),
              ("solution.py", 5, "through `cols` (line 4)"), ("solution.py", 7, "through `cols` (line 4)")]),
    ("never named: dropping only the target keeps it", """\
        import pandas as pd
        TARGET = "churned"
        def train(path):
            df = pd.read_csv(path)
            X = df.drop(columns=[TARGET, "customer_id"])
            return fit(X, df[TARGET])
        """, [("solution.py", 5, "never named: every column but the ones dropped here becomes a feature, "
                                 "refund_issued included")]),
]


@pytest.mark.parametrize("name,source,expected", CASES, ids=[c[0] for c in CASES])
def test_entries(tmp_path, name, source, expected):
    found = run(tmp_path, {"solution.py": source})
    assert entries(found) == expected
    assert found["unknown"] == []


@pytest.mark.parametrize("source", [
    # dropped by name, through a list used only to drop, by a `not in` filter, with del and pop
    'def f(df):\n    return df.drop(columns=["refund_issued", "churned"])\n',
    'LEAKY = ["customer_id", "refund_issued"]\ndef f(df):\n    return df.drop(columns=[c for c in LEAKY if c in df])\n',
    'def f(df):\n    return df[[c for c in df.columns if c not in ("refund_issued", "churned")]]\n',
    'def f(df):\n    del df["refund_issued"]\n    df.pop("refund_issued")\n    return df\n',
])
def test_removed_columns_do_not_enter_and_the_answer_says_it_cannot_tell(tmp_path, source):
    found = run(tmp_path, {"solution.py": source})
    assert found["uses"] == []
    assert found["unknown"] == [COL]
    assert found["removed"] and all(r["how"] == "removed here" for r in found["removed"])


def test_a_mention_in_a_test_says_nothing_and_nothing_found_is_unknown(tmp_path):
    found = run(tmp_path, {"solution.py": 'def f(df):\n    assert "refund_issued" in df\n    return df[["plan"]]\n'})
    assert found == {"columns": [COL], "uses": [], "removed": [], "unknown": [COL]}


def test_notebook_entries_point_at_cell_and_line(tmp_path):
    found = run(tmp_path, {"solution.ipynb": [
        new_markdown_cell("# model"),
        new_code_cell("%matplotlib inline\nNUMERIC = ['tenure', 'refund_issued']"),
        new_code_cell("def clean(df):\n    x = df.copy()\n    return x[NUMERIC]"),
    ]}, solution="solution.ipynb")
    assert entries(found) == [("solution.ipynb#cell-2", 2, "named in a list of columns"),
                              ("solution.ipynb#cell-3", 3, "through `NUMERIC` (cell 2, line 2)")]
    assert found["uses"][1]["code"] == "return x[NUMERIC]"


def test_imported_helpers_count_and_exploratory_work_does_not(tmp_path):
    found = run(tmp_path, {
        "solution.py": "from features import FEATURES\ndef train(df):\n    return df[FEATURES]\n",
        "features.py": 'FEATURES = ["plan", "refund_issued"]\n',
        "eda.py": 'import pandas as pd\ndf = pd.read_csv("x.csv")\nprint(df["refund_issued"].mean())\n',
    })
    assert entries(found) == [("features.py", 1, "named in a list of columns")]


def test_total_on_files_it_cannot_parse(tmp_path):
    found = run(tmp_path, {"solution.py": "def f(:\n  'refund_issued'\n"})
    assert found["unknown"] == [COL] and found["uses"] == []
    (tmp_path / "bad.ipynb").write_text("{not json")
    assert lint_target.locate([("bad.ipynb", str(tmp_path / "bad.ipynb"))], [COL])["unknown"] == [COL]


def test_the_churn_reference_leak_target_fixture(tmp_path):
    root = os.path.join(os.path.dirname(__file__), "..", "fixtures", "submissions", "churn", "leak-target")
    found = lint_target.locate(lint_target.graded_files(root, "solution.py"), [COL], "churned")
    lines = {u["line"] for u in found["uses"]}
    # the feature list, the read, the write into the frame, the selection and the ColumnTransformer
    assert lines == {20, 39, 40, 41, 49}
