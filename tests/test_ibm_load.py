"""The IBM late-payment sample loads through params alone (params/ibm), unit by country code.

Figures by hand from ../shared/data/README.md and the file: rows per code 616/561/506/387/396,
total 147,703.18; every invoice settled once at SettledDate, the last settlements after
2013-12-31 are the only items open at that date.
"""

from __future__ import annotations

import pytest
from conftest import ROOT
from test_io_helpers import assert_reconciles

from arlib import io
from arlib.config import unit_params, validate
from arlib.io import reconcile

PARAMS = ROOT / "params" / "ibm"
#: unit -> (invoices, amount read, open AR at 2013-12-31, open items = payments after as_of)
EXPECTED = {
    "391": (616, 40048.96, 82.68, 1),
    "406": (561, 39422.91, 196.59, 3),
    "770": (506, 27380.77, 220.38, 3),
    "818": (387, 24502.06, 49.51, 1),
    "897": (396, 16348.48, 212.74, 5),
}


def _ledger(unit: str, **overrides):
    raw = unit_params(PARAMS / f"{unit}.yaml", PARAMS / "defaults.yaml", overrides)
    return io.load_ledger(validate(raw, str(PARAMS / f"{unit}.yaml")))


@pytest.fixture(scope="module")
def ledgers(ibm_csv):
    return {unit: _ledger(unit) for unit in EXPECTED}


@pytest.mark.parametrize("unit", sorted(EXPECTED))
def test_unit_loads_and_reconciles(ledgers, unit):
    n, read, open_ar, n_open = EXPECTED[unit]
    led = ledgers[unit]
    assert len(led.invoices) == n and len(led.transactions) == n
    rec = assert_reconciles(led, "2013-12-31").set_index("line")
    assert rec.at["Invoices read", "amount"] == read and rec.at["Quarantined invoices", "rows"] == 0
    assert (
        rec.at["Open AR (ledger)", "amount"] == open_ar
        and rec.at["Open AR (ledger)", "rows"] == n_open
    )
    assert rec.at["Transactions dated after as_of", "amount"] == open_ar
    problems = led.load_report.problems
    assert problems[["problem", "policy", "rows"]].values.tolist() == [
        ["future_dated", "warn", n_open]
    ]
    assert led.customers["terms_days"].eq(30).all() and led.customers["segment"].eq("unknown").all()
    assert led.invoices["currency"].eq("USD").all()


def test_whole_sample_is_accounted_for(ledgers):
    assert round(sum(led.invoices["amount"].sum() for led in ledgers.values()), 2) == 147703.18
    assert sum(int(led.invoices["disputed"].sum()) for led in ledgers.values()) == 561
    assert sum(led.customers["customer_id"].nunique() for led in ledgers.values()) >= 100


def test_mid_year_close_has_invoices_after_as_of(ibm_csv):
    led = _ledger("391", as_of="2013-06-30")
    rec = reconcile.reconciliation(led, "2013-06-30").set_index("line")
    assert reconcile.reconciled(rec.reset_index())
    assert (
        rec.at["Invoices dated after as_of", "amount"] < 0
        and rec.at["Transactions dated after as_of", "rows"] > 0
    )
