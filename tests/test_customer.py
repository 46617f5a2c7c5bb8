"""One customer's account on tiny hand-built ledgers: every figure worked out by hand, and equal to
the unit's own rows (scorecard, worklist, runoff) for that customer."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import invoices, transactions

from arlib.config import RunConfig, validate
from arlib.errors import ConfigError
from arlib.forecast.runoff import RunoffModel
from arlib.health import credit
from arlib.i18n import set_language
from arlib.ledger import Ledger
from arlib.report import customer
from arlib.run.customers import CustomerReport, file_name, links_html
from arlib.schemas import C

AS_OF = "2024-03-31"


@pytest.fixture(autouse=True)
def english_after():
    yield
    set_language("en")


def _ledger() -> Ledger:
    """Customer A: one invoice paid 5 days late in January, one paid 5 days early in February,
    one 41 days past due at the close (disputed) and one not yet due. Customer B: one item 61 days
    past due."""
    inv = invoices(
        ("A1", "A", "2023-12-01", "2024-01-01", 1000.0),
        ("A2", "A", "2024-01-10", "2024-02-10", 3000.0),
        ("A3", "A", "2024-01-20", "2024-02-19", 500.0, True),
        ("A4", "A", "2024-03-20", "2024-04-19", 200.0),
        ("B1", "B", "2023-12-01", "2024-01-30", 800.0),
    )
    txn = transactions(
        ("A1", "2024-01-06", 1000.0, "payment", "A"),
        ("A2", "2024-02-05", 3000.0, "payment", "A"),
        ("A3", "2024-04-02", 500.0, "payment", "A"),  # after the close: not used
    )
    return Ledger(inv, txn)


def _cfg(**over):
    """The run config, one payment curve for all (the tiny ledger has no customer segments;
    ``runoff_by: null`` is set after validation, which takes only text)."""
    values = {"business_unit": "X", "as_of": AS_OF, "customer_id": "A"}
    return RunConfig(dict(validate(values | over), runoff_by=None))


def test_statement_history_and_behaviour_by_hand():
    acct = customer.account(_ledger(), _cfg())
    st = acct.statement.set_index(C.invoice_id)
    assert list(st.index) == ["A3", "A4"]  # most overdue first; A1, A2 paid; P3 is after as_of
    assert st.loc["A3", C.days_past_due] == 41 and st.loc["A3", "age_days"] == 71
    assert st.loc["A3", "state"] == "disputed" and st.loc["A3", "dunning_step"] == "resolve dispute"
    assert st.loc["A4", "state"] == "current" and st.loc["A4", "dunning_step"] == ""
    assert acct.facts["open_ar"] == 700.0 and acct.facts["past_due"] == 500.0
    assert acct.facts["disputed"] == 500.0 and acct.facts["oldest_days_past_due"] == 41
    h = acct.history.set_index(C.invoice_id)["days_late"]
    assert h.to_dict() == {"A1": 5, "A2": -5}
    b = acct.behaviour.set_index("month")
    assert b.loc["2024-01-01", "days_late"] == 5 and b.loc["2024-02-01", "days_late"] == -5
    assert b.loc["2024-01-01", "share_late"] == 1.0 and b.loc["2024-02-01", "share_late"] == 0.0
    # amount-weighted over both: (1000 x 5 - 3000 x 5) / 4000 = -2.5 days, i.e. early
    assert "on average 2.5 days early" in customer.explain(acct).text()
    assert list(acct.disputes[C.invoice_id]) == ["A3"]


def test_figures_are_the_units_rows_for_the_customer():
    led, cfg = _ledger(), _cfg(customer_id="B")
    card, work = customer.unit_frames(led, cfg)
    acct = customer.account(led, cfg)
    row = card.set_index(C.customer_id).loc["B"]
    mine = work.loc[work[C.customer_id] == "B"]
    f = acct.facts
    assert (f["score"], f["grade"]) == (row["score"], row["grade"])
    assert f["next_step"] == mine["next_step"].iloc[0] == "hold deliveries"  # 61 days past due
    assert f["expected_loss"] == pytest.approx(mine["expected_loss"].sum())
    assert f["worklist_position"] == list(credit.actions(work)[C.customer_id]).index("B") + 1
    share = acct.share.set_index("measure")
    # past due at the close: A3 500 (disputed) + B1 800 -> B holds 800 / 1300
    assert share.loc["past-due AR", "unit"] == 1300.0
    assert share.loc["past-due AR", "share"] == pytest.approx(800 / 1300)


def test_expected_payments_add_up_to_the_units_runoff():
    led, cfg = _ledger(), _cfg()
    unit = RunoffModel(by=None).fit(led, AS_OF).predict(cfg.forecast_horizon, cfg.forecast_freq)
    a = customer.account(led, cfg).expected
    b = customer.account(led, _cfg(customer_id="B")).expected
    assert len(a) == cfg.forecast_horizon
    total = a["expected"].to_numpy() + b["expected"].to_numpy()
    assert total == pytest.approx(unit["yhat"].to_numpy())
    assert (a["write_off"] + b["write_off"]).to_numpy() == pytest.approx(unit["write_off"])


def test_default_customer_is_the_worklists_first_and_an_unknown_one_is_refused():
    led = _ledger()
    card, work = customer.unit_frames(led, _cfg())
    first = customer.account(led, _cfg(customer_id=""))
    assert first.customer_id == str(work.sort_values("rank")[C.customer_id].iloc[0])
    with pytest.raises(ConfigError, match=r"customer_id: 'Z' has no invoice.*unit X.*e\.g\. "):
        customer.account(led, _cfg(customer_id="Z"))


def test_customer_report_ids_takes_the_first_n_in_worklist_order():
    actions = pd.DataFrame({C.customer_id: ["B", "A", "C"]})
    assert customer.customer_report_ids(actions, 2) == {"customer_report_ids": ["B", "A"]}
    assert customer.customer_report_ids(actions, 0) == {"customer_report_ids": []}


def test_customer_tables_and_narrative_follow_the_language():
    set_language("zh")
    acct = customer.account(_ledger(), _cfg())
    html = acct.table("statement")._repr_html_()
    assert "争议" in html and "催收步骤" in html and "State" not in html
    text = customer.explain(acct).text()
    assert "提前" in text and "owes" not in text


def test_file_names_are_safe_and_distinct():
    assert file_name("C-001") == "C-001"
    names = {file_name(x) for x in ("A B", "A_B", "A/B", "../x", "")}
    assert len(names) == 5
    assert all("/" not in n and not n.startswith(".") and n for n in names)


def test_links_escape_names_and_encode_paths():
    rep = CustomerReport("<b>1", file_name("<b>1"), figures={"customer": {"name": "A & <B>"}})
    html = links_html([rep])
    assert "A &amp; &lt;B&gt;" in html and "<b>1" not in html
    assert 'href="customers/_b_1-' in html


def test_a_written_off_customer_shows_its_write_offs_and_is_not_scored(small_demo):
    """BB-C001 of the small demo defaulted: legal proceedings, its invoices written off."""
    frames = {k: v.loc[v[C.business_unit] == "bb"] for k, v in small_demo.items()}
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    cfg = validate({"business_unit": "bb", "as_of": "2026-10-31", "customer_id": "BB-C001"})
    card, _ = customer.unit_frames(led, cfg)
    acct = customer.account(led, cfg)
    txn = frames["transactions"]
    wo = txn.loc[
        (txn[C.customer_id] == "BB-C001")
        & (txn[C.kind] == "write_off")
        & (txn[C.date] > "2024-10-31")
        & (txn[C.date] <= "2026-10-31")
    ]
    assert acct.facts["written_off"] == pytest.approx(wo[C.amount].sum()) and len(wo) > 0
    # nothing in the scorecard look-back: not on the unit's scorecard, so not scored here either
    assert "BB-C001" not in set(card[C.customer_id])
    assert (acct.facts["status"], acct.facts["grade"], acct.facts["score"]) == ("legal", "-", None)
    assert acct.facts["open_ar"] == 0.0 and acct.statement.empty
    text = customer.explain(acct).text()
    assert "was written off in the trend period" in text and "not scored" in text


def test_an_open_item_list_gets_no_expected_payments_rather_than_zeros():
    """Invoices only, no transaction: no payment history to learn from (the forecast report's
    runoff is contractual), so the customer report estimates nothing instead of showing 0."""
    from types import SimpleNamespace

    led = Ledger(_ledger().invoices, transactions())
    led.load_report = SimpleNamespace(
        open_items_only=True
    )  # as read with frames.transactions: none
    acct = customer.account(led, _cfg())
    assert acct.facts["expected_payments"] is None and acct.expected.empty
    assert "not estimated" in customer.explain(acct).text()
    assert acct.facts["open_ar"] == 4700.0  # A1 1000 + A2 3000 + A3 500 + A4 200, none paid


def test_a_runs_accounts_are_computed_once_and_equal_the_direct_ones(
    small_demo, tmp_path, monkeypatch
):
    """In a run, the first customer report computes the accounts of all the run's customers from
    one load and hands them on; the others read theirs without loading the unit. Each equals
    the account computed directly, frame by frame and figure by figure."""
    from arlib import io
    from arlib.io.snapshot import write_snapshot
    from arlib.report.records import stamp
    from arlib.run.customers import ACCOUNTS, account_of_run

    frames = {k: v.loc[v[C.business_unit] == "bb"] for k, v in small_demo.items()}
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    base = {"business_unit": "bb", "as_of": "2026-10-31"}
    folder = tmp_path / "snapshot"
    write_snapshot(led, folder, validate(base))
    run = validate(base | {"snapshot": str(folder)})
    card, work = customer.unit_frames(led, validate(base))
    ids = list(credit.actions(work)[C.customer_id].astype(str).head(3))
    customer.save_unit_frames(run, card, work, ids)
    loads = []
    real_load = io.load_ledger
    monkeypatch.setattr(io, "load_ledger", lambda cfg: loads.append(1) or real_load(cfg))
    for cid in ids:
        got, audit = account_of_run(validate(base | {"snapshot": str(folder), "customer_id": cid}))
        want = customer.account(led, validate(base | {"customer_id": cid}))
        assert got.facts == want.facts and (got.name, got.customer_id) == (want.name, cid)
        for name in customer.FORMATS:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
        assert audit["input_fingerprint"] == stamp(run, led)["input_fingerprint"]
        assert audit["parameters"]["customer_id"] == cid
    assert len(loads) == 1 and (folder / ACCOUNTS / "statement.parquet").is_file()
    # other parameters than the handed-on accounts': computed from the unit's data again
    other = validate(base | {"snapshot": str(folder), "customer_id": ids[0], "trend_months": 6})
    got, _ = account_of_run(other)
    want = customer.account(led, validate(base | {"customer_id": ids[0], "trend_months": 6}))
    pd.testing.assert_frame_equal(got.history, want.history)
    assert len(loads) == 2

    # accounts handed on from other data than the snapshot's (its fingerprint differs): not reused
    def at(cid):
        return validate(base | {"snapshot": str(folder), "customer_id": cid})

    account_of_run(at(ids[1]))  # the run's parameters again: computed and handed on once more
    account_of_run(at(ids[2]))  # ... and reused
    assert len(loads) == 3
    index_file = folder / ACCOUNTS / "index.json"
    index = json.loads(index_file.read_text())
    index["fingerprint"]["sha256"] = "0" * 64
    index_file.write_text(json.dumps(index))
    got, _ = account_of_run(at(ids[1]))
    want = customer.account(led, validate(base | {"customer_id": ids[1]}))
    assert len(loads) == 4 and got.facts == want.facts


def test_accounts_of_several_customers_equal_each_computed_alone(small_demo):
    """:func:`customer.accounts` picks each customer's rows from ids converted once per unit
    (the run's fast path); each account equals the one computed on its own, from a fresh unit
    view, frame by frame and figure by figure; messy ids included (a number-like id, an id with
    a space, a customer with nothing open)."""
    frames = {k: v.loc[v[C.business_unit] == "bb"].copy() for k, v in small_demo.items()}
    first = frames["invoices"][C.customer_id].iloc[0]
    rename = {first: "0042", frames["invoices"][C.customer_id].iloc[-1]: "A B"}
    for f in frames.values():
        f[C.customer_id] = f[C.customer_id].replace(rename)
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    cfg = validate({"business_unit": "bb", "as_of": "2026-10-31"})
    card, work = customer.unit_frames(led, cfg)
    quiet = sorted(set(card[C.customer_id]) - set(work[C.customer_id]))[:1]  # nothing past due
    ids = ["0042", "A B", *credit.actions(work)[C.customer_id].astype(str).head(3), *quiet]
    got = customer.accounts(led, cfg, ids)
    assert list(got) == list(dict.fromkeys(ids))
    for cid in got:
        want = customer.account(
            led, validate({"business_unit": "bb", "as_of": "2026-10-31", "customer_id": cid})
        )
        assert got[cid].facts == want.facts, cid
        for name in customer.FORMATS:
            pd.testing.assert_frame_equal(getattr(got[cid], name), getattr(want, name), obj=name)
    assert got["0042"].facts["open_items"] == len(
        led.open_items("2026-10-31").query("customer_id == '0042'")
    )


def test_the_health_report_hands_on_the_accounts_so_no_customer_report_loads_the_unit(
    small_demo, tmp_path, monkeypatch
):
    """:func:`hand_on_accounts` computes the run's accounts from the ledger the health report
    holds; every customer report then reads its own (no load) and equals the account computed
    directly. Outside a run, or with no customer report due, nothing is handed on."""
    from arlib import io
    from arlib.io.snapshot import read_snapshot, write_snapshot
    from arlib.run.customers import ACCOUNTS, account_of_run, hand_on_accounts

    frames = {k: v.loc[v[C.business_unit] == "bb"] for k, v in small_demo.items()}
    led = Ledger(frames["invoices"], frames["transactions"], frames["customers"])
    base = {"business_unit": "bb", "as_of": "2026-10-31"}
    folder = tmp_path / "snapshot"
    write_snapshot(led, folder, validate(base))
    run = validate(base | {"snapshot": str(folder)})
    assert hand_on_accounts(run, led) == []  # the health report has not named any customer yet
    assert hand_on_accounts(validate(base), led) == []  # not a run
    card, work = customer.unit_frames(led, validate(base))
    ids = list(credit.actions(work)[C.customer_id].astype(str).head(3))
    customer.save_unit_frames(run, card, work, ids)
    held = read_snapshot(folder)  # the health report's ledger, as its kernel read it
    assert hand_on_accounts(run, held) == ids
    assert (folder / ACCOUNTS / "index.json").is_file()
    monkeypatch.setattr(io, "load_ledger", lambda cfg: pytest.fail("the unit was loaded again"))
    for cid in ids:
        got, audit = account_of_run(validate(base | {"snapshot": str(folder), "customer_id": cid}))
        want = customer.account(led, validate(base | {"customer_id": cid}))
        assert got.facts == want.facts
        for name in customer.FORMATS:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
        assert audit["input_fingerprint"] == held.input_fingerprint
