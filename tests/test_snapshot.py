"""Snapshots: a unit loaded once, written to its staging folder and read back by its notebooks
with the same frames, fingerprint, aging, load report and reconciliation; tampering refused."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pandas as pd
import pytest
from conftest import invoices, transactions
from test_bad_inputs import CASES, _files
from test_io_helpers import BASE, load, make_cfg, write_files

from arlib import demo, io
from arlib.config import RunConfig
from arlib.errors import SourceError
from arlib.io.intake import LoadReport
from arlib.io.reconcile import reconciliation
from arlib.io.snapshot import _parquet
from arlib.ledger import Ledger, fingerprint

AS_OF = "2026-10-31"
FILES = [
    "collector_notes.parquet",
    "customers.parquet",
    "invoices.parquet",
    "load_report.json",
    "report-frames.parquet",
    "report-problems.parquet",
    "report-quarantined-collector_notes.parquet",
    "report-quarantined-customers.parquet",
    "report-quarantined-invoices.parquet",
    "report-quarantined-transactions.parquet",
    "snapshot.json",
    "transactions.parquet",
]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    return io.write_store(demo.generate(seed=7), tmp_path_factory.mktemp("demo") / "ar.sqlite")


@pytest.fixture(scope="module")
def de(demo_store):
    cfg = make_cfg(demo_store, bu="de", as_of=AS_OF)
    return cfg, io.load_ledger(cfg)


def _with_snapshot(cfg, folder, **changes) -> RunConfig:
    return RunConfig({**cfg, "snapshot": str(folder), **changes})


def assert_same_report(a: LoadReport, b: LoadReport) -> None:
    for f in dataclasses.fields(LoadReport):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif isinstance(x, dict):
            assert list(x) == list(y), f.name
            for k in x:
                if isinstance(x[k], pd.DataFrame):
                    pd.testing.assert_frame_equal(x[k], y[k])
                else:
                    assert x[k] == y[k], (f.name, k)
        else:
            assert x == y, f.name
    assert str(a) == str(b) and a._repr_html_() == b._repr_html_()


def assert_same_ledger(a, b, as_of) -> None:
    for name in ("invoices", "transactions", "customers"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))  # dtypes included
    assert fingerprint(a) == fingerprint(b)
    pd.testing.assert_frame_equal(a.aging(as_of), b.aging(as_of))
    pd.testing.assert_frame_equal(reconciliation(a, as_of, None), reconciliation(b, as_of, None))
    assert_same_report(a.load_report, b.load_report)


def test_demo_unit_roundtrip(de, tmp_path):
    cfg, led = de
    manifest = io.write_snapshot(led, tmp_path / "snap", cfg)
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == FILES  # no temporary file left
    assert manifest["params"] == {"business_unit": "de", "currency": "EUR", "as_of": AS_OF}
    assert manifest["fingerprint"]["rows"] == {
        "invoices": 11034,
        "transactions": 12059,
        "customers": 70,
    }
    assert manifest["fingerprint"]["control_totals"]["invoiced"] == 57003967.34
    assert json.loads((tmp_path / "snap" / "snapshot.json").read_text()) == manifest
    back = io.read_snapshot(tmp_path / "snap")
    assert_same_ledger(led, back, AS_OF)
    assert back.invoices["invoice_date"].dtype == "datetime64[ns]"
    assert back.customers["status_since"].dtype == "datetime64[ns]"
    assert back.invoices["disputed"].dtype == bool
    assert (
        back.transactions["invoice_id"].isna().sum() == led.transactions["invoice_id"].isna().sum()
    )
    rec = reconciliation(back, AS_OF, None).set_index("line")
    assert rec.at["Invoices read", "rows"] == 11034 and rec.at["Difference", "check"] == "ok"


def test_snapshot_written_again_replaces_the_first(de, tmp_path):
    cfg, led = de
    io.write_snapshot(led, tmp_path, cfg)
    io.write_snapshot(led, tmp_path, cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES
    assert fingerprint(io.read_snapshot(tmp_path)) == fingerprint(led)


def test_quarantined_rows_and_problems_survive(tmp_path):
    case = next(c for c in CASES if c.id == "duplicate_invoice_id_quarantined")
    src = write_files(tmp_path / "src", _files(case.edits))
    led = load(src, output_dir=str(tmp_path / "out"), **case.params)
    io.write_snapshot(led, tmp_path / "snap")
    back = io.read_snapshot(tmp_path / "snap")
    assert_same_ledger(led, back, "2024-06-30")
    rep = back.load_report
    assert rep.problems[["problem", "policy", "rows"]].values.tolist() == [
        ["duplicate_id", "quarantine", 2],
        ["invoice_quarantined", "quarantine", 1],
    ]
    assert rep.quarantined["invoices"]["invoice_id"].tolist() == ["I2", "I2"]
    assert rep.quarantine_files == [
        str(tmp_path / "out" / "quarantine-invoices.csv"),
        str(tmp_path / "out" / "quarantine-transactions.csv"),
    ]
    rec = reconciliation(back, "2024-06-30", None).set_index("line")["amount"]
    assert rec["Invoices read"] == 680.50 and rec["Quarantined invoices"] == -500.0
    assert rec["Quarantined transactions"] == 50.0 and rec["Open AR (ledger)"] == 70.50


def test_text_ids_with_leading_zeros_stay_text(tmp_path):
    files = {k: v.replace("I1", "007").replace("C1", "001") for k, v in BASE.items()}
    led = load(write_files(tmp_path / "src", files))
    io.write_snapshot(led, tmp_path / "snap")
    back = io.read_snapshot(tmp_path / "snap")
    assert back.invoices["invoice_id"].tolist() == ["007", "I2", "I3"]
    assert back.transactions["invoice_id"].tolist() == ["007", "I2", "I3", None]
    assert back.customers["customer_id"].tolist() == ["001", "C2"]
    assert_same_ledger(led, back, "2024-06-30")


def test_categories_and_extra_columns_keep_their_dtypes(tmp_path):
    inv = invoices(
        ("007", "c1", "2024-01-01", "2024-01-31", 100.0),
        ("A", "c2", "2024-01-05", "2024-02-04", 50.5),
    )
    inv["region"] = pd.Categorical(["north", "south"], ["south", "north"], ordered=True)
    inv["lines"] = pd.array([3, None], dtype="Int64")
    led = Ledger(inv, transactions(("007", "2024-02-10", 40.0, "payment")))
    io.write_snapshot(led, tmp_path)
    back = io.read_snapshot(tmp_path)
    pd.testing.assert_frame_equal(back.invoices, led.invoices)
    assert back.invoices["region"].cat.categories.tolist() == ["south", "north"]
    assert back.customers is None and not hasattr(back, "load_report")
    assert back.open_items("2024-02-29")["open_amount"].tolist() == [60.0, 50.5]


def test_mixed_values_in_quarantined_rows_are_kept_as_text():
    df = pd.DataFrame({"note": ["a", 3, None], "amount": [1.0, 2.0, 3.0]})
    _, text = _parquet(df, "report-quarantined-invoices.parquet", exact=False)
    assert text == ["note"]
    with pytest.raises(SourceError, match=r"^x: invoices: column\(s\) note mix value types"):
        _parquet(df, "x: invoices", exact=True)


def _refusal(folder, what: str) -> str:
    return (
        f"{folder}: the snapshot cannot be used: {what}. "
        "Fix: rerun the unit with `arlib run --bu de`"
    )


def test_tampered_parquet_is_refused(de, tmp_path):
    cfg, led = de
    io.write_snapshot(led, tmp_path, cfg)
    inv = pd.read_parquet(tmp_path / "invoices.parquet")
    inv.loc[0, "amount"] += 1.0
    inv.to_parquet(tmp_path / "invoices.parquet")
    with pytest.raises(SourceError) as err:
        io.read_snapshot(tmp_path)
    assert str(err.value) == _refusal(
        tmp_path, "invoices.parquet differs from its sha256 in snapshot.json"
    )


def test_tampered_manifest_is_refused(de, tmp_path):
    cfg, led = de
    io.write_snapshot(led, tmp_path, cfg)
    path = tmp_path / "snapshot.json"
    manifest = json.loads(path.read_text())
    manifest["fingerprint"]["control_totals"]["invoiced"] = 57003968.34
    path.write_text(json.dumps(manifest))
    with pytest.raises(SourceError) as err:
        io.read_snapshot(tmp_path)
    assert str(err.value) == _refusal(
        tmp_path,
        "its data do not match the input fingerprint in snapshot.json "
        "(invoiced 57003967.34 read, 57003968.34 in snapshot.json)",
    )
    path.write_text("{not json")
    with pytest.raises(SourceError, match="snapshot.json is not a snapshot manifest"):
        io.read_snapshot(tmp_path)


def test_frame_and_manifest_tampered_together_are_refused(de, tmp_path):
    """A changed amount with the file's sha256 updated still breaks the fingerprint."""
    cfg, led = de
    io.write_snapshot(led, tmp_path, cfg)
    inv = pd.read_parquet(tmp_path / "invoices.parquet")
    inv.loc[0, "amount"] += 1.0
    inv.to_parquet(tmp_path / "invoices.parquet")
    path = tmp_path / "snapshot.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["invoices.parquet"] = hashlib.sha256(
        (tmp_path / "invoices.parquet").read_bytes()
    ).hexdigest()
    path.write_text(json.dumps(manifest))
    with pytest.raises(SourceError, match=r"\(invoiced 57003968.34 read, 57003967.34 in snapshot"):
        io.read_snapshot(tmp_path)


def test_load_ledger_reads_the_snapshot_not_the_source(de, tmp_path):
    cfg, led = de
    io.write_snapshot(led, tmp_path / "snap", cfg)
    gone = _with_snapshot(cfg, tmp_path / "snap", source=str(tmp_path / "no-such-store.sqlite"))
    back = io.load_ledger(gone)
    assert_same_ledger(led, back, AS_OF)
    assert back.load_report.source == led.load_report.source  # what was read, by the runner
    assert io.load_ledger(RunConfig({**cfg, "snapshot": None})).invoices.shape == (11034, 8)


def test_load_ledger_refuses_another_units_or_dates_snapshot(de, tmp_path):
    cfg, led = de
    io.write_snapshot(led, tmp_path, cfg)
    with pytest.raises(SourceError) as err:
        io.load_ledger(_with_snapshot(cfg, tmp_path, as_of="2026-09-30"))
    assert str(err.value) == _refusal(
        tmp_path, "it was written for as_of '2026-10-31', not '2026-09-30'"
    )
    with pytest.raises(SourceError, match="business_unit 'de', not 'us'.*`arlib run --bu us`"):
        io.load_ledger(_with_snapshot(cfg, tmp_path, business_unit="us", currency="USD"))
    with pytest.raises(SourceError, match=r"snapshot.json is missing\. Fix"):
        io.load_ledger(_with_snapshot(cfg, tmp_path / "empty"))


def test_round_trip_keeps_every_amount_to_the_cent_and_every_id(tmp_path):
    """Amounts that binary floats cannot hold exactly (0.1, 0.29, 1e12 + 0.01, ...) and ids that
    look like numbers, carry blanks or other scripts come back as written: the cents are worked
    out from the decimal text, not from the frame."""
    from decimal import Decimal

    amounts = ["0.10", "0.29", "1000000000000.01", "1234.56", "999999.99", "0.01", "17.05"]
    ids = ["007", "1e3", " A-1 ", "发票-1", "x" * 200, "NaN", "'=1+1"]
    inv = invoices(
        *[(i, f"0{k}", "2026-01-01", "2026-01-31", a) for k, (i, a) in enumerate(zip(ids, amounts))]
    )
    txn = transactions(
        *[(i, "2026-02-10", "0.07", "payment", f"0{k}") for k, i in enumerate(ids)],
        (None, "2026-02-11", "0.30", "payment", "00"),  # unapplied cash: no invoice id
    )
    led = Ledger(inv, txn)
    io.write_snapshot(led, tmp_path)
    back = io.read_snapshot(tmp_path)
    cents = [int(Decimal(a) * 100) for a in amounts]
    assert [round(a * 100) for a in back.invoices["amount"]] == cents
    assert [round(a * 100) for a in back.transactions["amount"]] == [7] * len(ids) + [30]
    assert back.invoices["invoice_id"].tolist() == ids
    assert back.invoices["customer_id"].tolist() == [f"0{k}" for k in range(len(ids))]
    assert back.transactions["invoice_id"].tolist() == [*ids, None]
    assert back.transactions["txn_id"].tolist() == led.transactions["txn_id"].tolist()
    assert back.invoices["amount"].to_numpy().tobytes() == inv["amount"].to_numpy().tobytes()


def test_stamp_reuses_the_fingerprint_verified_when_the_snapshot_was_read(de, tmp_path):
    """A kernel hashes its unit's data once: the snapshot read verifies the fingerprint and the
    audit stamp shows that same one; a ledger built in the notebook itself is hashed anew."""
    from arlib.report.records import stamp

    cfg, led = de
    io.write_snapshot(led, tmp_path / "snap", cfg)
    back = io.read_snapshot(tmp_path / "snap")
    assert back.input_fingerprint == fingerprint(led)  # a second computation, on the source
    back.input_fingerprint = {"sha256": "from the read"}  # what the stamp shows is the cached one
    assert stamp(cfg, back)["input_fingerprint"] == {"sha256": "from the read"}
    own = Ledger(led.invoices, led.transactions, led.customers, validate=False)
    assert stamp(cfg, own)["input_fingerprint"] == fingerprint(led)


def _old_fingerprint(led) -> str:
    """The fingerprint's earlier formulation (second method): each frame sorted by its first
    column, hashed row by row in that order."""
    h = hashlib.sha256()
    frames = {"invoices": led.invoices, "transactions": led.transactions}
    if led.customers is not None:
        frames["customers"] = led.customers
    for name, df in frames.items():
        body = df.sort_values(df.columns[0], kind="stable").reset_index(drop=True)
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(body, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _changes(led):
    """(what, invoices, transactions, customers): one change of the data each."""
    inv, txn, cus = led.invoices, led.transactions, led.customers

    def at(df, col, k, value):
        out = df.copy()
        out.loc[out.index[k], col] = value
        return out

    other_kind = "write_off" if txn["kind"].iloc[4] != "write_off" else "payment"
    swapped = inv.copy()
    swapped.loc[[0, 1], "amount"] = inv["amount"].to_numpy()[[1, 0]]
    return [
        ("an amount by a cent", at(inv, "amount", 5, inv["amount"].iloc[5] + 0.01), txn, cus),
        ("an invoice id", at(inv, "invoice_id", 3, inv["invoice_id"].iloc[3] + "x"), txn, cus),
        (
            "a due date by a day",
            at(inv, "due_date", 7, inv["due_date"].iloc[7] + pd.Timedelta("1D")),
            txn,
            cus,
        ),
        ("a disputed flag", at(inv, "disputed", 2, not inv["disputed"].iloc[2]), txn, cus),
        ("two amounts swapped", swapped, txn, cus),
        ("a payment's kind", inv, at(txn, "kind", 4, other_kind), cus),
        ("a payment's invoice id gone", inv, at(txn, "invoice_id", 4, None), cus),
        ("a payment repeated", inv, pd.concat([txn, txn.iloc[[9]]], ignore_index=True), cus),
        ("a payment removed", inv, txn.drop(index=txn.index[9]), cus),
        ("a customer's terms", inv, txn, at(cus, "terms_days", 0, cus["terms_days"].iloc[0] + 1)),
        ("a column renamed", inv.rename(columns={"currency": "ccy"}), txn, cus),
    ]


def test_the_fingerprint_changes_whenever_the_data_do(de):
    """Every change of a value, a row or a name changes the fingerprint, as it changed the
    earlier one (the second method); the same rows in another order change neither."""
    _, led = de
    base = fingerprint(led)["sha256"]
    for what, inv, txn, cus in _changes(led):
        changed = Ledger(inv, txn, cus, validate=False)
        assert fingerprint(changed)["sha256"] != base, what
        if what != "a column renamed":  # the earlier one did not hash the names
            assert _old_fingerprint(changed) != _old_fingerprint(led), what
    shuffled = Ledger(
        led.invoices.sample(frac=1, random_state=1),
        led.transactions.sample(frac=1, random_state=2),
        led.customers.iloc[::-1],
        validate=False,
    )
    assert fingerprint(shuffled) == fingerprint(led)
    assert _old_fingerprint(shuffled) == _old_fingerprint(led)


def test_text_hashed_by_value_or_by_distinct_value_gives_one_fingerprint():
    """Ids (mostly distinct) are hashed value by value, codes (few values) once per value;
    missing values get one hash either way, so the choice never shows in the fingerprint."""
    from arlib.ledger import _NULL, _column_hashes

    ids = pd.Series([f"INV-{k:06d}" for k in range(6000)] + [None, float("nan")], dtype=object)
    codes = pd.Series(["payment", "credit_note", None] * 3000, dtype=object)
    for col in (ids, codes):
        for categorize in (True, False):
            want = pd.util.hash_pandas_object(col, index=False, categorize=categorize).to_numpy()
            want[col.isna().to_numpy()] = _NULL
            assert (_column_hashes(col) == want).all()


def test_a_read_ledger_shares_its_invoice_ids_and_keeps_its_frames(de, tmp_path):
    """Transactions' invoice ids are the invoices' own strings after a read (one copy in
    memory), equal to the source's; the frames read are the ledger's, not copies of them."""
    _, led = de
    io.write_snapshot(led, tmp_path)
    back = io.read_snapshot(tmp_path)
    ids = back.transactions["invoice_id"]
    assert ids.tolist() == led.transactions["invoice_id"].tolist()
    known = dict(zip(back.invoices["invoice_id"], back.invoices["invoice_id"]))
    applied = [i for i in ids if i is not None]
    assert applied and all(i is known[i] for i in applied)  # the very same objects
    assert any(i is None for i in ids)  # unapplied cash stays without an invoice
    inv = back.invoices
    own = Ledger(inv, back.transactions, validate=False, own=True)
    assert own.invoices is inv  # handed over: no copy
    assert Ledger(inv, back.transactions, validate=False).invoices is not inv
    pd.testing.assert_frame_equal(own.aging(AS_OF), led.aging(AS_OF))


def test_invoice_ids_of_mixed_types_are_not_shared(tmp_path):
    """An id column that is not all text (1 and 1.0 are equal but not the same id) is kept."""
    from arlib.io.snapshot import _share_invoice_ids

    inv = invoices(("1", "c", "2026-01-01", "2026-01-31", "10.00"))
    txn = transactions(("1", "2026-02-10", "5.00", "payment", "c"))
    led = Ledger(inv, txn, validate=False)
    led.transactions["invoice_id"] = pd.Series([1], dtype=object)
    _share_invoice_ids(led)
    assert led.transactions["invoice_id"].tolist() == [1]
    assert type(led.transactions["invoice_id"].iloc[0]) is int


def test_memory_freed_while_reading_goes_back_to_the_system():
    """glibc keeps freed heap pages; after the release the process holds ~none of them
    (measured in a fresh process: the heap of this one depends on the tests run before)."""
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    code = (
        "import numpy as np, psutil\n"
        "from arlib.io.snapshot import release_freed_memory\n"
        "me = psutil.Process()\n"
        "blocks = [np.ones(8_000) for _ in range(3_000)]  # 64 KB each: heap; ~180 MiB\n"
        "blocks.append(np.ones(8_000))  # allocated last: the heap top cannot shrink by itself\n"
        "del blocks[:-1]\n"
        "held = me.memory_info().rss\n"
        "print(release_freed_memory(), (held - me.memory_info().rss) >> 20)\n"
    )
    done, freed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert done == "True" and int(freed) > 100


def test_columns_kept_as_text_are_found_from_one_conversion():
    """The frame is converted to Arrow once; the columns it cannot keep as they are are those
    found column by column (second method), on messy frames."""
    import datetime as dt

    from arlib.io.snapshot import _arrow, _text_columns

    frames = [
        pd.DataFrame({"id": ["007", None, "x"], "n": [1, 2, 3]}),
        pd.DataFrame({"id": ["x", 1, 2.5]}),  # numbers mixed with text
        pd.DataFrame({"a": [1, 2, "3"], "b": ["x", "y", "z"], "c": [None, None, None]}),
        pd.DataFrame({"d": [dt.date(2024, 1, 1), None, None]}),
        pd.DataFrame({"raw": [b"x", b"y"], "lst": [[1], [2]], "ok": ["a", "b"]}),
    ]
    for df in frames:
        table, text = _arrow(df)
        assert text == _text_columns(df)
        assert (table is None) == bool(text)
