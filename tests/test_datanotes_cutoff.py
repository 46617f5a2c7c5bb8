"""An extract that stops before the close is said in the unit's notes (arlib.report.datanotes):
the last month's invoicing or collections would otherwise be shown as complete."""

import pandas as pd
from conftest import ledger

from arlib.report import datanotes


def _every(days: int, start: str, n: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(start) + pd.Timedelta(days=days * i) for i in range(n)]


def _book(dates, pay_dates=()):
    inv = [(f"i{k}", "c1", d, d + pd.Timedelta(days=30), 100.0) for k, d in enumerate(dates)]
    txn = [(f"i{k}", d, 100.0, "payment") for k, d in enumerate(pay_dates)]
    return ledger(inv, txn)


def test_invoicing_every_second_day_that_stops_a_month_before_the_close_is_noted():
    # invoices every 2 days from 2024-01-01: the 90th is dated 2024-01-01 + 178 days = 2024-06-27
    led = _book(_every(2, "2024-01-01", 90))
    notes = datanotes.cut_off(led, "2024-07-31")
    assert notes == [
        "Data end before the close: the latest invoice is dated 2024-06-27, 34 days before the "
        "close of 2024-07-31, while in the year before no two invoice dates were more than 2 days "
        "apart. The extract may have been taken before the close, so the last month's figures "
        "may be partial: check the source, or set as_of to 2024-05-31, the end of the last month "
        "the data cover in full."
    ]
    # the same note reaches every report's section notes, so the unit is "ok with notes"
    for section in ("health", "forecast", "provision"):
        assert notes[0] in datanotes.notes(led, {"as_of": "2024-07-31"}, section)


def test_a_quiet_week_or_a_monthly_rhythm_is_not_a_cut_off():
    led = _book(_every(2, "2024-01-01", 90))
    assert datanotes.cut_off(led, "2024-07-04") == []  # 7 days: not more than a week
    # one invoice run a month (gaps of 28 to 31 days): 40 days after the last run is usual
    monthly = _book(list(pd.date_range("2023-01-31", "2024-06-30", freq="ME")))
    assert datanotes.quiet_days(monthly.invoices["invoice_date"], "2024-08-09") == (
        40,
        31,
        pd.Timestamp("2024-06-30"),
    )
    assert datanotes.cut_off(monthly, "2024-08-09") == []
    # too little history to know a rhythm: no judgement
    assert datanotes.cut_off(_book(_every(2, "2024-01-01", 5)), "2024-12-31") == []


def test_payments_that_stop_while_invoicing_goes_on_are_noted_alone():
    dates = _every(1, "2024-01-01", 200)  # invoices daily to 2024-07-18
    led = _book(dates, pay_dates=_every(3, "2024-01-05", 40))  # payments to 2024-05-01
    notes = datanotes.cut_off(led, "2024-07-18")
    assert len(notes) == 1
    assert notes[0].startswith(
        "Data end before the close: the latest payment is dated 2024-05-01, 78 days before"
    )
    assert "no two payment dates were more than 3 days apart" in notes[0]
    assert notes[0].endswith(
        "set as_of to 2024-04-30, the end of the last month the data cover in full."
    )


def test_the_supported_close_is_the_last_month_every_activity_covers_in_full():
    led = _book(_every(1, "2024-01-01", 200), pay_dates=_every(3, "2024-01-05", 40))
    # payments stop on 2024-05-01 (a note), invoices run to the close: April is the last full month
    assert datanotes.supported_close(led, "2024-07-18") == pd.Timestamp("2024-04-30")
    # data that run to the close support it as given
    assert datanotes.supported_close(led, "2024-05-03") == pd.Timestamp("2024-05-03")


def test_the_note_is_shown_in_chinese_with_its_dates_and_counts(tmp_path):
    """The note is stored in English (manifest.json) and shown in the reader's language: the
    header of a zh report and the index translate it through its catalog template."""
    from arlib.report.header import notes_box
    from arlib.report.landing import _status

    led = _book(_every(1, "2024-01-01", 200), pay_dates=_every(3, "2024-01-05", 40))
    (note,) = datanotes.cut_off(led, "2024-07-18")
    zh = datanotes.translate(note, "zh")
    assert zh == (
        "数据在报告日之前结束：最近一笔付款的日期为 2024-05-01，比报告日 2024-07-18 早 78 天，"
        "而在此前一年中，相邻两个付款日期的间隔从未超过 3 天。数据可能是在结账之前提取的，"
        "因此最后一个月的数字可能不完整：请检查数据源，或将 as_of 设为 2024-04-30，"
        "即数据完整覆盖的最后一个月的月末。"
    )
    assert zh in notes_box({"data_notes": [note]}, "zh")
    assert zh in _status({"status": "ok with notes", "notes": [note]}, "2024-07-18", "zh")
    assert datanotes.translate(note, "en") == note
    # a variant the catalog does not hold (another activity) stays in English, never half-done
    other = note.replace("payment", "credit note")
    assert datanotes.translate(other, "zh") == other
    # the fixed notes still go through the catalog
    assert datanotes.translate(datanotes._NO_LIMITS, "zh").startswith("应收账款健康")
