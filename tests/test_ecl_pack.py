"""The ECL pack: pooled provision matrix, overlay step, sensitivity, loss-rate backtest and the
Excel sheets whose formulas, evaluated, give the report's figures to the cent."""

from __future__ import annotations

import re
import warnings
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pandas as pd
import pytest
from conftest import invoices, transactions

from arlib import demo, provision
from arlib.errors import ConfigError
from arlib.ledger import Ledger
from arlib.provision import ecl, pools
from arlib.provision.estimate import (
    ProvisionSettings,
    estimate_allowance,
    rollforward,
    scenario_table,
    specific_table,
)
from arlib.report import eclbook, excel
from arlib.schemas import C

EXPOSURE = {"current": 1000.0, "1-30": 200.0}
RATES = {"current": 0.01, "1-30": 0.125}
SCEN = {"base": (0.5, 0.0), "down": (0.5, 0.2)}
AS_OF = "2026-10-31"


def test_sensitivity_grid_by_hand():
    g = ecl.sensitivity(EXPOSURE, RATES, SCEN, rate_shifts=(0.0, 0.2), overlay_shifts=(0.0, 0.1))
    g = g.set_index("rate_shift")
    # booked: 1000 x (0.5 x 1% + 0.5 x 1.2%) = 11; 200 x (0.5 x 12.5% + 0.5 x 15%) = 27.5
    assert g.loc[0.0, "overlay_+0%"] == 38.5
    # overlay +10 points: adjustments 10% and 30%: 1000 x 1.2% = 12, 200 x 15% = 30
    assert g.loc[0.0, "overlay_+10%"] == 42.0
    # rates +20%: 1000 x 1.2% x 1.1 = 13.2, 200 x 15% x 1.1 = 33
    assert g.loc[0.2, "overlay_+0%"] == 46.2
    capped = ecl.sensitivity(
        {"x": 100.0}, {"x": 0.9}, SCEN, rate_shifts=(0.2,), overlay_shifts=(0.0,)
    )
    # 0.9 x 1.2 = 1.08 -> capped at 1 before the overlay; then min(1.2, 1) = 1: 100
    assert capped["overlay_+0%"].tolist() == [100.0]


def test_overlay_is_its_own_step_by_hand():
    table = pd.DataFrame(
        {
            C.bucket: ["current", "1-30", "specific", "total"],
            "exposure": [1000.0, 200.0, 0.0, 1200.0],
            "base_loss_rate": [0.01, 0.125, None, None],
            "loss_rate": [0.011, 0.1375, 0.0, 0.0],
            "allowance": [11.0, 27.5, 0.0, 38.5],
        }
    )
    steps = ecl.overlay_steps(table, SCEN).set_index("step")
    assert steps.loc["base", "allowance"] == 35.0 and steps.loc["down", "allowance"] == 42.0
    assert steps.loc["historical loss rates", "allowance"] == 35.0
    assert steps.loc["forward-looking overlay", "allowance"] == 3.5
    assert steps.loc["collective allowance booked", "allowance"] == 38.5
    assert steps["weighted"].sum() == pytest.approx(38.5)


@pytest.fixture(scope="module")
def uk():
    f = demo.generate(seed=3, units={"uk": demo.UNITS["uk"]}, start="2024-07-01", end=AS_OF)
    return Ledger(f["invoices"], f["transactions"], f["customers"], validate=False)


def test_pooled_matrix_is_each_pool_on_its_own(uk):
    s = ProvisionSettings(specific_statuses=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = ecl.pooled_matrix(uk, AS_OF, s)
        one = ecl.pooled_matrix(uk, AS_OF, s, pool_by="")
    segs = sorted(uk.customers[C.segment].unique())
    assert sorted(set(pm["pool"]) - {"total"}) == segs
    for seg in segs:  # second route: the pool's own ledger through the booked allowance
        ids = set(uk.customers.loc[uk.customers[C.segment] == seg, C.customer_id])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            own = estimate_allowance(pools.sub_ledger(uk, ids), AS_OF, s)
        got = pm.loc[(pm["pool"] == seg) & (pm[C.bucket] == "total"), "allowance"].item()
        assert got == own.iloc[-1]["allowance"]
    lines = pm.loc[pm[C.bucket] != "total", "allowance"]
    assert pm.iloc[-1]["allowance"] == round(lines.sum(), 2)
    # one pool is the booked collective allowance
    assert one.iloc[-1]["allowance"] == estimate_allowance(uk, AS_OF, s).iloc[-1]["allowance"]


def test_loss_backtest_compares_allowance_with_later_write_offs(uk):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = ecl.loss_backtest(uk, AS_OF, ProvisionSettings(), months=3)
    assert list(bt[C.month_end]) == list(pd.to_datetime(["2025-08-31", "2025-09-30", "2025-10-31"]))
    # independent: write-offs of the next 12 months on the invoices open at the first date
    d = bt[C.month_end].iloc[0]
    open_ids = uk.open_items(d)[C.invoice_id]
    t = uk.transactions
    wo = t.loc[
        (t[C.kind] == "write_off") & (t[C.date] > d) & (t[C.date] <= d + pd.DateOffset(months=12))
    ]
    assert bt["written_off"].iloc[0] == pytest.approx(
        wo.loc[wo[C.invoice_id].isin(open_ids), C.amount].sum()
    )
    assert (bt["difference"] == (bt["allowance"] - bt["written_off"]).round(2)).all()
    assert bt["realised_rate"].iloc[0] == pytest.approx(
        bt["written_off"].iloc[0] / bt["open_ar"].iloc[0]
    )


# -- a small evaluator for the formula shapes the pack writes ------------------------------------
_REF = re.compile(r"\$?([A-Z]+)\$?(\d+)")


def _round(x, n):
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP))


def evaluate(ws, cell: str, seen=None):
    """The value of ``cell``: constants as stored; formulas with + - * /, SUM(range),
    ROUND, MIN and IF(a=b, x, y) evaluated recursively."""
    v = ws[cell].value
    if not (isinstance(v, str) and v.startswith("=")) or ws[cell].data_type != "f":
        return 0.0 if v is None else v
    expr = v[1:]
    expr = re.sub(
        r"SUM\(\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)\)",
        lambda m: "(" + "+".join(f"{m[1]}{r}" for r in range(int(m[2]), int(m[4]) + 1)) + ")",
        expr,
    )
    expr = re.sub(r"IF\(([^,]+?)=([^,]+?),", r"IF((\1)==(\2),", expr)
    expr = _REF.sub(lambda m: f"_v('{m[1]}{m[2]}')", expr)
    env = {
        "_v": lambda c: float(evaluate(ws, c)),
        "ROUND": _round,
        "MIN": min,
        "IF": lambda c, a, b: a if c else b,
    }
    return eval(expr, {"__builtins__": {}}, env)  # noqa: S307  formulas written by arlib only


def test_excel_formulas_give_the_reports_figures_to_the_cent(uk, tmp_path):
    s = ProvisionSettings(
        forward_scenarios={"base": [0.6, 0.0], "down": [0.3, 0.3], "up": [0.1, -0.2]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alw = estimate_allowance(uk, AS_OF, s)
        spec = specific_table(uk, AS_OF, s)
        rf = rollforward(uk, AS_OF, 4, s)
        pm = ecl.pooled_matrix(uk, AS_OF, s)
    assert len(spec) > 0  # the demo has insolvent customers: specific lines are tested too
    eclbook.matrix_sheet(tmp_path, alw, spec, scenario_table(s.adjustment))
    eclbook.rollforward_sheet(tmp_path, rf)
    path = eclbook.pools_sheet(tmp_path, pm)
    wb = openpyxl.load_workbook(path)
    ws = wb[eclbook.MATRIX]
    n_coll = len(alw) - 2
    for i in range(n_coll):
        assert ws[f"E{i + 2}"].value.startswith("=ROUND(")
        assert evaluate(ws, f"E{i + 2}") == alw["allowance"].iloc[i]
    total_row = n_coll + len(spec) + 2
    assert ws[f"A{total_row}"].value == "total"
    assert evaluate(ws, f"E{total_row}") == pytest.approx(alw.iloc[-1]["allowance"], abs=1e-6)
    assert round(evaluate(ws, f"B{total_row}"), 2) == alw.iloc[-1]["exposure"]
    # the auditor changes the base rate of the first bucket: the allowance follows
    ws["C2"].value = 0.05
    exp2 = alw["exposure"].iloc[0]
    want = _round(exp2 * (0.6 * 0.05 + 0.3 * 0.05 * 1.3 + 0.1 * 0.05 * 0.8), 2)
    assert evaluate(ws, "E2") == pytest.approx(want, abs=0.011)
    r = wb[eclbook.ROLLFORWARD]
    for i, closing in enumerate(rf["closing"], start=2):
        assert round(evaluate(r, f"I{i}"), 2) == closing
        assert round(evaluate(r, f"E{i}"), 2) == rf["charge"].iloc[i - 2]
    p = wb[eclbook.POOLS]
    last = len(pm) + 1
    assert round(evaluate(p, f"F{last}"), 2) == pm.iloc[-1]["allowance"]


def test_data_text_never_becomes_a_formula(tmp_path):
    path = excel.add_sheet(tmp_path, "x", pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "ok"]}))
    c = openpyxl.load_workbook(path)["x"]["A2"]
    # text, and prefixed by the one guard of every file arlib writes (arlib.files.safe_cell)
    assert c.data_type == "s" and c.value == "'=cmd|' /C calc'!A0"


# -- booking per pool (provision_booking: pooled) -----------------------------------------------
def _two_segment_ledger() -> Ledger:
    """Every month since 2024-07: customer a1 (segment good) is invoiced 100, paid 50 days past
    due; b1 (segment bad) is invoiced 300, never paid, written off 160 days past due. So the
    good pool's loss rates are 0 and the bad pool's 1 in every bucket."""
    inv, txn = [], []
    for m in pd.date_range("2024-07-01", "2026-10-01", freq="MS"):
        for cust, amt in (("a1", 100.0), ("b1", 300.0)):
            iid, due = f"{cust}-{m:%Y%m}", m + pd.Timedelta(days=30)
            inv.append((iid, cust, m, due, amt))
            kind, days = ("payment", 50) if cust == "a1" else ("write_off", 160)
            if due + pd.Timedelta(days=days) <= pd.Timestamp(AS_OF):
                txn.append((iid, due + pd.Timedelta(days=days), amt, kind, cust))
    cust = pd.DataFrame(
        {
            C.customer_id: ["a1", "b1"],
            C.business_unit: "X",
            C.name: ["A", "B"],
            C.segment: ["good", "bad"],
            C.credit_limit: 1000.0,
            C.terms_days: 30,
            C.status: "active",
        }
    )
    return Ledger(invoices(*inv), transactions(*txn), cust)


def test_pooled_matrix_and_booking_on_a_hand_ledger():
    led = _two_segment_ledger()
    pooled = ProvisionSettings(provision_booking="pooled")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the good pool never reaches 61+ days: assumed rates
        pm = ecl.pooled_matrix(led, AS_OF, pooled).set_index(["pool", C.bucket])
        booked = estimate_allowance(led, AS_OF, pooled).set_index(C.bucket)
        one = estimate_allowance(led, AS_OF).set_index(C.bucket)
    # open at 2026-10-31 (by hand): a1 the October and September invoices (current, 1-30);
    # b1 those of Oct (current), Sep (1-30, 30 days past due), Aug (61-90, 61 days), Jul
    # (91-120, 92 days), Jun and May (over 120; April's was written off on 2026-10-08)
    assert pm.loc[("good", "total"), "exposure"] == 200.0
    assert pm.loc[("good", "total"), "allowance"] == 0.0
    assert pm.loc[("bad", "total"), "exposure"] == 1800.0
    assert pm.loc[("bad", "total"), "allowance"] == 1800.0  # 300 + 300 + 300 + 300 + 600, all lost
    assert pm.loc[("total", "total"), "allowance"] == 1800.0
    # booked pooled: the pools' lines added per bucket; current: 100 x 0 + 300 x 1 = 300
    assert booked.loc["current", "allowance"] == 300.0
    assert booked.loc["current", "base_loss_rate"] == pytest.approx(0.75)  # 300 of 400 at 1
    assert booked.loc["total", "allowance"] == 1800.0
    assert booked.attrs["booking"] == "pooled" and len(booked.attrs["pool_lines"]) == 12
    # one pool mixes the two: 1-30 holds 400 at the unit's rate (below 1), not a1 0 + b1 300
    assert one.loc["1-30", "allowance"] < 300.0 and one.loc["total", "allowance"] < 1800.0


@pytest.mark.filterwarnings("ignore:forward-looking adjustment pushes")
def test_pooled_booking_flows_through_overlay_sensitivity_rollforward_and_excel(uk, tmp_path):
    s = ProvisionSettings(
        provision_booking="pooled",
        forward_scenarios={"base": [0.6, 0.0], "down": [0.3, 0.3], "up": [0.1, -0.2]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = provision.fit_models(uk, AS_OF, s)
        alw = estimate_allowance(uk, AS_OF, s, models=models)
        pm = ecl.pooled_matrix(uk, AS_OF, s, models=models)
        fresh = ecl.pooled_matrix(uk, AS_OF, s)  # fitted again: the same figures
        rf = rollforward(uk, AS_OF, 4, s, models=models)
        spec = specific_table(uk, AS_OF, s)
    pd.testing.assert_frame_equal(pm, fresh)
    collective = alw.loc[~alw[C.bucket].isin(["specific", "total"]), "allowance"]
    assert round(collective.sum(), 2) == pm.iloc[-1]["allowance"]  # booked = pooled, to the cent
    lines = pm.loc[pm[C.bucket] != "total"]
    for b in collective.index:  # each bucket is its pools' lines added up
        bucket = alw.at[b, C.bucket]
        assert alw.at[b, "allowance"] == round(
            lines.loc[lines[C.bucket] == bucket, "allowance"].sum(), 2
        )
    assert ecl.method_table(s)["method"].iloc[0] == "roll_rate, per pool of segment"
    steps = ecl.overlay_steps(alw, s.adjustment).set_index("step")
    assert steps.loc["collective allowance booked", "allowance"] == pm.iloc[-1]["allowance"]
    grid = ecl.sensitivity_of(alw, s.adjustment).set_index("rate_shift")
    assert grid.loc[0.0, "overlay_+0%"] == pm.iloc[-1]["allowance"]
    # the roll-forward books the pooled allowance and its components sum to the cent
    assert rf["closing"].iloc[-1] == alw.iloc[-1]["allowance"]
    for r in rf.itertuples():
        assert round(r.new_provisions - r.releases, 2) == r.charge
        assert round(r.opening + r.charge - r.write_offs + r.recoveries + r.fx, 2) == r.closing
    # the Excel matrix has one live line per pool and bucket, evaluating to the booked figures
    ws = openpyxl.load_workbook(
        eclbook.matrix_sheet(tmp_path, alw, spec, scenario_table(s.adjustment))
    )[eclbook.MATRIX]
    assert ws["A2"].value == f"{lines['pool'].iloc[0]}: {lines[C.bucket].iloc[0]}"
    for i, want in enumerate(lines["allowance"], start=2):
        assert evaluate(ws, f"E{i}") == want
    total_row = len(lines) + len(spec) + 2
    assert ws[f"A{total_row}"].value == "total"
    assert evaluate(ws, f"E{total_row}") == pytest.approx(alw.iloc[-1]["allowance"], abs=1e-6)


def test_grade_pools_on_a_hand_ledger():
    led = _two_segment_ledger()
    card = pd.DataFrame({C.customer_id: ["a1", "b1"], "grade": ["A", "E"]})
    s = pools.with_grades(
        led, AS_OF, ProvisionSettings(provision_pools="grade", provision_booking="pooled"), card
    )
    assert dict(s.pool_keys) == {"a1": "A", "b1": "E"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = ecl.pooled_matrix(led, AS_OF, s).set_index(["pool", C.bucket])
        booked = estimate_allowance(led, AS_OF, s)
    assert (
        pm.loc[("A", "total"), "allowance"] == 0.0 and pm.loc[("A", "total"), "exposure"] == 200.0
    )
    assert pm.loc[("E", "total"), "allowance"] == 1800.0
    assert booked.iloc[-1]["allowance"] == 1800.0 and booked.attrs["pools"] == "grade"
    # without grades there is nothing to pool by: refused with the fix, not one silent pool
    with pytest.raises(ConfigError, match="provision_pools"):
        ecl.pooled_matrix(led, AS_OF, ProvisionSettings(provision_pools="grade"))
    # other pools leave the settings as they are
    assert pools.with_grades(led, AS_OF, ProvisionSettings(), card).pool_keys == {}
