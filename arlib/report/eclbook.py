"""The ECL pack's live sheets: formulas an auditor can change and re-perform in Excel.

*ECL matrix*: one line per collective bucket with its exposure, historical (base) loss rate,
the loss rate after the forward-looking overlay as a formula over the scenario block beside it
(``sum of weight x MIN(base x (1 + adjustment), 1)``) and ``allowance = ROUND(exposure x rate,
2)``; one line per specifically provisioned customer (``ROUND(exposure x rate, 2)``); totals as
``SUM``. Changing a base rate, a scenario weight or an adjustment recomputes the allowance.
Booked pooled (``provision_booking: pooled``), one line per pool and bucket.

*ECL roll-forward*: each month's opening is the previous closing, ``charge = new provisions -
releases`` and ``closing = opening + charge - write-offs + recoveries + FX``.

*ECL pools*: the provision matrix per pool, ``allowance = ROUND(exposure x rate, 2)``, pool
totals and the grand total as ``SUM``.

Rounding: ``ROUND`` is half away from zero, the report's half up for the non-negative amounts
here, so the sheets give the report's figures to the cent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from arlib.provision.pools import lines_of
from arlib.report.excel import Formula, add_formula_sheet
from arlib.schemas import C

MATRIX, ROLLFORWARD, POOLS = "ECL matrix", "ECL roll-forward", "ECL pools"
_ROLL = ["new_provisions", "releases", "charge", "write_offs", "recoveries", "fx"]


def matrix_sheet(
    output_dir, allowance: pd.DataFrame, specific: pd.DataFrame, scenarios: pd.DataFrame
) -> Path:
    """The booked allowance (:func:`arlib.provision.estimate_allowance`) with live formulas;
    ``specific`` is :func:`arlib.provision.specific_table`, ``scenarios``
    :func:`arlib.provision.scenario_table` of the settings' adjustment. Booked pooled, the
    collective lines are the pools' (``pool: bucket``), so a pool's rate can be changed."""
    coll = lines_of(allowance)
    if allowance.attrs.get("pool_lines"):
        coll = coll.assign(**{C.bucket: coll["pool"] + ": " + coll[C.bucket]})
    rows: list[list] = [["line", "exposure", "base_loss_rate", "loss_rate", "allowance"]]
    sc = list(scenarios.itertuples(index=False))
    rows[0] += ["", "scenario", "weight", "adjustment"]
    for r, b in enumerate(coll.itertuples(index=False), start=2):
        rate = "+".join(f"$H${k}*MIN(C{r}*(1+$I${k}),1)" for k in range(2, 2 + len(sc)))
        rows.append(
            [
                b.bucket,
                b.exposure,
                b.base_loss_rate,
                Formula(f"={rate}"),
                Formula(f"=ROUND(B{r}*D{r},2)"),
            ]
        )
    for s in specific.itertuples(index=False):
        r = len(rows) + 1
        line = f"specific: {s.name if isinstance(s.name, str) else s.customer_id}"
        rows.append(
            [line, s.exposure, s.loss_rate, Formula(f"=C{r}"), Formula(f"=ROUND(B{r}*D{r},2)")]
        )
    t = len(rows) + 1
    rows.append(
        [
            "total",
            Formula(f"=SUM(B2:B{t - 1})"),
            None,
            Formula(f"=IF(B{t}=0,0,E{t}/B{t})"),
            Formula(f"=SUM(E2:E{t - 1})"),
        ]
    )
    for k, s in enumerate(sc):
        row = rows[k + 1] if k + 1 < len(rows) else [None] * 5
        if k + 1 >= len(rows):
            rows.append(row)
        row += [None] * (5 - len(row)) + ["", s.scenario, s.weight, s.adjustment]
    return add_formula_sheet(
        output_dir, MATRIX, rows, "BE", "CDHI", {"A": 40, "G": 14, "H": 10, "I": 12}
    )


def rollforward_sheet(output_dir, rollforward: pd.DataFrame) -> Path:
    """The roll-forward (:func:`arlib.provision.rollforward`) with its sums as formulas."""
    rows: list[list] = [[C.month_end, "opening", *_ROLL, "closing"]]
    for r, (d, row) in enumerate(rollforward.iterrows(), start=2):
        opening = row["opening"] if r == 2 else Formula(f"=I{r - 1}")
        rows.append(
            [
                pd.Timestamp(d),
                opening,
                row["new_provisions"],
                row["releases"],
                Formula(f"=C{r}-D{r}"),
                row["write_offs"],
                row["recoveries"],
                row["fx"],
                Formula(f"=B{r}+E{r}-F{r}+G{r}+H{r}"),
            ]
        )
    n = len(rows)
    rows.append(
        ["total", Formula("=B2")]
        + [Formula(f"=SUM({c}2:{c}{n})") for c in "CDEFGH"]
        + [Formula(f"=I{n}")]
    )
    return add_formula_sheet(output_dir, ROLLFORWARD, rows, "BCDEFGHI", "", {"A": 12})


def pools_sheet(output_dir, pooled: pd.DataFrame) -> Path:
    """The provision matrix per pool (:func:`arlib.provision.ecl.pooled_matrix`) with live
    formulas."""
    rows: list[list] = [["pool", C.bucket, "exposure", "base_loss_rate", "loss_rate", "allowance"]]
    totals, start = [], 2
    for p in pooled.itertuples(index=False):
        r = len(rows) + 1
        if p.pool == "total":
            rows.append(
                [
                    "total",
                    "total",
                    Formula("=" + "+".join(f"C{k}" for k in totals) if totals else "=0"),
                    None,
                    Formula(f"=IF(C{r}=0,0,F{r}/C{r})"),
                    Formula("=" + "+".join(f"F{k}" for k in totals) if totals else "=0"),
                ]
            )
        elif p.bucket == "total":
            rows.append(
                [
                    p.pool,
                    "total",
                    Formula(f"=SUM(C{start}:C{r - 1})"),
                    None,
                    Formula(f"=IF(C{r}=0,0,F{r}/C{r})"),
                    Formula(f"=SUM(F{start}:F{r - 1})"),
                ]
            )
            totals.append(r)
            start = r + 1
        else:
            rows.append(
                [
                    p.pool,
                    p.bucket,
                    p.exposure,
                    p.base_loss_rate,
                    p.loss_rate,
                    Formula(f"=ROUND(C{r}*E{r},2)"),
                ]
            )
    return add_formula_sheet(output_dir, POOLS, rows, "CF", "DE", {"A": 16})
