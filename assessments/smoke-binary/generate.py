"""Small, clean, deterministic binary task that exercises the platform quickly.

python3 generate.py --seed S --out DIR   (numpy only; the layout is the one every assessment uses)
"""
import argparse
import csv
import hashlib
import json
import os

import numpy as np

VERSION = "1.0.0"
FEATURES = ["x1", "x2", "x3", "color"]


def make(rng, n, start_id):
    x = rng.normal(size=(n, 3))
    color = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    logit = -1.6 + 1.4 * x[:, 0] - 0.9 * x[:, 1] + 0.8 * (color == "blue")
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    rows = []
    for i in range(n):
        rows.append({"row_id": str(start_id + i), "x1": f"{x[i, 0]:.4f}", "x2": f"{x[i, 1]:.4f}",
                     "x3": f"{x[i, 2]:.4f}", "color": color[i], "label": "yes" if y[i] else "no"})
    return rows


def write(path, rows, columns):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    train, hold = make(rng, 600, 1), make(rng, 300, 10001)
    cols = ["row_id"] + FEATURES
    write(os.path.join(a.out, "train.csv"), train, cols + ["label"])
    write(os.path.join(a.out, "holdout", "prediction_time.csv"), hold, cols)
    write(os.path.join(a.out, "holdout", "shuffled_columns.csv"), hold, list(reversed(cols)))
    write(os.path.join(a.out, "labels", "holdout_labels.csv"), hold, ["row_id", "label"])
    files = {}
    for root, _, names in os.walk(a.out):
        for name in sorted(names):
            p = os.path.join(root, name)
            files[os.path.relpath(p, a.out)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    manifest = {"datasetVersion": VERSION, "seed": a.seed, "trainRows": len(train), "holdoutRows": len(hold),
                "positiveRate": sum(r["label"] == "yes" for r in train) / len(train),
                "variants": ["prediction_time", "shuffled_columns"], "files": dict(sorted(files.items()))}
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
