"""Executive summary: every sentence from the numbers, none without them; both languages."""

from __future__ import annotations

import re

from arlib.report.summary import executive_summary, kpi_tiles, top_block

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
    # past-due share rose (worse) -> flagged; DSO fell (better) -> not flagged
    assert 'class="ar-flag">▲ 1.7 pts' in tiles and 'class="n">▼ 0.9' in tiles
