"""The health report's definitions read in plain words with the report's own dates (no formula
text such as "(as_of - window_months months, as_of]"), in English and Chinese."""

from __future__ import annotations

import re

import pytest

from arlib.errors import ConfigError
from arlib.i18n import t
from arlib.report.definitions import TEMPLATES, health_definitions

#: what a definition must not show: parameter names, interval notation, letters for figures
FORMULA = re.compile(r"as_of|window_months|`|\(\S+,|\]|\bS\b|\bD\b| x |=")


def _text(lang="en", as_of="2024-06-30", months=3, unit="de", currency="EUR") -> str:
    return " ".join(health_definitions(as_of, months, currency, unit, lang))


@pytest.mark.parametrize(
    "as_of, months, start, days, before, month_start",
    [
        # a month-end close covers whole months: April to June, 30 + 31 + 30 days
        ("2024-06-30", 3, "2024-04-01", 91, "2024-03-31", "2024-06-01"),
        # 31 May 2024 back three months ends on 29 February (a leap year): March to May
        ("2024-05-31", 3, "2024-03-01", 92, "2024-02-29", "2024-05-01"),
        # mid-month: 16 Feb to 15 May, 14 + 31 + 30 + 15 days
        ("2024-05-15", 3, "2024-02-16", 90, "2024-02-15", "2024-04-16"),
        # six months to the demo close: May to October, 31+30+31+31+30+31 days
        ("2026-10-31", 6, "2026-05-01", 184, "2026-04-30", "2026-10-01"),
    ],
)
def test_the_window_is_named_by_its_dates(as_of, months, start, days, before, month_start):
    text = _text(as_of=as_of, months=months)
    assert f"the {months} calendar months from {start} to {as_of}, {days} days." in text
    assert f"open AR at the close of {before}, the day before the window" in text
    assert f"the same from {month_start} to {as_of} alone" in text
    assert f"times their {days} days" in text and f"divided by {days})" in text


def test_no_formula_text_in_either_language():
    for lang in ("en", "zh"):
        shown = re.sub(r"</?b>", "", _text(lang))
        assert not FORMULA.search(shown), (lang, FORMULA.search(shown))


def test_every_definition_is_in_chinese_with_its_dates():
    assert all(t(x, "zh") != x for x in TEMPLATES)
    zh = health_definitions("2026-10-31", 6, "CNY", "cn", "zh")
    assert "<b>窗口期</b>：从 2026-05-01 到 2026-10-31 的 6 个自然月，共 184 天。" in zh
    # Latin letters left: only the KPI abbreviations, the unit and currency codes, the markup
    latin = set(re.findall(r"[A-Za-z]+", re.sub(r"</?b>", "", " ".join(zh))))
    assert latin <= {"DSO", "CEI", "HHI", "CNY", "cn"}, latin


def test_the_unit_code_is_shown_as_text_and_a_bad_window_is_refused():
    assert "business unit &lt;b&gt;x" in _text(unit="<b>x")
    with pytest.raises(ConfigError, match="window_months"):
        health_definitions("2024-06-30", 0, "EUR", "de")
