"""Collector notes: read like the other frames (bad notes counted and set aside), then promises
kept or broken and disputes by age, per owner, on the hand-made base dataset (as of 2024-06-30).

Base ledger (tests/test_io_helpers.py): C1 pays I1 100.00 on 2024-02-05 and 50.00 of I2 on
2024-03-01 (200.00 open); C2 gets a 10.00 credit note on I3 (70.50 open) and sends 30.00
unapplied cash on 2024-04-01.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_io_helpers import AS_OF, BASE, load, write_files

from arlib.health import promises
from arlib.io.snapshot import read_snapshot, write_snapshot
from arlib.report import creditnotes

NOTES = """business_unit,customer_id,invoice_id,date,promise_date,promise_amount,dispute_reason,owner
x,C1,I1,2024-02-01,2024-02-10,100.00,,anna
x,,I2,2024-02-20,2024-03-05,200.00,,anna
x,C2,,2024-03-25,2024-04-05,30.00,,ben
x,C2,I3,2024-06-20,2024-07-15,70.50,,
x,C2,I3,2024-03-10,,,price,ben
x,C2,I3,2024-04-10,,,price,anna
x,C1,I1,2024-01-20,,,quality,anna
x,C1,,2024-06-01,,,service,anna
x,C7,,2024-05-01,2024-05-10,10.00,,anna
x,C1,I2,2024-05-01,2024-04-01,10.00,,anna
x,C1,I2,2024-05-01,2024-05-20,-5.00,,anna
x,C1,I2,2024-07-05,2024-07-10,10.00,,anna
y,C9,I4,2024-04-01,2024-04-10,999.00,,zed
"""


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    src = write_files(tmp_path_factory.mktemp("notes"), {**BASE, "collector_notes.csv": NOTES})
    return load(src)


def test_notes_are_read_checked_and_bad_ones_counted(ledger):
    notes = ledger.collector_notes
    # 12 notes of unit x; 3 bad ones set aside (unknown customer C7, a promise before its note,
    # a negative promise), the note dated after as_of is kept (the reports ignore it)
    assert len(notes) == 9
    assert notes.loc[notes["invoice_id"] == "I2", "customer_id"].unique().tolist() == ["C1"]
    assert notes["owner"].tolist().count("unassigned") == 1
    problems = ledger.load_report.problems
    bad = problems.loc[problems["problem"] == "bad_note"].set_index("column")["rows"]
    assert bad.to_dict() == {"customer_id": 1, "promise_date": 1, "promise_amount": 1}
    frames = ledger.load_report.frames.set_index("frame")
    assert frames.loc["collector_notes", "rows_quarantined"] == 3
    assert "12 collector_notes" not in str(ledger.load_report)  # 9 kept are reported
    assert "9 collector_notes" in str(ledger.load_report)


def test_promises_kept_broken_pending_by_hand(ledger):
    p = promises.promises(ledger, AS_OF)
    got = p[["owner", "invoice_id", "state", "received", "shortfall", "days_overdue"]]
    assert got.astype(object).where(got.notna(), None).values.tolist() == [
        # I2: 200 promised by 2024-03-05, only T2 50.00 came: 150 short, 117 days overdue
        ["anna", "I2", "broken", 50.0, 150.0, 117],
        # I3: promised for 2024-07-15, after the close
        ["unassigned", "I3", "pending", 0.0, 70.5, 0],
        # I1: T1 100.00 on 2024-02-05, within 2024-02-01 .. 2024-02-10
        ["anna", "I1", "kept", 100.0, 0.0, 0],
        # C2 (no invoice): any payment counts, T4 30.00 unapplied on 2024-04-01
        ["ben", None, "kept", 30.0, 0.0, 0],
    ]
    # the same notes a day before the I2 promise: not yet due, so pending, not broken
    early = promises.promises(ledger, "2024-03-04").set_index("invoice_id")
    assert early.loc["I2", "state"] == "pending"
    # due on the close day itself: that day's cash is in, so it is judged (broken)
    on_day = promises.promises(ledger, "2024-03-05").set_index("invoice_id")
    assert on_day.loc["I2", "state"] == "broken"
    # cash after the promise date does not mend it: 50 promised for 2024-02-25, T2 50 on 03-01
    late = pd.DataFrame(
        {
            "customer_id": ["C1"],
            "invoice_id": ["I2"],
            "date": pd.to_datetime(["2024-02-20"]),
            "promise_date": pd.to_datetime(["2024-02-25"]),
            "promise_amount": [50.0],
            "dispute_reason": [None],
            "owner": ["anna"],
        }
    )
    row = promises.promises(ledger, AS_OF, notes=late).iloc[0]
    assert (row["state"], row["received"], row["shortfall"]) == ("broken", 0.0, 50.0)


def test_disputes_by_age_and_the_summary_by_owner(ledger):
    d = promises.disputes(ledger, AS_OF)
    # I3 raised 2024-03-10 by ben (anna's later note on it does not reset it): 112 days;
    # C1 (no invoice) raised 2024-06-01: 29 days, its open AR 200.00; I1 is paid: closed
    assert d[["owner", "invoice_id", "age_days", "age_bucket", "open_amount"]].astype(object).where(
        d.notna(), None
    ).values.tolist() == [
        ["ben", "I3", 112, "over 90", 70.5],
        ["anna", None, 29, "0-30", 200.0],
    ]
    p = promises.promises(ledger, AS_OF)
    owners = promises.by_owner(p, d).set_index("owner")
    assert list(owners.index) == ["anna", "ben", "unassigned"]  # largest broken amount first
    assert owners.loc["anna", ["promises", "kept", "broken", "broken_amount"]].tolist() == [
        2,
        1,
        1,
        150.0,
    ]
    assert owners.loc["anna", ["disputes", "disputed_amount", "disputes_0-30"]].tolist() == [
        1,
        200.0,
        1,
    ]
    assert owners.loc[
        "ben", ["kept", "disputes", "oldest_dispute_days", "disputes_over 90"]
    ].tolist() == [1, 1, 112, 1]
    assert owners.loc["unassigned", "pending"] == 1
    assert promises.summary(p, d) == {
        "promises": 4,
        "promises_broken": 1,
        "promises_broken_amount": 150.0,
        "disputes_open": 2,
        "disputes_over_90_days": 1,
    }
    text = creditnotes.explain_promises(p, d, has_notes=True).text()
    assert "4 promises" in text and "1 broken" in text and "150" in text


def test_without_notes_the_section_says_so(tmp_path):
    led = load(write_files(tmp_path / "src", BASE))
    assert led.collector_notes is None
    p, d = promises.promises(led, AS_OF), promises.disputes(led, AS_OF)
    assert p.empty and d.empty and promises.by_owner(p, d).empty
    assert "no collector notes" in creditnotes.explain_promises(p, d, has_notes=False).text()


def test_notes_survive_the_run_snapshot(ledger, tmp_path):
    write_snapshot(ledger, tmp_path / "snap")
    back = read_snapshot(tmp_path / "snap")
    pd.testing.assert_frame_equal(back.collector_notes, ledger.collector_notes)
