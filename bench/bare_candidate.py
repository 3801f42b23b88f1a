"""The candidate's own pipeline run once, bare: what a candidate does on a laptop.

    /usr/bin/python3 bench/bare_candidate.py SUBMISSION_DIR TRAIN_CSV HOLDOUT_CSV

Imports solution.py, then train(train.csv), evaluate(train.csv) and predict(model, holdout.csv),
once each, in this fresh process. Prints one JSON line with the time of each step (ms). The
benchmark times the whole process from spawn to exit (interpreter start included).
"""
import json
import os
import sys
import time


def main(sub, train_csv, holdout_csv):
    t = {}
    t0 = time.perf_counter()
    sys.path.insert(0, sub)
    import solution  # noqa: E402  (the candidate's module, with its own imports)
    t1 = time.perf_counter()
    model = solution.train(train_csv)
    t2 = time.perf_counter()
    solution.evaluate(train_csv)
    t3 = time.perf_counter()
    labels = list(solution.predict(model, holdout_csv))
    t4 = time.perf_counter()
    t.update(importMs=(t1 - t0) * 1000, trainMs=(t2 - t1) * 1000, evaluateMs=(t3 - t2) * 1000,
             predictMs=(t4 - t3) * 1000, rows=len(labels))
    print(json.dumps(t))


if __name__ == "__main__":
    os.chdir(os.environ.get("TMPDIR", "/tmp"))
    main(*sys.argv[1:4])
