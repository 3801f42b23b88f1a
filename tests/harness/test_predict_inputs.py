"""predict_mode.py: every input a candidate process sees is reshuffled and re-keyed, and the
answers map back to the holdout's order."""
import numpy as np
import pandas as pd

from _grader_harness import predict_mode


def test_disguised_inputs_map_back_and_share_no_ids():
    df = pd.DataFrame({"customer_id": [f"C{100000 + i}" for i in range(50)], "x": [str(i) for i in range(50)]})
    rng = np.random.default_rng(1)
    data_a, order_a = predict_mode._disguise(df, "customer_id", rng)
    data_b, order_b = predict_mode._disguise(df, "customer_id", rng)
    a = pd.read_csv(__import__("io").BytesIO(data_a), dtype=str)
    b = pd.read_csv(__import__("io").BytesIO(data_b), dtype=str)
    assert order_a != order_b
    assert set(a["customer_id"]).isdisjoint(df["customer_id"]) and set(a["customer_id"]).isdisjoint(b["customer_id"])
    assert all(len(i) == 7 and i[0].isupper() and i[1:].isdigit() for i in a["customer_id"])
    # Row i of the file is row order[i] of the original: answering with x maps back to x in order.
    assert predict_mode._unshuffle(a["x"].tolist(), order_a) == df["x"].tolist()


def test_fresh_ids_are_distinct_even_for_short_ids():
    ids = predict_mode._fresh_ids(["1"] * 30)
    assert len(set(ids)) == 30


def test_a_go_ahead_file_still_being_written_is_waited_for(tmp_path):
    import threading
    import time
    go = tmp_path / "go-ahead.json"
    go.write_bytes(b"")  # created by the archive copy, content not there yet

    def finish():
        time.sleep(0.2)
        go.write_bytes(b'{"proceed": true}')
    threading.Thread(target=finish).start()
    assert predict_mode._wait_for(str(go), 5) == (True, None)
    go.write_bytes(b'{"proceed": false}')
    ok, why = predict_mode._wait_for(str(go), 5)
    assert not ok and "no trained model" in why
