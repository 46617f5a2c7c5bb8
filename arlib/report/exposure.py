"""Group exposure: customers who owe in more than one business unit.

Each unit's health report writes its customers' balances at the close
(:func:`write_balances`, ``customer_balances.json`` beside its reports; removed with the unit's
other outputs if the unit fails). The group report reads those of this run's units
(:func:`shared_customers`), converts them to the group currency at the rates used for the
consolidation, and lists the customers found in two or more units. A customer is the same
across units when its name matches, ignoring case and spacing (units keep their own customer
ids), or, for a customer without a name, when its id matches.

>>> customer_key("  Alpen  Trading ", "DE-C1"), customer_key(None, "C-9")
('alpen trading', 'id:C-9')
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from arlib.files import write_json
from arlib.i18n import t
from arlib.report.cockpit import Html
from arlib.report.group import rate_for
from arlib.report.summary import format_value

BALANCES_FILE = "customer_balances.json"


def customer_key(name, customer_id) -> str:
    """The key that identifies a customer across units: its name folded, else its id."""
    if isinstance(name, str) and name.strip():
        return " ".join(name.split()).casefold()
    return f"id:{customer_id}"


def write_balances(customers: pd.DataFrame, output_dir: str | Path) -> Path:
    """Write the open balances of ``customers`` (from :func:`arlib.health.breakdown.customer_kpis`:
    ``customer_id, name, open_ar, past_due_ar``) to ``output_dir/customer_balances.json``;
    customers with nothing open are left out."""
    rows = customers.loc[customers["open_ar"].round(2) != 0]
    path = Path(output_dir) / BALANCES_FILE
    names = rows["name"] if "name" in rows else pd.Series(None, index=rows.index)
    write_json(
        path,
        [
            {
                "customer_id": str(cid),
                "name": None if pd.isna(name) else str(name),
                "open_ar": round(float(ar), 2),
                "past_due_ar": round(float(pd_), 2),
            }
            for cid, name, ar, pd_ in zip(
                rows["customer_id"], names, rows["open_ar"], rows["past_due_ar"], strict=True
            )
        ],
    )
    return path


def read_balances(
    reports_dir: str | Path, unit_kpis: list[dict], group_currency: str, fx_rates: dict
) -> tuple[pd.DataFrame, list[str]]:
    """Every unit's customer balances in the group currency (``business_unit, customer_id, name,
    key, open_ar, past_due_ar``) and the units that wrote none."""
    frames, missing = [], []
    for k in unit_kpis:
        bu = str(k["business_unit"])
        path = Path(reports_dir) / bu / BALANCES_FILE
        if not path.exists():
            missing.append(bu)
            continue
        rate = rate_for(k.get("currency", group_currency), group_currency, fx_rates)
        df = pd.DataFrame(
            json.loads(path.read_text(encoding="utf-8")),
            columns=["customer_id", "name", "open_ar", "past_due_ar"],
        )
        df[["open_ar", "past_due_ar"]] = df[["open_ar", "past_due_ar"]].astype(float) * rate
        frames.append(df.assign(business_unit=bu))
    if not frames:
        return pd.DataFrame(columns=["business_unit", "customer_id", "name", "key"]), missing
    out = pd.concat(frames, ignore_index=True)
    out["key"] = [customer_key(n, c) for n, c in zip(out["name"], out["customer_id"], strict=True)]
    return out, missing


def shared_customers(balances: pd.DataFrame, group_open_ar: float | None = None) -> pd.DataFrame:
    """Customers with open balances in two or more units, largest total first: ``customer``
    (name or id), ``customer_ids``, ``units`` (each with its open AR), ``open_ar``,
    ``past_due_ar`` (group currency) and ``share`` of the group's open AR."""
    cols = ["customer", "customer_ids", "units", "open_ar", "past_due_ar", "share"]
    if balances.empty:
        return pd.DataFrame(columns=cols)
    per_unit = balances.groupby(["key", "business_unit"], sort=True).agg(
        customer=("name", "first"),
        customer_id=("customer_id", "first"),
        open_ar=("open_ar", "sum"),
        past_due_ar=("past_due_ar", "sum"),
    )
    per_unit = per_unit.reset_index()
    n_units = per_unit.groupby("key")["business_unit"].nunique()
    shared = per_unit[per_unit["key"].isin(n_units.index[n_units > 1])]
    rows = []
    for _key, g in shared.groupby("key", sort=False):
        name = g["customer"].dropna()
        rows.append(
            {
                "customer": name.iloc[0] if len(name) else str(g["customer_id"].iloc[0]),
                "customer_ids": ", ".join(sorted(set(g["customer_id"].astype(str)))),
                "units": " · ".join(
                    f"{bu} {format_value(v, 'amount')}"
                    for bu, v in zip(g["business_unit"], g["open_ar"], strict=True)
                ),
                "open_ar": round(float(g["open_ar"].sum()), 2),
                "past_due_ar": round(float(g["past_due_ar"].sum()), 2),
            }
        )
    out = pd.DataFrame(rows, columns=cols[:-1])
    out["share"] = out["open_ar"] / group_open_ar if group_open_ar else float("nan")
    return out.sort_values(["open_ar", "customer"], ascending=[False, True], kind="stable")[
        cols
    ].reset_index(drop=True)


def table(shared: pd.DataFrame, currency: str, top: int = 20, lang: str = "en"):
    """The ``top`` shared customers as a report table, headers naming the group currency; None
    (nothing shown) when there are none: the sentence above says so."""
    from arlib.report.tables import table as report_table

    if shared.empty:
        return None

    cur = f" ({currency})"
    money = {"open_ar": t("Open AR", lang) + cur, "past_due_ar": t("Past-due AR", lang) + cur}
    names = {
        "customer": t("Customer", lang),
        "customer_ids": t("Customer ids", lang),
        "units": t("Open AR by unit", lang) + cur,
        **money,
        "share": t("Share of group open AR", lang),
    }
    return report_table(
        shared.head(top).rename(columns=names), money=list(money.values()), pct=[names["share"]]
    )


def summary(shared: pd.DataFrame, missing: list[str], currency: str, lang: str = "en") -> Html:
    """One or two sentences above the table: how many customers, how much, which units had no
    balances to read."""
    if shared.empty:
        s = t("No customer owes in more than one business unit.", lang)
    else:
        s = t(
            "{n} customers owe in more than one business unit: {v} {cur}, {share} of group open AR.",
            lang,
        ).format(
            n=len(shared),
            v=format_value(float(shared["open_ar"].sum()), "amount"),
            cur=currency,
            share=format_value(float(shared["share"].sum()), "share")
            if shared["share"].notna().all()
            else t("n/a", lang),
        )
    if missing:
        s += " " + t("Units without customer balances (not included): {units}.", lang).format(
            units=", ".join(missing)
        )
    return Html(f"<p>{html.escape(s)}</p>")
