"""Cash-forecast accuracy records (issue 16): calibrated range coverage (monthly forecast and
13-week view), invoice payment-date error against two baselines, and the 13-week build against
statsforecast AutoETS.

Units: the demo ledger (seed 7, de us uk cn, as of 2026-10-31) and, when ``../shared/data`` is
beside the project, the IBM late-payment sample (``params/ibm``, as of 2013-11-30: the close its
data support, see :func:`ledgers`). Everything is measured out of sample with the data known at
each cut-off only.

    python bench/bench_cash.py            # prints the records as JSON
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]


def ledgers() -> dict:
    """unit -> (as_of, Ledger): the demo units and, if present, the IBM units, each at the close
    its data support (``datanotes.supported_close``): the IBM sample's invoices stop on
    2013-12-02, so its units are measured at 2013-11-30, the close the reports' own note advises,
    not at the params' 2013-12-31, whose December is partial (a forecast scored against a month
    the extract cuts short measures the extract, not the forecast)."""
    from arlib import config, demo, io
    from arlib.ledger import Ledger
    from arlib.report.datanotes import supported_close

    frames = demo.generate(seed=7)
    out = {}
    for bu in sorted(frames["invoices"]["business_unit"].unique()):
        f = {k: v.loc[v["business_unit"] == bu].reset_index(drop=True) for k, v in frames.items()}
        led = Ledger(f["invoices"], f["transactions"], f["customers"])
        out[bu] = (pd.Timestamp("2026-10-31"), led)
    folder = PROJECT / "params" / "ibm"
    decl = config.notebook_declared(PROJECT / "notebooks" / "forecast.ipynb")
    for unit, defaults in config.unit_files([folder]) if folder.exists() else []:
        vals = {k: v for k, v in config.unit_params(unit, defaults).items() if k in decl}
        vals["output_dir"] = str(PROJECT / "outputs" / "bench" / "scratch")
        cfg = config.validate(vals, str(unit), decl)
        try:
            led = io.load_ledger(cfg)
            out[cfg.business_unit] = (supported_close(led, cfg.as_of), led)
        except Exception as e:  # the shared data is optional
            warnings.warn(f"IBM unit {cfg.business_unit} left out: {e}", stacklevel=1)
    return out


def report_method(series: pd.DataFrame, horizon: int) -> str:
    """The method the forecast report would choose for ``series`` with its default parameters
    (its backtest of ``forecast_methods``, ``backtest_windows`` and ``backtest_step``, the
    lowest ``selection_metric``): the range a unit's report shows is that method's."""
    from arlib import config
    from arlib.forecast import backtest

    decl = config.notebook_declared(PROJECT / "notebooks" / "forecast.ipynb")
    d = {k: decl[k].default for k in decl}
    bt = backtest.backtest(
        series, horizon, d["forecast_methods"], "MS", n_windows=d["backtest_windows"],
        step=d["backtest_step"],
    )  # fmt: skip
    return backtest.best_method(backtest.accuracy(bt, series), d["selection_metric"])


def coverage(units: dict, method: str | None = None, horizon: int = 6, windows: int = 48) -> dict:
    """Out-of-sample coverage of the calibrated 80% and 95% ranges per unit (monthly
    collections, cut-offs one month apart, each range from errors known at its cut-off), of
    ``method`` or, by default, the method each unit's report chooses (:func:`report_method`),
    with the distinct months each figure rests on and the level each range is calibrated on
    (80 for a 95% range borrowed on a short history)."""
    from arlib.forecast import conformal, runoff

    per_unit, pooled = {}, {80: [0.0, 0], 95: [0.0, 0]}
    for bu, (as_of, led) in units.items():
        s = runoff.cash_series(led, "MS", bu, through=as_of)
        chosen = method or report_method(s, horizon)
        bt = conformal.calibration_backtest(s, horizon, chosen, "MS", windows)
        cov = conformal.backtest_coverage(bt).set_index("level")
        per_unit[bu] = {"method": chosen} | {
            f"{k}_{lv}": (
                round(float(cov.loc[lv, k]), 4)
                if k.endswith("coverage")
                else (None if pd.isna(cov.loc[lv, k]) else int(cov.loc[lv, k]))
            )
            for lv in (80, 95)
            for k in (
                "calibrated_coverage",
                "model_coverage",
                "points",
                "months_checked",
                "calibrated_on",
            )
        }
        for lv in (80, 95):
            if cov.loc[lv, "points"]:
                pooled[lv][0] += cov.loc[lv, "calibrated_coverage"] * cov.loc[lv, "points"]
                pooled[lv][1] += int(cov.loc[lv, "points"])
    return {
        "per_unit": per_unit,
        "pooled": {lv: round(a / n, 4) if n else None for lv, (a, n) in pooled.items()},
    }


def weekly_range(units: dict, n_cutoffs: int = 26, step: int = 4) -> dict:
    """Out-of-sample coverage of the 13-week view's calibrated 80% and 95% ranges per unit
    (the view rebuilt at ``n_cutoffs`` week ends ``step`` weeks apart, each range from the
    errors of weeks ended by its cut-off), as the forecast report computes it."""
    from arlib.forecast import weekrange

    per_unit, pooled = {}, {80: [0.0, 0], 95: [0.0, 0]}
    for bu, (as_of, led) in units.items():
        bt = weekrange.weekly_backtest(led, as_of, n_cutoffs=n_cutoffs, step=step)
        cov = weekrange.backtest_coverage(bt).set_index("level")
        per_unit[bu] = {}
        for lv in (80, 95):
            c, n = cov.loc[lv, "calibrated_coverage"], int(cov.loc[lv, "points"])
            per_unit[bu] |= {f"coverage_{lv}": None if pd.isna(c) else round(float(c), 4)}
            per_unit[bu] |= {f"weeks_{lv}": n}
            if n:
                pooled[lv][0] += float(c) * n
                pooled[lv][1] += n
    return {
        "per_unit": per_unit,
        "pooled": {lv: round(a / n, 4) if n else None for lv, (a, n) in pooled.items()},
    }


def paydate_mae(units: dict) -> dict:
    """MAE in days of the expected payment date against both baselines, per unit (cut-offs 9,
    6 and 3 months before as_of)."""
    from arlib.forecast import paydates

    out, frames = {}, []
    for bu, (as_of, led) in units.items():
        ev = paydates.evaluate(led, paydates.backtest_cutoffs(as_of), as_of)
        acc = paydates.mae(ev).set_index("method")
        out[bu] = {m: round(float(acc.loc[m, "mae_days"]), 2) for m in acc.index}
        out[bu]["invoices"] = len(ev)
        frames.append(ev.assign(demo=not bu.isdigit()))
    allev = pd.concat(frames)
    for name, part in (("demo", allev[allev["demo"]]), ("ibm", allev[~allev["demo"]])):
        if len(part):
            acc = paydates.mae(part).set_index("method")
            out[f"all_{name}"] = {m: round(float(acc.loc[m, "mae_days"]), 2) for m in acc.index}
    return out


def weekly_vs_autoets(units: dict, n_cuts: int = 6, weeks: int = 13) -> dict:
    """13-week cash (open-item payment dates plus invoicing to come) against statsforecast
    AutoETS(season_length=52) and our ``auto`` on each unit's weekly collections (weeks ending
    Friday), cut-offs 4 weeks apart ending 13 weeks before the last full week; WAPE over the
    13 weeks pooled across cut-offs."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    from arlib.forecast import forecast
    from arlib.forecast.paydates import PayDateModel
    from arlib.forecast.weekly import CashView

    res = {}
    for bu, (as_of, led) in units.items():
        if bu.isdigit():  # the IBM sample is too short for a weekly season
            continue
        flows = led.flows("W-FRI")
        y = flows["collected"]
        y.index = y.index.end_time.normalize()
        y = y.loc[y.index <= as_of]
        last = y.index[-1]
        cuts = [last - pd.Timedelta(weeks=weeks + 4 * i) for i in range(n_cuts)]
        err = {"ours_13_weeks": 0.0, "autoets_52": 0.0, "arlib_auto_weekly": 0.0}
        total = 0.0
        for cut in cuts:
            actual = y.loc[(y.index > cut) & (y.index <= cut + pd.Timedelta(weeks=weeks))]
            total += actual.abs().sum()
            model = PayDateModel("segment").fit(led, cut)
            ours = CashView(led, model, weeks=weeks, months=1, week_ends_on="FRI").weeks()
            err["ours_13_weeks"] += np.abs(ours["yhat"].to_numpy() - actual.to_numpy()).sum()
            train = pd.DataFrame({"unique_id": bu, "ds": y.loc[:cut].index, "y": y.loc[:cut]})
            train = train.iloc[26:]  # ledger warm-up
            sf = StatsForecast(models=[AutoETS(season_length=52)], freq="W-FRI", n_jobs=1)
            ets = sf.forecast(df=train, h=weeks)["AutoETS"].to_numpy()
            err["autoets_52"] += np.abs(ets - actual.to_numpy()).sum()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                auto = forecast(train, weeks, "W-FRI", method="auto", n_jobs=1)["yhat"]
            err["arlib_auto_weekly"] += np.abs(auto.to_numpy() - actual.to_numpy()).sum()
        res[bu] = {k: round(v / total, 4) for k, v in err.items()}
    pooled = {
        k: round(float(np.mean([r[k] for r in res.values()])), 4) for k in next(iter(res.values()))
    }
    return {"per_unit_wape": res, "mean_wape": pooled}


def run() -> list[dict]:
    units = ledgers()
    records = []
    for name, fn in (
        ("interval_coverage", coverage),
        ("weekly_range_coverage", weekly_range),
        ("paydate_mae", paydate_mae),
        ("weekly_vs_autoets", weekly_vs_autoets),
    ):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            details = fn(units)
        records.append(
            {"name": name, "size": len(units), "seconds": round(time.perf_counter() - t0, 1)}
            | details
        )
    return records


if __name__ == "__main__":
    print(json.dumps(run(), indent=1, default=str))
