"""Executive summary: every sentence from the numbers, none without them; both languages."""

from __future__ import annotations

import re

from arlib.report.briefs import top_block
from arlib.report.summary import executive_summary, kpi_tiles

FULL = {
    "currency": "EUR",
    "open_ar": 2_414_270.0,
    "past_due_share": 0.369,
    "dso": 62.3,
    "add": 23.0,
    "cei": 77.3,
    "window_months": 3,
    "previous_month": {"past_due_share": 0.352, "dso": 63.2, "cei": 77.7, "open_ar": 2_313_574.0},
    "top_overdue": [
        {"name": "Oakridge <Retail>", "past_due": 120_000.0, "next_step": "call"},
        {"name": "Alpen Foods", "past_due": 80_500.0, "next_step": "final notice"},
    ],
    "forecast_collections_next": 1_150_000.0,
    "forecast_collections_next_lo_80": 1_020_000.0,
    "forecast_collections_next_hi_80": 1_290_000.0,
    "forecast_period": "2026-11-01",
    "collections_last_month": 1_109_898.71,
    "allowance": 233_922.10,
    "coverage_ratio": 0.0969,
    "allowance_previous": 220_000.0,
    "worklist_items": 120,
    "worklist_customers": 31,
    "limits_to_change": 7,
}


def test_full_summary_sentences_cite_the_numbers():
    s = executive_summary(FULL)
    assert 5 <= len(s) <= 8
    assert (
        s[0]
        == "Open receivables are 2,414,270 EUR; 36.9% is past due, up 1.7 points on the previous month-end."
    )
    assert s[1] == (
        "DSO moved down 0.9 days to 62.3; 23.0 days of it are due to late payment "
        "(average days delinquent)."
    )
    assert s[3] == (
        "Act first, in the worklist's order: Oakridge <Retail> (120,000, next step: call), "
        "Alpen Foods (80,500, next step: final notice)."
    )
    # forecast gap: 1,150,000 - 1,109,898.71 = 40,101.29 above
    assert s[4] == (
        "Collections of 1,150,000 EUR are forecast for November 2026 (80% range 1,020,000 to "
        "1,290,000), 40,101 above last month's collections."
    )
    assert s[5] == (
        "The allowance for doubtful accounts is 233,922 EUR (9.7% of open AR; up 13,922 on the "
        "previous month-end)."
    )


def test_missing_figures_drop_sentences_instead_of_guessing():
    s = executive_summary({"currency": "EUR", "open_ar": 100.0, "past_due_share": 0.1})
    assert s == ["Open receivables are 100 EUR; 10.0% is past due."]


def test_chinese_summary_has_no_english_template_left():
    s = executive_summary(FULL, "zh")
    assert len(s) == len(executive_summary(FULL))
    text = " ".join(s)
    assert "应收账款余额为" in text and "坏账准备" in text and "电话催收" in text
    leftovers = re.findall(
        r"\b(is|are|the|of|on|last|next step)\b",
        text.replace("Oakridge <Retail>", "").replace("Alpen Foods", ""),
    )
    assert not leftovers, leftovers


def test_html_block_escapes_data_and_flags_worse_moves():
    html = top_block(FULL)
    assert "Oakridge &lt;Retail&gt;" in html and "<Retail>" not in html
    tiles = kpi_tiles(FULL)
    # past-due share rose (worse) -> red; DSO fell 63.2 -> 62.3 (better) -> green; units shown
    assert 'class="ar-flag">▲ 1.7 pts' in tiles and 'class="ar-good">▼ 0.9 days' in tiles
    assert ">2,414,270 EUR<" in tiles and ">62.3 days<" in tiles and ">77.3%<" in tiles
    # open AR has no better direction: its change is shown uncoloured
    assert 'class="n">▲ 100,696' in tiles


def test_forecast_report_has_its_own_summary_and_tiles():
    k = dict(
        FULL,
        forecast_collections_horizon=6_872_148.84,
        forecast_horizon=6,
        forecast_backtest_wape=0.1032,
        forecast_backtest_wape_snaive=0.1108,
        forecast_method="auto",
        collections_last_period="2026-10-01",
    )
    html = top_block(k, report="forecast")
    assert "Open receivables" not in html  # the health summary is not repeated
    assert "Over the next 6 periods 6,872,149 EUR are forecast to come in." in html
    # 10.32% <= 11.08%: better than the benchmark, the tile green
    assert "missed actual collections by 10.3% (WAPE), better than the seasonal naive" in html
    assert 'class="ar-good">seasonal naive: 11.1%' in html
    assert "Forecast collections, November 2026" in html and "Collected, October 2026" in html
    worse = top_block(dict(k, forecast_backtest_wape=0.15), report="forecast")
    assert "worse than the seasonal naive benchmark (11.1%): treat it with care" in worse


def test_provision_report_explains_the_allowance_and_its_movement():
    k = dict(
        FULL,
        allowance_by_bucket={"current": 20_000.0, "over 120": 13_922.10, "specific": 200_000.0},
        allowance_charge_last_month=20_000.0,
        allowance_write_offs_last_month=7_000.0,
        allowance_recoveries_last_month=922.10,
        allowance_by_method={"roll_rate": 233_922.10, "vintage": 216_885.45},
        provision_method="roll_rate",
        previous_month={"as_of": "2026-09-30"},
    )
    html = top_block(k, report="provision")
    # 20,000 + 13,922.10 = 33,922 collective; largest line "current"
    assert "Of it, 200,000 EUR are specific provisions on flagged customers and 33,922 EUR" in html
    assert "largest line is the current bucket (20,000)" in html
    # 220,000 + 20,000 - 7,000 + 922.10 = 233,922.10: the movement adds up to the allowance
    assert "a charge of 20,000, less write-offs of 7,000, plus recoveries of 922 EUR" in html
    assert (
        "The roll rate method is booked; the methods compared give 216,885 to 233,922 EUR" in html
    )
    # the allowance rose 13,922 (worse), red, with the date it is compared with
    assert 'class="ar-flag">▲ 13,922 vs 2026-09-30' in html
