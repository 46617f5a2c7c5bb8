"""The group cockpit on hand-made unit figures: ranking by performance, targets, tiles with their
month-on-month change, what changed, the 12-month trend, group exposure, the index totals row.
Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from test_i18n import ENGLISH

from arlib.config import check_targets
from arlib.errors import ConfigError
from arlib.report import changes, cockpit, exposure, grouptrend
from arlib.report.group import GROUP, consolidate, kpis, previous_month, ranking

FX = {"USD": 0.5, "CNY": 0.1}
TARGETS = {"dso": 45, "cei": 80, "past_due_share": 0.25}


def unit(bu, cur, open_, current, ar0, billings, dso, cei, add, allowance, forecast, prev):
    return {
        "business_unit": bu,
        "currency": cur,
        "open_ar": open_,
        "current_ar": current,
        "past_due_ar": open_ - current,
        "ar_window_start": ar0,
        "billings_window": billings,
        "collections_window": billings / 2,
        "window_days": 92,
        "dso": dso,
        "past_due_share": (open_ - current) / open_,
        "cei": cei,
        "add": add,
        "allowance": allowance,
        "coverage_ratio": allowance / open_,
        "forecast_collections_next": forecast,
        "forecast_period": "2026-11-01",
        "collections_last_month": prev.pop("collected"),
        "collections_last_period": "2026-10-01",
        "allowance_previous": prev.pop("allowance"),
        "previous_month": {**prev, "window_days": 92},
    }


def _prev(open_, current, billings, dso, cei, allowance, collected):
    return {
        "open_ar": open_,
        "current_ar": current,
        "past_due_ar": open_ - current,
        "ar_window_start": open_,
        "billings_window": billings,
        "dso": dso,
        "past_due_share": (open_ - current) / open_,
        "cei": cei,
        "allowance": allowance,
        "collected": collected,
    }


# de EUR; us USD at 0.5; cn CNY at 0.1. In EUR: open 1000 / 2000 / 2000, past due 300 / 200 / 800,
# billings 3000 / 2000 / 1000, allowance 60 / 100 / 280 (coverage 6% / 5% / 14%),
# forecast 900 / 750 / 600. Previous month-end, in EUR: open 900 / 2100 / 1800, past due
# 200 / 100 / 720, allowance 50 / 110 / 250, last month's collections 950 / 800 / 500.
UNITS = [
    unit("de", "EUR", 1000.0, 700.0, 900.0, 3000.0, 30.67, 85.0, 5.0, 60.0, 900.0,
         _prev(900.0, 700.0, 2800.0, 29.57, 88.0, 50.0, 950.0)),
    unit("us", "USD", 4000.0, 3600.0, 3800.0, 4000.0, 92.0, 90.0, 2.0, 200.0, 1500.0,
         _prev(4200.0, 4000.0, 4200.0, 92.0, 89.0, 220.0, 1600.0)),
    unit("cn", "CNY", 20000.0, 12000.0, 19000.0, 10000.0, 184.0, 70.0, 20.0, 2800.0, 6000.0,
         _prev(18000.0, 10800.0, 9000.0, 184.0, 72.0, 2500.0, 5000.0)),
]  # fmt: skip


@pytest.fixture
def figures():
    units = json.loads(json.dumps(UNITS))  # a fresh copy per test
    now = consolidate(units, "EUR", FX)
    before = consolidate(previous_month(units), "EUR", FX)
    return units, now, before


def test_ranking_is_by_performance_not_size_and_coverage_is_not_ranked(figures):
    _, now, _ = figures
    r = ranking(now)
    # DSO: de 30.67 < us 92 < cn 184; past-due share: us 0.1 < de 0.3 < cn 0.4;
    # CEI: us 90 > de 85 > cn 70; ADD: us 2 < de 5 < cn 20
    assert r["dso"].tolist() == [1, 2, 3]
    assert r["past_due_share"].tolist() == [2, 1, 3]
    assert r["cei"].tolist() == [2, 1, 3]
    assert r["add"].tolist() == [2, 1, 3]
    # mean ranks: de 1.75, us 1.25, cn 3 -> us first although cn is largest and us covers least
    assert r["overall"].to_dict() == {"de": 2, "us": 1, "cn": 3}
    assert not {"allowance", "forecast_collections_next", "coverage_ratio", "open_ar"} & set(r)


def test_group_dso_uses_each_units_daily_billings_and_cei_needs_one_window():
    a = {
        "business_unit": "a",
        "currency": "EUR",
        "open_ar": 100.0,
        "current_ar": 100.0,
        "past_due_ar": 0.0,
        "ar_window_start": 50.0,
        "billings_window": 300.0,
        "window_days": 90,
    }
    b = dict(a, business_unit="b", billings_window=600.0, window_days=180)
    g = consolidate([a, b], "EUR", {})
    # daily billings 300/90 + 600/180 = 6.667 -> DSO = 200 / 6.667 = 30 days (not 200*180/900 = 40)
    assert g.at[GROUP, "dso"] == pytest.approx(30.0)
    assert pd.isna(g.at[GROUP, "cei"])
    assert kpis(g, "EUR")["cei_note"] == "units use KPI windows of different lengths: no group CEI"


def test_a_partial_group_amount_is_not_shown():
    units = json.loads(json.dumps(UNITS))
    del units[1]["allowance"]
    units[2]["forecast_period"] = "2026-11-02"
    g = consolidate(units, "EUR", FX)
    k = kpis(g, "EUR")
    assert "allowance" not in k and k["allowance_note"] == "not reported by us: no group total"
    assert "forecast_collections_next" not in k
    assert k["forecast_collections_next_note"].startswith("units forecast different periods")


def test_tiles_name_the_currency_and_colour_good_and_bad_moves(figures):
    _, now, before = figures
    html = cockpit.tiles(now, before, "EUR", "2026-10-31")
    tiles = dict(re.findall(r'<div class="k">([^<]+)</div><div class="v">([^<]+)</div>', html))
    # open 1000 + 2000 + 2000 = 5000; past due 1300 / 5000 = 26.0%; allowance 440 = 8.8%
    # DSO = 5000 / (3000/92 + 2000/92 + 1000/92) = 76.7 days; AR at window start 900 + 1900 +
    # 1900 = 4700, CEI = (4700 + 6000 - 5000) / (4700 + 6000 - 3700) = 81.4%; forecast 2250
    assert tiles == {
        "Open AR": "5,000 EUR",
        "Past-due share": "26.0%",
        "DSO": "76.7 days",
        "CEI": "81.4%",
        "Allowance and coverage": "440 EUR",
        "Forecast collections": "2,250 EUR",
    }
    moves = re.findall(r'<div class="gc-d (\w+)">([^<]+)<', html)
    # open +200 (4800 before: no direction); past due 1020/4800 = 21.25% -> +4.8 pts, worse;
    # DSO 76.67 against 4800 x 92 / (2800 + 2100 + 900) = 76.14 -> +0.5 days, worse; CEI before (4800 + 5800 - 4800) /
    # (4800 + 5800 - 3780) = 85.0% -> -3.6 pts, worse; allowance before 50 + 110 + 250 = 410 -> +30,
    # worse; forecast 2250 vs collections 950 + 800 + 500 = 2250 -> unchanged
    assert moves[:3] == [("flat", "▲ 200 EUR "), ("bad", "▲ 4.8 pts "), ("bad", "▲ 0.5 days ")]
    assert moves[3:] == [("bad", "▼ 3.6 pts "), ("bad", "▲ 30 EUR "), ("flat", "= unchanged ")]
    assert "forecast for November 2026" in html and "at 2026-10-31" in html
    assert "coverage 8.8% of open AR" in html


def test_scorecard_shades_targets_and_orders_by_overall_rank(figures):
    _, now, before = figures
    html = cockpit.scorecard(now, before, ranking(now), TARGETS, "EUR")
    rows = re.findall(r'<td class="u">(\w+)</td>', html)
    assert rows == ["us", "de", "cn", "Group"]
    # de: DSO 30.67 <= 45 met, CEI 85 >= 80 met, past due 30% > 25% missed
    de = html.split('<td class="u">de</td>')[1].split("</tr>")[0]
    assert '<td class="dso on">' in de and '<td class="cei on">' in de
    assert '<td class="past_due_share off">' in de
    # coverage and the amounts are never judged: no target shade, no good/bad colour
    for cell in re.findall(r'<td class="(?:coverage_ratio|allowance|open_ar)[^"]*">.*?</td>', html):
        assert " on" not in cell.split(">")[0] and "good" not in cell and "bad" not in cell
    assert "Open AR (EUR)" in html


def test_what_changed_names_the_movers_and_the_misses(figures):
    _, now, before = figures
    text = changes.what_changed(now, before, TARGETS, "EUR")
    items = re.findall(r"<li>(.*?)</li>", text)
    # 5000 vs 4800: +200 = 4.2%; open AR changes in EUR: de +100, us -100, cn +200 -> cn
    assert items[0] == "Group open AR is 5,000 EUR, up 200 EUR (4.2%) on the previous month-end."
    assert items[1] == "Open AR moved most in cn: up 200 EUR to 2,000 EUR."
    assert "2 of 3 units miss the DSO target of 45.0 days: us, cn." in items
    assert "2 of 3 units miss the Past-due share target of 25.0%: de, cn." in items
    assert "1 of 3 units miss the CEI target of 80.0%: cn." in items


def test_cockpit_in_chinese_has_no_english_words(figures):
    _, now, before = figures
    for html in (
        changes.what_changed(now, before, TARGETS, "EUR", "zh"),
        cockpit.tiles(now, before, "EUR", "2026-10-31", "zh"),
        cockpit.scorecard(now, before, ranking(now), TARGETS, "EUR", "zh"),
        cockpit.target_note(TARGETS, "zh"),
        cockpit.target_note({}, "zh"),
        exposure.summary(pd.DataFrame(columns=["open_ar", "share"]), ["uk"], "EUR", "zh"),
    ):
        text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S)
        assert not ENGLISH.search(text.replace("EUR", "")), ENGLISH.search(text)


def test_targets_are_validated():
    check_targets(TARGETS)
    with pytest.raises(ConfigError, match="cei must be percent"):
        check_targets({"cei": 0.8})
    with pytest.raises(ConfigError, match="'dsoo' is not a KPI with a target"):
        check_targets({"dsoo": 45})
    with pytest.raises(ConfigError, match="past_due_share must be a fraction"):
        check_targets({"past_due_share": 25})


def test_monthly_trend_and_group_recomputed_month_by_month():
    trend = pd.DataFrame(
        {
            "month_end": pd.to_datetime(["2026-08-31", "2026-09-30", "2026-10-31"]),
            "open_ar": [100.0, 110.0, 120.0],
            "past_due_ar": [10.0, 11.0, 30.0],
            "billings_window": [92.0, 91.0, 92.0],
            "dso": [100.0, 110.0, 120.0],
            "past_due_share": [0.1, 0.1, 0.25],
            "cei": [80.0, 81.0, 82.0],
        }
    )
    a = {"business_unit": "a", "currency": "EUR", **grouptrend.monthly(trend, 3, months=2)}
    # window days of 3 months to 2026-09-30: (2026-06-30, 2026-09-30] = 92; to 2026-10-31: 92
    assert a["monthly"]["month_end"] == ["2026-09-30", "2026-10-31"]
    assert a["monthly"]["window_days"] == [92, 92]
    b = {"business_unit": "b", "currency": "USD", **grouptrend.monthly(trend, 3, months=1)}
    long = grouptrend.series([a, b], "EUR", {"USD": 0.5})
    g = long[long["business_unit"] == GROUP].pivot(index="month_end", columns="kpi", values="value")
    # only 2026-10-31 has both units: open 120 + 60 = 180; past due 30 + 15 = 45 -> 25%;
    # DSO = 180 / (92/92 + 46/92) = 120
    assert g.index.tolist() == ["2026-10-31"]
    assert g.loc["2026-10-31", "open_ar"] == 180.0
    assert g.loc["2026-10-31", "past_due_share"] == pytest.approx(0.25)
    assert g.loc["2026-10-31", "dso"] == pytest.approx(120.0)
    html = grouptrend.sparklines(long, "EUR")
    assert html.count("<svg") == 4  # unit a: four KPIs over two months; b and the group: one month
    assert "110 EUR (2026-09-30) → 120 EUR (2026-10-31)" in html


def test_customers_owing_in_two_units(tmp_path):
    def balances(bu, rows):
        (tmp_path / bu).mkdir()
        frame = pd.DataFrame(rows, columns=["customer_id", "name", "open_ar", "past_due_ar"])
        exposure.write_balances(frame, tmp_path / bu)

    balances("de", [("DE-1", "Alpen <Trading>", 100.0, 10.0), ("DE-2", "Solo GmbH", 50.0, 0.0)])
    balances("us", [("US-7", "  alpen   <TRADING>", 400.0, 40.0), ("US-8", "Paid Off", 0.0, 0.0)])
    units = [
        {"business_unit": "de", "currency": "EUR"},
        {"business_unit": "us", "currency": "USD"},
        {"business_unit": "uk", "currency": "EUR"},
    ]
    found, missing = exposure.read_balances(tmp_path, units, "EUR", {"USD": 0.5})
    shared = exposure.shared_customers(found, group_open_ar=1000.0)
    # Alpen Trading: de 100 + us 400 x 0.5 = 300 EUR, past due 10 + 20 = 30, 30% of 1,000
    assert shared.to_dict("records") == [
        {
            "customer": "Alpen <Trading>",
            "customer_ids": "DE-1, US-7",
            "units": "de 100 · us 200",
            "open_ar": 300.0,
            "past_due_ar": 30.0,
            "share": 0.3,
        }
    ]
    assert missing == ["uk"]
    shown = exposure.table(shared, "EUR").to_html()
    assert "Alpen &lt;Trading&gt;" in shown and "<Trading>" not in shown
    assert "Open AR (EUR)" in shown and "300.00" in shown and "30.0%" in shown
    text = exposure.summary(shared, missing, "EUR")
    assert (
        "1 customers owe in more than one business unit: 300 EUR, 30.0% of group open AR." in text
    )
    assert "not included): uk." in text


def test_index_group_totals_row_matches_a_recomputation_to_the_cent(tmp_path, figures):
    from arlib.report.landing import render_index

    units, now, _ = figures
    (tmp_path / "group").mkdir()
    (tmp_path / "group" / "kpis.json").write_text(json.dumps(kpis(now, "EUR")))
    manifest = {"as_of": "2026-10-31", "units": [], "group": {"status": "ok", "errors": []}}
    page = render_index(tmp_path, manifest)
    cells = dict(re.findall(r'<td data-k="(\w+)"[^>]*>([^<]+)</td>', page))
    # by hand from the units' figures and the rates: open 1000 + 4000 x 0.5 + 20000 x 0.1
    by_hand = {
        "open_ar": sum(u["open_ar"] * {"EUR": 1, **FX}[u["currency"]] for u in units),
        "allowance": 60 + 200 * 0.5 + 2800 * 0.1,
    }
    assert cells["open_ar"] == f"{by_hand['open_ar']:,.2f} EUR" == "5,000.00 EUR"
    assert cells["allowance"] == "440.00 EUR" and cells["past_due_share"] == "26.0%"
    assert cells["dso"] == "76.7 days" and "Group totals" in page


def test_group_params_refuse_a_cei_target_as_a_fraction(tmp_path):
    from arlib.run.grouprun import group_config

    path = tmp_path / "group.yaml"
    path.write_text("group_currency: EUR\ntargets: {dso: 45, cei: 0.8}\n")
    with pytest.raises(ConfigError) as e:
        group_config(path, "2026-10-31", tmp_path, ["de"])
    assert str(e.value).startswith(f"{path}: parameter targets: cei must be percent")
    path.write_text("group_currency: EUR\ntargets: {dso: 45, cei: 80}\n")
    assert group_config(path, "2026-10-31", tmp_path, ["de"])["targets"] == {"dso": 45, "cei": 80}


def test_no_group_change_when_a_unit_has_no_previous_month_end():
    units = json.loads(json.dumps(UNITS))
    del units[2]["previous_month"]
    before = consolidate(previous_month(units), "EUR", FX)
    assert pd.isna(before.at[GROUP, "open_ar"]) and before.at["de", "open_ar"] == 900.0
    html = cockpit.tiles(consolidate(units, "EUR", FX), before, "EUR", "2026-10-31")
    assert "vs previous month-end" not in html.split("Past-due share")[0]  # no open AR change


def test_a_figure_no_unit_reports_has_no_tile():
    units = [
        {k: v for k, v in u.items() if k != "allowance"} for u in json.loads(json.dumps(UNITS))
    ]
    html = cockpit.tiles(consolidate(units, "EUR", FX), None, "EUR", "2026-10-31")
    assert html.count('class="gc-tile"') == 5 and "Allowance" not in html


def test_a_move_that_rounds_to_nothing_is_not_coloured():
    # 0.3000 -> 0.30004: +0.004 points, shown as "= unchanged", neither good nor bad
    assert cockpit.change_class(0.30004, 0.3, False, "share") == "flat"
    assert cockpit.change_text(0.30004, 0.3, "share", "EUR", "en") == "= unchanged"
    assert cockpit.change_class(0.3006, 0.3, False, "share") == "bad"  # +0.06 -> "▲ 0.1 pts"
