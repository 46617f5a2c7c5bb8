"""Group roll-up on hand-made unit figures."""

from __future__ import annotations

import pytest

from arlib.errors import ConfigError
from arlib.report.group import GROUP, consolidate, kpis, overview, ranking

UNITS = [
    # a: EUR. CEI = (ar0 + S - open) / (ar0 + S - current) = (80 + 300 - 100) / (80 + 300 - 60) = 280/320
    {
        "business_unit": "a",
        "currency": "EUR",
        "open_ar": 100.0,
        "current_ar": 60.0,
        "past_due_ar": 40.0,
        "ar_window_start": 80.0,
        "billings_window": 300.0,
        "collections_window": 270.0,
        "window_days": 92,
        "dso": 30.67,
        "past_due_share": 0.4,
        "cei": 87.5,
        "allowance": 10.0,
        "coverage_ratio": 0.1,
    },
    # b: USD at 0.5 EUR -> open 100, current 90, past due 10, ar0 50, S 150, allowance 1
    {
        "business_unit": "b",
        "currency": "USD",
        "open_ar": 200.0,
        "current_ar": 180.0,
        "past_due_ar": 20.0,
        "ar_window_start": 100.0,
        "billings_window": 300.0,
        "collections_window": 180.0,
        "window_days": 92,
        "dso": 61.33,
        "past_due_share": 0.1,
        "cei": 72.73,
        "allowance": 2.0,
        "coverage_ratio": 0.01,
    },
]


def test_group_figures_are_recomputed_from_converted_amounts():
    g = consolidate(UNITS, "EUR", {"USD": 0.5})
    row = g.loc[GROUP]
    assert row["open_ar"] == 200.0 and row["past_due_ar"] == 50.0 and row["allowance"] == 11.0
    assert row["past_due_share"] == pytest.approx(50 / 200)
    assert row["dso"] == pytest.approx(200 * 92 / 450)  # not the mean of 30.67 and 61.33
    assert row["cei"] == pytest.approx(100 * (130 + 450 - 200) / (130 + 450 - 150))
    assert row["coverage_ratio"] == pytest.approx(11 / 200)
    assert g.loc["b", "open_ar"] == 100.0 and g.loc["b", "dso"] == 61.33  # unit ratios as reported


def test_missing_fx_rate_names_the_currency():
    with pytest.raises(ConfigError) as e:
        consolidate(UNITS, "EUR", {})
    assert str(e.value).startswith("parameter fx_rates: has no rate for USD -> EUR")


def test_ranking_directions():
    r = ranking(consolidate(UNITS, "EUR", {"USD": 0.5}))
    assert r.loc["a", "dso"] == 1 and r.loc["b", "dso"] == 2  # lower DSO is better
    assert r.loc["a", "cei"] == 1  # higher CEI is better
    assert r.loc["b", "past_due_share"] == 1
    # size and provision coverage are not performance: never ranked (cockpit tests: 3 units)
    assert not {"allowance", "coverage_ratio", "forecast_collections_next"} & set(r)


def test_overview_and_kpis():
    g = consolidate(UNITS, "EUR", {"USD": 0.5})
    o = overview(g)
    assert o["Business unit"].tolist() == ["a", "b", "Group"] and "Open AR" in o
    assert o["Open AR"].tolist() == [100.0, 100.0, 200.0]  # b: 200 USD at 0.5
    k = kpis(g, "EUR")
    assert k["units"] == ["a", "b"] and k["open_ar"] == 200.0 and k["currency"] == "EUR"


def test_units_without_figures_are_left_out(tmp_path):
    import json

    from arlib.report.group import load_unit_kpis

    for bu, k in (
        ("a", UNITS[0]),
        ("b", UNITS[1]),
        ("failed", {"business_unit": "failed", "as_of": "x"}),
    ):
        (tmp_path / bu).mkdir()
        (tmp_path / bu / "kpis.json").write_text(json.dumps(k))
    (tmp_path / "group").mkdir()
    (tmp_path / "group" / "kpis.json").write_text(
        json.dumps({"business_unit": "GROUP", "open_ar": 1.0})
    )
    assert [k["business_unit"] for k in load_unit_kpis(tmp_path)] == ["a", "b"]
