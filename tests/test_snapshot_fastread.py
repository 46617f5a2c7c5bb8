"""The snapshot read's short cuts give what the plain read gives: each transaction's invoice
position found by Arrow's hash kernel (and its id made the invoice's own string) against the
frames as pandas reads them and the positions the ledger finds itself; the fingerprint that
takes the transactions' invoice id hashes from the invoices' against every value hashed
(the second method); on messy ids (leading zeros, empty text, spaces, non-ASCII, ids of no
invoice or of none held, integer ids). A transaction moved to another invoice after the
write is refused."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import invoices, transactions

from arlib import io
from arlib.errors import SourceError
from arlib.io.snapshot import _ledger_frames
from arlib.ledger import Ledger, fingerprint, ledger_arrays, row_hashes
from arlib.schemas import C

IDS = ["007", "7", "", "A B", "é-ü 1", "INV-2"]
INV = [(i, "c1", "2024-01-01", "2024-01-31", 10.0 + k) for k, i in enumerate(IDS)]
TXN = [
    ("007", "2024-01-05", 3.0, "payment"),
    ("7", "2024-01-05", 2.0, "payment"),
    ("", "2024-01-06", 1.0, "credit_note"),
    (None, "2024-01-06", 4.0, "payment"),  # no invoice
    ("ghost", "2024-01-07", 5.0, "payment"),  # an invoice the ledger does not hold
    ("é-ü 1", "2024-01-08", 6.0, "write_off"),
    ("07", "2024-01-09", 7.0, "payment"),  # not "007"
    ("A B", "2024-01-10", 1.0, "recovery"),
]


def _by_rows(ledger) -> str:
    """The fingerprint's content hash with every value hashed (the second method)."""
    h = hashlib.sha256()
    frames = {"invoices": ledger.invoices, "transactions": ledger.transactions}
    if ledger.customers is not None:
        frames["customers"] = ledger.customers
    for name, df in frames.items():
        rows = np.sort(row_hashes(df))
        h.update(name.encode())
        h.update("\x1f".join(map(str, df.columns)).encode())
        h.update(len(rows).to_bytes(8, "little"))
        h.update(rows.tobytes())
    return h.hexdigest()


def _plain(folder) -> Ledger:
    """The frames as pandas reads them, and a ledger that finds the positions itself."""
    read = {
        k: pq.read_table(folder / f"{k}.parquet").to_pandas() for k in ("invoices", "transactions")
    }
    return Ledger(read["invoices"], read["transactions"], validate=False)


def _check(led: Ledger, folder, fast: bool = True) -> Ledger:
    manifest = io.write_snapshot(led, folder)
    _, codes = _ledger_frames(folder, manifest["frames"])
    assert (codes is not None) == fast  # the short cut taken, or the plain path
    back, plain = io.read_snapshot(folder), _plain(folder)
    for name in ("invoices", "transactions"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(plain, name))
    for mine, theirs in zip(ledger_arrays(back), ledger_arrays(plain), strict=True):
        assert np.array_equal(mine, theirs)
    assert fingerprint(back) == fingerprint(plain) == manifest["fingerprint"]
    assert fingerprint(back)["sha256"] == _by_rows(back) == _by_rows(led)
    return back


def test_messy_text_ids_read_as_the_plain_read(tmp_path):
    back = _check(Ledger(invoices(*INV), transactions(*TXN), validate=False), tmp_path)
    codes = ledger_arrays(back).txn_code
    ids = back.transactions[C.invoice_id].tolist()
    assert [IDS[c] if c >= 0 else None for c in codes] == [
        "007",
        "7",
        "",
        None,
        None,
        "é-ü 1",
        None,
        "A B",
    ]
    assert ids[3] is None and ids[4] == "ghost" and ids[6] == "07"
    inv_ids = back.invoices[C.invoice_id].to_numpy()
    assert all(ids[j] is inv_ids[c] for j, c in enumerate(codes) if c >= 0)  # shared objects


def test_integer_ids_take_the_plain_path(tmp_path):
    inv = invoices(*INV[:3]).assign(invoice_id=[1, 2, 3])
    txn = transactions(*TXN[:3]).assign(invoice_id=[1, 3, 9])
    back = _check(Ledger(inv, txn, validate=False), tmp_path, fast=False)
    assert ledger_arrays(back).txn_code.tolist() == [0, 2, -1]


def test_no_transactions_and_no_applied_ones(tmp_path):
    none = transactions(*TXN[:1]).iloc[:0]
    _check(Ledger(invoices(*INV), none, validate=False), tmp_path / "a", fast=False)  # no text
    orphans = transactions(
        (None, "2024-01-05", 3.0, "payment"), ("x", "2024-01-06", 1.0, "payment")
    )
    _check(Ledger(invoices(*INV), orphans, validate=False), tmp_path / "b")


def test_a_transaction_moved_to_another_invoice_is_refused(tmp_path):
    """Its amount and the totals stay, and the file's sha256 is updated with it: the ids
    hashed through the invoice positions still see the change."""
    io.write_snapshot(Ledger(invoices(*INV), transactions(*TXN), validate=False), tmp_path)
    path = tmp_path / "transactions.parquet"
    txn = pd.read_parquet(path)
    txn.loc[txn[C.invoice_id] == "007", C.invoice_id] = "7"
    txn.to_parquet(path)
    manifest = json.loads((tmp_path / "snapshot.json").read_text())
    manifest["files"]["transactions.parquet"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "snapshot.json").write_text(json.dumps(manifest))
    with pytest.raises(SourceError) as err:
        io.read_snapshot(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: the snapshot cannot be used: its data do not match the input fingerprint "
        "in snapshot.json (the content hash differs). Fix: rerun the unit with "
        "`arlib run --bu <unit>`"
    )


def test_given_positions_are_used_only_for_frames_kept_in_their_order():
    inv, txn = invoices(*INV), transactions(*TXN)
    wrong = np.zeros(len(txn), dtype=np.int64)
    found = Ledger(inv, txn, validate=False)._txn_code
    assert (
        Ledger(inv, txn, validate=False, invoice_codes=wrong)._txn_code.tolist() == found.tolist()
    )
    shuffled = txn.iloc[::-1].reset_index(drop=True)  # re-sorted by the ledger: not kept
    led = Ledger(inv, shuffled, validate=False, own=True, invoice_codes=wrong)
    assert led._txn_code.tolist() == found.tolist()
    kept = Ledger(inv, txn, validate=False, own=True, invoice_codes=found[:-1])  # wrong length
    assert kept._txn_code.tolist() == found.tolist()


# -- the frames kept for the next read of the same files (a unit's notebooks in one kernel) --
def _read_twice(folder):
    from arlib.io import snapshot

    snapshot.forget()
    first = io.read_snapshot(folder)
    assert snapshot._KEPT  # kept for the next read
    return first, snapshot


def test_a_second_read_of_the_same_files_reuses_the_frames_and_checks_them(tmp_path):
    led = Ledger(invoices(*INV), transactions(*TXN), validate=False)
    manifest = io.write_snapshot(led, tmp_path)
    first, snapshot = _read_twice(tmp_path)
    _, _, kept = snapshot._frames_of(tmp_path, *snapshot._manifest(tmp_path))
    assert kept
    first.invoices["extra"] = 1.0  # a column added by the first reader never reaches the next
    second = io.read_snapshot(tmp_path)
    assert "extra" not in second.invoices and second.invoices is not first.invoices
    plain = _plain(tmp_path)
    for name in ("invoices", "transactions"):
        pd.testing.assert_frame_equal(getattr(second, name), getattr(plain, name))
    assert second.input_fingerprint == manifest["fingerprint"]
    assert np.array_equal(ledger_arrays(second).txn_code, ledger_arrays(plain).txn_code)


def test_kept_frames_changed_in_memory_are_read_again_from_the_files(tmp_path):
    led = Ledger(invoices(*INV), transactions(*TXN), validate=False)
    io.write_snapshot(led, tmp_path)
    first, snapshot = _read_twice(tmp_path)
    first.invoices[C.customer_id].to_numpy()[0] = "zz"  # in place: the kept frame shares it
    assert snapshot._KEPT["frames"]["invoices"][C.customer_id].iloc[0] == "zz"
    second = io.read_snapshot(tmp_path)
    assert second.invoices[C.customer_id].iloc[0] == "c1"  # the files' value, read again
    assert snapshot._KEPT["frames"]["invoices"][C.customer_id].iloc[0] == "c1"
    assert fingerprint(second) == fingerprint(_plain(tmp_path))


def test_a_snapshot_altered_after_a_read_is_refused_on_the_next(tmp_path):
    """The kept frames never stand in for files that changed: each read checks every file's
    sha256 first, and frames kept from other bytes of the manifest are not used."""
    io.write_snapshot(Ledger(invoices(*INV), transactions(*TXN), validate=False), tmp_path)
    _read_twice(tmp_path)
    path = tmp_path / "invoices.parquet"
    inv = pd.read_parquet(path)
    inv.loc[0, C.amount] += 1.0
    inv.to_parquet(path)
    with pytest.raises(SourceError, match="invoices.parquet differs from its sha256"):
        io.read_snapshot(tmp_path)
    manifest = json.loads((tmp_path / "snapshot.json").read_text())
    manifest["files"]["invoices.parquet"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "snapshot.json").write_text(json.dumps(manifest))
    with pytest.raises(SourceError) as err:
        io.read_snapshot(tmp_path)
    assert "its data do not match the input fingerprint in snapshot.json (invoiced" in str(
        err.value
    )


def test_another_snapshot_is_read_from_its_files_and_forget_drops_the_frames(tmp_path):
    io.write_snapshot(Ledger(invoices(*INV), transactions(*TXN), validate=False), tmp_path / "a")
    other = Ledger(invoices(*INV[:2]), transactions(*TXN[:2]), validate=False)
    io.write_snapshot(other, tmp_path / "b")
    _read_twice(tmp_path / "a")
    back = io.read_snapshot(tmp_path / "b")
    assert len(back.invoices) == 2
    from arlib.io import snapshot
    from arlib.run.kernel import FORGET

    namespace: dict = {}
    exec(FORGET, namespace)  # what the kernel runs before the customer reports
    assert not snapshot._KEPT and set(namespace) == {"__builtins__"}
