"""Forecasts across closes: each run keeps its forecast, later closes set it against actuals.

A forecast report saves its collections forecast into its own unit output folder
(:func:`save_forecast`), so the file is published with the run and only with it. Later closes
read history from the *published* closes under the output root only (:func:`load_forecasts`)::

    <root>/<YYYY-MM-DD>/<unit>/forecast_<unit>_<as_of>.csv   a published close (a folder or a
                                                              symlink to a run folder)
    <root>/forecast_store/forecast_<unit>_<as_of>.csv         the earlier flat layout, still read

Folders whose name is not a calendar date (``.runs``, a staging folder, ``2013-13-99``) are never
read, so an unpublished or half-written run is never history. ``unique_id`` is text throughout:
unit codes such as ``"391"`` or ``"007"`` keep their form when read back and when merged.

:func:`runs_vs_actual` is the report section's one call: earlier runs against what was
collected, or, while there are none yet (the first close of a project), the chosen method's
rolling-origin backtest (:func:`backtest_vs_actual`), with a ``source`` column saying which.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from pathlib import Path

import pandas as pd

from arlib.forecast.backtest import CUTOFF
from arlib.forecast.engine import DS, MODEL, UID, YHAT, Y

AS_OF, STEP, ERROR, SOURCE = "as_of", "step", "error", "source"
EARLIER_RUN, BACKTEST = "earlier run", "backtest"
#: the columns every stored run has (plus the interval columns and ``fitted`` of the forecast)
RUN_COLUMNS = (AS_OF, UID, DS, MODEL, YHAT)
LEGACY_STORE = "forecast_store"
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_date(name: str) -> bool:
    """``YYYY-MM-DD`` and a real calendar day (``2013-13-99`` is not)."""
    if not _STAMP.fullmatch(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def store_path(forecast_store: str | None, output_dir: str) -> Path:
    """The output root whose published closes hold the history: ``forecast_store`` if given
    (the runner passes it), else the root of a runner ``output_dir`` ``<root>/<as_of>/<unit>``,
    else ``output_dir`` itself (a plain papermill run, e.g. ``outputs/scratch``).

    >>> store_path(None, "outputs/2026-10-31/de").as_posix()
    'outputs'
    >>> store_path(None, "outputs/scratch").as_posix(), store_path("closes", "x").as_posix()
    ('outputs/scratch', 'closes')
    """
    if forecast_store:
        return Path(forecast_store)
    out = Path(output_dir)
    return out.parent.parent if _is_date(out.parent.name) else out


def _name(tag: str, stamp: str, kind: str = "forecast") -> str:
    return f"{kind}_{tag + '_' if tag else ''}{stamp}.csv"


def save_forecast(
    fc: pd.DataFrame, directory: str | Path, as_of, tag: str = "", kind: str = "forecast"
) -> Path:
    """Store a run's forecast as ``<directory>/<kind>_[<tag>_]<as_of>.csv`` with an
    ``as_of`` column first (a rerun of the same close date overwrites it, byte for byte the
    same for the same input). ``directory`` is the run's own unit output folder, so the file is
    published with the run; ``tag`` is the unit; ``kind`` names what is kept (``forecast``:
    the collections forecast; ``customers``: expected cash per customer)."""
    stamp = pd.Timestamp(as_of).strftime("%Y-%m-%d")
    file = Path(directory) / _name(tag, stamp, kind)
    file.parent.mkdir(parents=True, exist_ok=True)
    out = fc.drop(columns=[AS_OF], errors="ignore").assign(**{AS_OF: stamp})
    out[[AS_OF, *[c for c in out.columns if c != AS_OF]]].to_csv(
        file, index=False, date_format="%Y-%m-%d"
    )
    return file


def _run_files(store: str | Path, tag: str, kind: str = "forecast") -> dict[str, Path]:
    """``as_of`` (``YYYY-MM-DD``) -> stored forecast file of ``tag``, oldest first: the published
    close folders ``<store>/<date>/<tag>/`` and the legacy ``<store>/forecast_store/``; when
    both hold the same ``as_of``, the close folder wins."""
    root, pattern = Path(store), _name(tag, "????-??-??", kind)
    legacy = sorted((root / LEGACY_STORE).glob(pattern))
    closes = sorted(
        f
        for d in root.glob("????-??-??")
        if _is_date(d.name) and d.is_dir()
        for f in (d / tag).glob(pattern)
    )
    files = {f.stem[-10:]: f for f in [*legacy, *closes] if _is_date(f.stem[-10:])}
    return dict(sorted(files.items()))


def empty_runs() -> pd.DataFrame:
    """No stored runs: the :data:`RUN_COLUMNS` with their types."""
    return pd.DataFrame(
        {
            AS_OF: pd.Series(dtype="datetime64[ns]"),
            UID: pd.Series(dtype=object),
            DS: pd.Series(dtype="datetime64[ns]"),
            MODEL: pd.Series(dtype=object),
            YHAT: pd.Series(dtype=float),
        }
    )


def _read(file: Path) -> pd.DataFrame | None:
    """One stored forecast, typed (``unique_id`` and ``model`` text, dates, numbers); ``None``
    with a warning naming the file when it cannot be read or lacks a column."""
    try:
        df = pd.read_csv(file, dtype={UID: str, MODEL: str})
        missing = [c for c in RUN_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"it lacks the column(s) {missing}")
        for col in (AS_OF, DS):
            df[col] = pd.to_datetime(df[col], format="ISO8601").astype("datetime64[ns]")
        df[YHAT] = pd.to_numeric(df[YHAT]).astype(float)
    except (OSError, ValueError) as e:
        warnings.warn(
            f"forecast history: skipped {file}: {e}. Fix: delete or rewrite the file "
            "(a rerun of that close writes it again).",
            UserWarning,
            stacklevel=3,
        )
        return None
    return df


def load_forecasts(
    store: str | Path, tag: str, before=None, kind: str = "forecast"
) -> pd.DataFrame:
    """Forecasts of unit ``tag`` stored by the published closes under the output root
    ``store`` (see :func:`_run_files`), oldest run first; with ``before``, only runs whose
    ``as_of`` is earlier (a report never sees its own or later runs). A file that cannot be
    read is skipped with a warning naming it.

    Returns ``as_of, unique_id, ds, model, yhat`` and the other stored columns (intervals,
    ``fitted``), ``unique_id`` as text, ``as_of`` and ``ds`` as datetimes; empty (same
    columns) if there are none.
    """
    files = _run_files(store, tag, kind)
    if before is not None:
        cut = pd.Timestamp(before).strftime("%Y-%m-%d")
        files = {k: f for k, f in files.items() if k < cut}
    frames = [df for df in map(_read, files.values()) if df is not None and len(df)]
    if not frames:
        return empty_runs()
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values([AS_OF, UID, MODEL, DS], kind="stable").reset_index(drop=True)


def forecast_vs_actual(stored: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Stored forecasts (from :func:`load_forecasts`) next to what was collected.

    Returns the stored columns plus ``step`` (1 = first period after ``as_of``), ``y`` and
    ``error`` (``yhat - y``) for every forecast period that has an actual by now, sorted by
    ``as_of, unique_id, model, ds``. ``unique_id`` is compared as text on both sides.
    """
    st = stored.assign(**{UID: stored[UID].astype(str)})
    st = st.sort_values([AS_OF, UID, MODEL, DS], kind="stable")
    st[STEP] = st.groupby([AS_OF, UID, MODEL]).cumcount().astype("int64") + 1
    act = actuals[[UID, DS, Y]].assign(
        **{
            UID: actuals[UID].astype(str),
            DS: pd.to_datetime(actuals[DS]).astype("datetime64[ns]"),
            Y: actuals[Y].astype(float),
        }
    )
    out = st.merge(act, on=[UID, DS], how="inner")
    out[ERROR] = out[YHAT] - out[Y]
    return out.sort_values([AS_OF, UID, MODEL, DS], kind="stable").reset_index(drop=True)


def backtest_vs_actual(
    backtest_runs: pd.DataFrame, series: pd.DataFrame, method: str
) -> pd.DataFrame:
    """The ``method``'s rolling-origin backtest forecasts (from
    :func:`arlib.forecast.backtest.backtest`) as if each cut-off had been a run: the columns of
    :func:`forecast_vs_actual` with ``as_of`` = the ``cutoff``, plus ``source`` = "backtest".
    """
    part = backtest_runs.loc[backtest_runs[MODEL] == method].drop(columns=[Y], errors="ignore")
    part = part.rename(columns={CUTOFF: AS_OF})
    part = part[[AS_OF, *[c for c in part.columns if c != AS_OF]]].assign(
        **{c: pd.to_datetime(part[c]).astype("datetime64[ns]") for c in (AS_OF, DS)}
    )
    return forecast_vs_actual(part, series).assign(**{SOURCE: BACKTEST})


def runs_vs_actual(
    store: str | Path,
    tag: str,
    as_of,
    series: pd.DataFrame,
    backtest_runs: pd.DataFrame | None = None,
    method: str | None = None,
) -> pd.DataFrame:
    """The section "forecast against actual, run by run": the forecasts of earlier published
    closes of ``tag`` (before ``as_of``) against ``series`` (``unique_id, ds, y``) with
    ``source`` = "earlier run" when any has an actual by now; else the ``method``'s backtest
    (:func:`backtest_vs_actual`, ``source`` = "backtest"), so the section is not empty on a
    project's first close.

    Returns the columns of :func:`forecast_vs_actual` plus ``source``; with neither earlier
    runs nor a backtest, an empty frame with ``as_of, unique_id, ds, model, yhat, step, y,
    error, source`` typed.
    """
    stored = load_forecasts(store, tag, before=as_of)
    earlier = forecast_vs_actual(stored, series).assign(**{SOURCE: EARLIER_RUN})
    if len(earlier) or backtest_runs is None or method is None:
        return earlier
    return backtest_vs_actual(backtest_runs, series, method)
