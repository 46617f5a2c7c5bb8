"""What changed in the group since the previous month-end, in sentences (the cockpit's
narrative): the group's open AR, the unit that moved most on each KPI, the units that miss a
target, forecast cash against the last actual period, and the allowance. Every sentence is
built from the consolidated figures (:func:`arlib.report.group.consolidate` of this close and of
the previous month-end) and left out when its figures are missing; templates are English
message ids translated through :mod:`arlib.i18n`; data is escaped.
"""

from __future__ import annotations

import html

import pandas as pd

from arlib.i18n import t
from arlib.report.cockpit import (
    TABLE,
    TARGETED,
    Html,
    as_number,
    change_size,
    meets,
    value_text,
)
from arlib.report.group import GROUP
from arlib.report.summary import _period, format_value


def _dir(d: float, lang: str) -> str:
    return t("up", lang) if d > 0 else t("down", lang)


def _largest_move(consolidated, previous, kpi) -> tuple[str, float] | None:
    units = consolidated.drop(index=GROUP, errors="ignore")
    if previous is None or kpi not in units or kpi not in previous:
        return None
    change = (units[kpi].astype(float) - previous[kpi].astype(float).reindex(units.index)).dropna()
    if change.empty or change.abs().max() == 0:
        return None
    bu = change.abs().sort_values(ascending=False, kind="stable").index[0]
    return str(bu), float(change[bu])


def _moves(consolidated, previous, currency, lang) -> list[str]:
    out = []
    g, p = consolidated.loc[GROUP], previous.loc[GROUP] if GROUP in previous.index else {}
    now, before = as_number(g.get("open_ar")), as_number(p.get("open_ar")) if len(p) else None
    if now is not None and before:
        d = now - before
        out.append(
            t("Group open AR is {v}, {dir} {d} ({pct}) on the previous month-end.", lang).format(
                v=value_text(now, "amount", currency, lang),
                dir=_dir(d, lang) if round(d) else t("unchanged", lang),
                d=value_text(abs(d), "amount", currency, lang),
                pct=format_value(abs(d) / before, "share"),
            )
        )
    for kpi in ("open_ar", "dso", "past_due_share", "cei"):
        move = _largest_move(consolidated, previous, kpi)
        if move is None:
            continue
        bu, d = move
        label, kind, _ = TABLE[kpi]
        out.append(
            t("{kpi} moved most in {unit}: {dir} {d} to {v}.", lang).format(
                kpi=t(label, lang),
                unit=bu,
                dir=_dir(d, lang),
                d=change_size(d * (100 if kind == "share" else 1), kind, currency, lang),
                v=value_text(consolidated.at[bu, kpi], kind, currency, lang),
            )
        )
    return out


def _targets(consolidated, targets, lang) -> list[str]:
    units = consolidated.drop(index=GROUP, errors="ignore")
    out = []
    for kpi in TARGETED:
        if kpi not in targets or kpi not in units:
            continue
        label, kind, _ = TABLE[kpi]
        judged = {bu: meets(kpi, v, targets[kpi]) for bu, v in units[kpi].items()}
        missed = [str(bu) for bu, ok in judged.items() if ok is False]
        n = sum(ok is not None for ok in judged.values())
        target = value_text(targets[kpi], kind, "", lang).strip()
        if missed:
            out.append(
                t("{k} of {n} units miss the {kpi} target of {target}: {units}.", lang).format(
                    k=len(missed), n=n, kpi=t(label, lang), target=target, units=", ".join(missed)
                )
            )
        elif n:
            out.append(
                t("Every unit meets the {kpi} target of {target}.", lang).format(
                    kpi=t(label, lang), target=target
                )
            )
    return out


def _cash(consolidated, previous, currency, lang) -> list[str]:
    g = consolidated.loc[GROUP]
    p = previous.loc[GROUP] if previous is not None and GROUP in previous.index else pd.Series()
    out = []
    f, last = (
        as_number(g.get("forecast_collections_next")),
        as_number(p.get("forecast_collections_next")),
    )
    if f is not None:
        s = t("Collections of {v} are forecast for {period}", lang).format(
            v=value_text(f, "amount", currency, lang),
            period=_period(g.get("forecast_period"), lang),
        )
        if last is not None:
            s += t(", {d} {dir} the last period's actual collections", lang).format(
                d=value_text(abs(f - last), "amount", currency, lang),
                dir=t("above", lang) if f >= last else t("below", lang),
            )
        out.append(s + t(".", lang))
    a, before = as_number(g.get("allowance")), as_number(p.get("allowance"))
    if a is not None:
        s = t("The allowance is {v} ({cov} of open AR)", lang).format(
            v=value_text(a, "amount", currency, lang),
            cov=format_value(as_number(g.get("coverage_ratio")), "share"),
        )
        if before is not None and round(a - before):
            s += t(", {dir} {d} on the previous month-end", lang).format(
                dir=_dir(a - before, lang), d=value_text(abs(a - before), "amount", currency, lang)
            )
        out.append(s + t(".", lang))
    return out


def what_changed(
    consolidated: pd.DataFrame,
    previous: pd.DataFrame | None,
    targets: dict,
    currency: str,
    lang: str = "en",
) -> Html:
    """What changed since the previous month-end, in sentences: the group's open AR, the unit
    that moved most on each KPI, the units that miss a target, forecast cash and the allowance.
    A sentence whose figures are missing is left out."""
    sentences = [
        *(_moves(consolidated, previous, currency, lang) if previous is not None else []),
        *_targets(consolidated, targets, lang),
        *_cash(consolidated, previous, currency, lang),
    ]
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
    return Html(f"<ul>{items}</ul>")
