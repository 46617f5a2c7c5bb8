"""arlib.forecast.history: runs kept with their close, read back typed, set against actuals;
the first close falls back to the backtest; the runs chart never shows an empty 1970 axis."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from arlib.forecast.history import (  # noqa: E402
    backtest_vs_actual,
    forecast_vs_actual,
    load_forecasts,
    runs_vs_actual,
    save_forecast,
    store_path,
)
from arlib.i18n import t  # noqa: E402
from arlib.report.plots.forecast import NO_EARLIER, runs_chart  # noqa: E402
from arlib.report.tables import table  # noqa: E402

FVA_COLUMNS = ["as_of", "unique_id", "ds", "model", "yhat", "step", "y", "error", "source"]


def _fc(uid: str, first: str, yhat) -> pd.DataFrame:
    """A run's forecast of ``len(yhat)`` months from ``first``, shaped like the engine's."""
    return pd.DataFrame(
        {
            "unique_id": uid,
            "ds": pd.date_range(first, periods=len(yhat), freq="MS"),
            "model": "auto",
            "yhat": [float(v) for v in yhat],
            "yhat_lo_80": [v - 10.0 for v in yhat],
            "yhat_hi_80": [v + 10.0 for v in yhat],
            "fitted": "ets",
        }
    )


def _publish(root, as_of: str, fc: pd.DataFrame, unit: str = "391"):
    """What a published close holds: ``<root>/<as_of>/<unit>/forecast_<unit>_<as_of>.csv``."""
    return save_forecast(fc, root / as_of / unit, as_of, tag=unit)


def _series(uid="391", start="2013-01-01", y=(10, 20, 30, 40, 50, 60)) -> pd.DataFrame:
    ds = pd.date_range(start, periods=len(y), freq="MS")
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": [float(v) for v in y]})


def test_numeric_unit_codes_come_back_as_text_and_merge(tmp_path):
    # the IBM sample's units: "391" used to come back as 391 (int) and break the merge
    out_dir = tmp_path / "2013-06-30" / "391"  # the runner's unit output folder
    p = save_forecast(_fc("391", "2013-07-01", [100, 110]), out_dir, "2013-06-30", tag="391")
    assert p == out_dir / "forecast_391_2013-06-30.csv"
    first = p.read_bytes()
    assert (
        save_forecast(
            _fc("391", "2013-07-01", [100, 110]), out_dir, "2013-06-30", "391"
        ).read_bytes()
        == first
    )
    _publish(tmp_path, "2013-06-30", _fc("007", "2013-07-01", [5]), unit="007")

    assert store_path(None, str(out_dir)) == tmp_path  # history is read from the output root
    stored = load_forecasts(tmp_path, "391", before="2013-12-31")
    assert stored["unique_id"].tolist() == ["391", "391"]
    assert all(type(u) is str for u in stored["unique_id"])
    assert stored["as_of"].dtype == "datetime64[ns]" and stored["ds"].dtype == "datetime64[ns]"
    assert load_forecasts(tmp_path, "007")["unique_id"].tolist() == ["007"]

    actual = _series("391", "2013-07-01", [95, 112])
    fva = forecast_vs_actual(stored, actual)
    assert fva["error"].tolist() == [5.0, -2.0]  # 100 - 95, 110 - 112
    assert fva["step"].tolist() == [1, 2] and fva["y"].tolist() == [95.0, 112.0]
    # actuals whose codes were parsed as numbers still meet the stored text codes
    as_int = actual.assign(unique_id=391)
    assert forecast_vs_actual(stored, as_int)["error"].tolist() == [5.0, -2.0]


def test_history_is_only_the_published_closes_before_this_one(tmp_path):
    _publish(tmp_path, "2013-06-30", _fc("391", "2013-07-01", [100, 110, 120]))
    _publish(tmp_path, "2013-09-30", _fc("391", "2013-10-01", [200, 210, 220]))
    _publish(tmp_path, "2013-12-31", _fc("391", "2014-01-01", [300, 310, 320]))
    _publish(tmp_path, "2014-03-31", _fc("391", "2014-04-01", [400, 410, 420]))
    _publish(tmp_path, "2013-06-30", _fc("406", "2013-07-01", [1, 2, 3]), unit="406")
    got = load_forecasts(tmp_path, "391", before="2013-12-31")
    assert got["as_of"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2013-06-30", "2013-09-30"]
    assert got["yhat"].tolist() == [100.0, 110, 120, 200, 210, 220]
    assert set(got["unique_id"]) == {"391"}  # unit 406 of the same close is not 391's history
    assert load_forecasts(tmp_path, "391")["as_of"].nunique() == 4  # no `before`: every run


def test_legacy_store_is_read_and_a_close_folder_wins(tmp_path):
    legacy = tmp_path / "forecast_store"  # the earlier version's flat files
    save_forecast(_fc("391", "2013-04-01", [50, 60]), legacy, "2013-03-31", tag="391")
    save_forecast(_fc("391", "2013-07-01", [-1, -1]), legacy, "2013-06-30", tag="391")
    _publish(tmp_path, "2013-06-30", _fc("391", "2013-07-01", [100, 110]))
    # a published close may be a symlink to its run folder
    run = tmp_path / ".runs" / "run-b"
    save_forecast(_fc("391", "2013-10-01", [200]), run / "391", "2013-09-30", tag="391")
    (tmp_path / "2013-09-30").symlink_to(run, target_is_directory=True)
    # not published closes: never history
    save_forecast(
        _fc("391", "2013-06-01", [7]), tmp_path / ".runs" / "x" / "391", "2013-05-31", "391"
    )
    save_forecast(
        _fc("391", "2013-05-01", [8]), tmp_path / "2013-13-99x" / "391", "2013-04-30", "391"
    )
    save_forecast(
        _fc("391", "2013-06-01", [9]), tmp_path / "2013-13-99" / "391", "2013-05-30", "391"
    )

    got = load_forecasts(tmp_path, "391", before="2013-12-31")
    runs = got.groupby(got["as_of"].dt.strftime("%Y-%m-%d"))["yhat"].apply(list).to_dict()
    assert runs == {"2013-03-31": [50.0, 60.0], "2013-06-30": [100.0, 110.0], "2013-09-30": [200.0]}


def test_a_corrupt_stored_file_is_skipped_with_a_warning_naming_it(tmp_path):
    _publish(tmp_path, "2013-06-30", _fc("391", "2013-07-01", [100]))
    bad = tmp_path / "2013-09-30" / "391" / "forecast_391_2013-09-30.csv"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00\xff\xfe garbage\nno,forecast\n")
    bad_date = tmp_path / "2013-10-31" / "391" / "forecast_391_2013-10-31.csv"
    bad_date.parent.mkdir(parents=True)
    bad_date.write_text("as_of,unique_id,ds,model,yhat\n2013-10-31,391,not a date,auto,1.0\n")
    with pytest.warns(UserWarning) as caught:
        got = load_forecasts(tmp_path, "391", before="2013-12-31")
    text = " ".join(str(w.message) for w in caught)
    assert "forecast_391_2013-09-30.csv" in text and "forecast_391_2013-10-31.csv" in text
    assert got["as_of"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2013-06-30"]
    assert got["yhat"].tolist() == [100.0]


def _bt() -> pd.DataFrame:
    """Backtest of unit 391: two cut-offs of two steps, two methods (y as the backtest has it)."""
    return pd.DataFrame(
        {
            "unique_id": "391",
            "cutoff": pd.to_datetime(["2013-02-01"] * 2 + ["2013-03-01"] * 2).tolist() * 2,
            "ds": pd.to_datetime(["2013-03-01", "2013-04-01", "2013-04-01", "2013-05-01"] * 2),
            "model": ["auto"] * 4 + ["snaive"] * 4,
            "yhat": [31.0, 38, 42, 50, 8, 25, 25, 20],
            "yhat_lo_80": [29.0, 37, 39, 49, 0, 0, 0, 0],
            "yhat_hi_80": [32.0, 39, 41, 51, 30, 30, 30, 30],
            "fitted": "ets",
            "y": [30.0, 40, 40, 50] * 2,
        }
    )


def test_first_close_shows_the_chosen_methods_backtest(tmp_path):
    got = runs_vs_actual(tmp_path, "391", "2013-06-30", _series(), _bt(), "auto")
    assert list(got.columns) == [
        "as_of",
        "unique_id",
        "ds",
        "model",
        "yhat",
        "yhat_lo_80",
        "yhat_hi_80",
        "fitted",
        "step",
        "y",
        "error",
        "source",
    ]
    want = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2013-02-01", "2013-02-01", "2013-03-01", "2013-03-01"]),
            "unique_id": "391",
            "ds": pd.to_datetime(["2013-03-01", "2013-04-01", "2013-04-01", "2013-05-01"]),
            "model": "auto",
            "yhat": [31.0, 38, 42, 50],
            "step": [1, 2, 1, 2],
            "y": [30.0, 40, 40, 50],  # the series' March, April, April, May
            "error": [1.0, -2, 2, 0],
            "source": "backtest",
        }
    )
    pd.testing.assert_frame_equal(got[want.columns], want)
    assert got.equals(backtest_vs_actual(_bt(), _series(), "auto"))


def test_earlier_runs_replace_the_backtest_once_they_have_actuals(tmp_path):
    series = _series(y=(10, 20, 30, 40, 50, 60, 70))  # January to July 2013
    # a run whose periods have no actual yet does not empty the section: the backtest stays
    _publish(tmp_path, "2013-07-31", _fc("391", "2013-08-01", [80]))
    only_future = runs_vs_actual(tmp_path, "391", "2013-08-31", series, _bt(), "auto")
    assert set(only_future["source"]) == {"backtest"} and len(only_future) == 4
    _publish(tmp_path, "2013-05-31", _fc("391", "2013-06-01", [55, 75, 99]))
    got = runs_vs_actual(tmp_path, "391", "2013-08-31", series, _bt(), "auto")
    assert got["source"].unique().tolist() == ["earlier run"]
    assert got["error"].tolist() == [-5.0, 5.0]  # June 55 - 60, July 75 - 70; August not yet
    assert got["as_of"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2013-05-31"]


def test_nothing_at_all_is_an_empty_typed_frame(tmp_path):
    got = runs_vs_actual(tmp_path, "391", "2013-06-30", _series())
    assert got.empty and list(got.columns) == FVA_COLUMNS
    dtypes = got.dtypes.astype(str).to_dict()
    assert dtypes["as_of"] == dtypes["ds"] == "datetime64[ns]"
    assert dtypes["yhat"] == dtypes["y"] == dtypes["error"] == "float64"
    assert dtypes["step"] == "int64" and dtypes["unique_id"] == dtypes["source"] == "object"
    assert runs_vs_actual(tmp_path, "391", "2013-06-30", _series(), _bt(), "theta").empty


def test_store_path_is_the_output_root():
    assert store_path("shared/closes", "outputs/2013-06-30/391").as_posix() == "shared/closes"
    assert store_path(None, "outputs/2013-06-30/391").as_posix() == "outputs"
    assert store_path(None, "outputs/scratch").as_posix() == "outputs/scratch"


def test_runs_chart_of_nothing_draws_no_chart_and_the_table_says_why():
    """With nothing to compare there is no placeholder chart (nor a 1970 date axis), and the
    table in its place is one sentence."""
    before = plt.get_fignums()
    empty = runs_vs_actual("/nonexistent", "391", "2013-06-30", _series())
    assert runs_chart(empty) is None and plt.get_fignums() == before
    shown = table(empty, empty=NO_EARLIER)._repr_html_()
    assert shown == '<p class="ar-empty">No earlier forecasts to compare yet.</p>'
    assert t(NO_EARLIER, "zh") == "尚无较早的预测可供比较。"


def test_runs_chart_plots_real_dates_and_says_what_the_lines_are(tmp_path):
    bt = runs_vs_actual(tmp_path, "391", "2013-06-30", _series(), _bt(), "auto")
    ax = runs_chart(bt)
    years = {mdates.num2date(x).year for x in ax.get_xlim()}
    assert years == {2013}
    assert "Backtest" in ax.get_title()
    labels = [x.get_text() for x in ax.get_legend().get_texts()]
    assert labels == ["actual", "auto from 2013-02", "auto from 2013-03"]
    plt.close(ax.figure)
    _publish(tmp_path, "2013-02-28", _fc("391", "2013-03-01", [31, 38]))
    ax = runs_chart(runs_vs_actual(tmp_path, "391", "2013-06-30", _series(), _bt(), "auto"))
    assert ax.get_title() == "Earlier forecasts vs actual collections"
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["actual", "run 2013-02-28"]
    xs = np.concatenate([mdates.date2num(line.get_xdata()) for line in ax.get_lines()])
    assert {mdates.num2date(x).year for x in xs} == {2013}
    plt.close(ax.figure)
