"""Charts of the cash forecasts: fan chart, runoff, backtest and forecast-vs-actual."""

from __future__ import annotations

import pandas as pd

from arlib.i18n import t
from arlib.report.plots import PALETTE, new_axes, plain_text, thousands

UID, DS, MODEL, YHAT, Y = "unique_id", "ds", "model", "yhat", "y"
#: the sentence that stands in for the forecast-against-actual chart and table when there is
#: nothing to compare (message id)
NO_EARLIER = "No earlier forecasts to compare yet."


def forecast_fan(
    history: pd.DataFrame,
    fc: pd.DataFrame,
    levels=(80, 95),
    currency: str = "",
    title: str = "Collections: history and forecast",
    ax=None,
):
    """History (``ds, y``) as a line and the forecast (``ds, yhat`` and interval columns of
    one series and model) with shaded prediction intervals, widest first."""
    ax = new_axes(ax)
    ax.plot(history[DS], history[Y], color=PALETTE[7], lw=1.5, label=t("collected"))
    for i, lv in enumerate(sorted(levels, reverse=True)):
        ax.fill_between(
            fc[DS],
            fc[f"{YHAT}_lo_{lv}"],
            fc[f"{YHAT}_hi_{lv}"],
            color=PALETTE[0],
            alpha=0.15 + 0.15 * i,
            lw=0,
            label=t("{lv}% interval").format(lv=lv),
        )
    label = (
        t("forecast ({model})").format(model=t(str(fc[MODEL].iloc[0])))
        if MODEL in fc and len(fc)
        else t("forecast")
    )
    ax.plot(fc[DS], fc[YHAT], color=PALETTE[0], lw=2, label=label)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set(title=t(title), xlabel="", ylabel=t("cash {currency}").format(currency=currency).strip())
    return thousands(ax)


def runoff_bars(runoff: pd.DataFrame, currency: str = "", ax=None):
    """Expected cash from today's open items per future period (stacked by ``unique_id``
    when the runoff is by group), with the expected write-offs as a line."""
    ax = new_axes(ax)
    wide = runoff.pivot_table(index=DS, columns=UID, values=YHAT, aggfunc="sum").fillna(0.0)
    labels = [d.strftime("%Y-%m-%d") for d in wide.index]
    bottom = None
    for i, col in enumerate(wide.columns):
        ax.bar(
            labels,
            wide[col],
            bottom=bottom,
            color=PALETTE[i % len(PALETTE)],
            label=plain_text([t(str(col))])[0],
        )
        bottom = wide[col] if bottom is None else bottom + wide[col]
    wo = runoff.groupby(DS)["write_off"].sum().reindex(wide.index)
    ax.plot(
        labels, wo.to_numpy(), color=PALETTE[3], marker="o", lw=1.5, label=t("expected write-off")
    )
    ax.legend(fontsize=8, frameon=False)
    ax.set(
        title=t("Runoff of today's open items"),
        xlabel=t("period starting"),
        ylabel=t("expected cash {currency}").format(currency=currency).strip(),
    )
    ax.tick_params(axis="x", labelrotation=45)
    return thousands(ax)


def backtest_chart(bt: pd.DataFrame, model: str, history: pd.DataFrame | None = None, ax=None):
    """Actuals against one method's forecasts from every backtest cut-off (one line each)."""
    ax = new_axes(ax)
    part = bt.loc[bt[MODEL] == model]
    actual = history if history is not None else part.drop_duplicates(DS)[[DS, Y]]
    actual = actual.sort_values(DS)
    ax.plot(actual[DS], actual[Y], color=PALETTE[7], lw=2, label=t("actual"))
    for i, (cut, g) in enumerate(part.groupby("cutoff", sort=True)):
        ax.plot(
            g[DS],
            g[YHAT],
            color=PALETTE[i % 6],
            lw=1.2,
            marker=".",
            label=t("{model} from {cutoff}").format(
                model=t(model), cutoff=f"{pd.Timestamp(cut):%Y-%m}"
            ),
        )
    ax.legend(fontsize=7, frameon=False, ncols=2)
    ax.set(
        title=t("Backtest: {model} forecast vs actual").format(model=t(model)),
        xlabel="",
        ylabel=t("cash"),
    )
    return thousands(ax)


def accuracy_bars(acc: pd.DataFrame, metric: str = "wape", chosen: str | None = None, ax=None):
    """One bar per method for ``metric`` (mean over series), the chosen method highlighted."""
    ax = new_axes(ax)
    vals = acc.groupby(MODEL)[metric].mean().sort_values()
    colours = [PALETTE[3] if m == chosen else PALETTE[0] for m in vals.index]
    ax.barh([t(str(m)) for m in vals.index], vals.to_numpy(), color=colours)
    ax.invert_yaxis()
    ax.set(
        title=t("Backtest {metric} by method (lower is better)").format(metric=metric.upper()),
        xlabel=metric.upper(),
        ylabel="",
    )
    return ax


def runs_chart(fva: pd.DataFrame, ax=None):
    """Earlier forecasts (one line per ``as_of``) against what was collected, from
    :func:`arlib.forecast.history.runs_vs_actual`. When its ``source`` is "backtest" (a first
    close), the lines are the backtest's cut-offs and the title says so. An empty frame draws
    nothing and returns ``None``: with nothing to compare there is no chart, and the table below
    it says so in one sentence (an empty date axis would also start in 1970)."""
    if fva.empty:
        return None
    ax = new_axes(ax)
    backtest = "source" in fva and (fva["source"] == "backtest").all()
    actual = fva.drop_duplicates(DS).sort_values(DS)
    ax.plot(pd.to_datetime(actual[DS]), actual[Y], color=PALETTE[7], lw=2, label=t("actual"))
    for i, (as_of, g) in enumerate(fva.groupby("as_of", sort=True)):
        as_of, g = pd.Timestamp(as_of), g.sort_values(DS)
        label = (
            t("{model} from {cutoff}").format(model=g[MODEL].iloc[0], cutoff=f"{as_of:%Y-%m}")
            if backtest
            else t("run {date}").format(date=f"{as_of:%Y-%m-%d}")
        )
        ax.plot(
            pd.to_datetime(g[DS]), g[YHAT], color=PALETTE[i % 6], marker=".", lw=1.2, label=label
        )
    ax.legend(fontsize=7, frameon=False)
    title = (
        t("Backtest forecasts vs actual collections (no earlier runs yet)")
        if backtest
        else t("Earlier forecasts vs actual collections")
    )
    ax.set(title=title, xlabel="", ylabel=t("cash"))
    return thousands(ax)
