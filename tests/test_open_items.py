"""Open-item lists (an aged open-items export, no payment history) as a first-class source.

The list below, unit ``x`` as of 2024-06-30, has customer names and segments on the invoice
rows and no customers file:

=======  ======  ==========  ==========  ====  ============  ==========
invoice  amount  invoiced    due         cust  name          segment
=======  ======  ==========  ==========  ====  ============  ==========
A1       400.00  2024-04-01  2024-05-01  K1    Kappa GmbH    wholesale
A2       150.00  2024-06-10  2024-07-10  K1    Kappa GmbH    wholesale
A3        90.00  2024-05-20  2024-06-19  K2    Lambda Ltd    retail
A4        60.00  2024-06-01  2024-07-01  K2    (empty)       retail
=======  ======  ==========  ==========  ====  ============  ==========

Open AR 700.00; K2's name is the one on most of its invoices ("Lambda Ltd").
"""

from __future__ import annotations

import pytest
from test_io_helpers import assert_reconciles, load, write_files

from arlib.errors import ConfigError

OPEN_ITEMS = """invoice_id,business_unit,customer_id,name_customer,region,invoice_date,due_date,amount
A1,x,K1,Kappa GmbH,wholesale,2024-04-01,2024-05-01,400.00
A2,x,K1,Kappa GmbH,wholesale,2024-06-10,2024-07-10,150.00
A3,x,K2,Lambda Ltd,retail,2024-05-20,2024-06-19,90.00
A4,x,K2,,retail,2024-06-01,2024-07-01,60.00
"""
DERIVED = {
    "columns": {"invoices": {"name_customer": "name", "region": "segment"}},
    "frames": {"transactions": "none", "customers": "derive"},
}


@pytest.fixture
def open_list(tmp_path):
    src = write_files(tmp_path / "src", {"invoices.csv": OPEN_ITEMS})
    return load(src, source_options=DERIVED, output_dir=str(tmp_path / "out"))


def test_customer_names_and_segments_come_from_the_invoice_columns(open_list):
    customers = open_list.customers.set_index("customer_id")[["name", "segment"]]
    assert customers.to_dict("index") == {
        "K1": {"name": "Kappa GmbH", "segment": "wholesale"},
        "K2": {"name": "Lambda Ltd", "segment": "retail"},
    }
    assert "name" not in open_list.invoices and "segment" not in open_list.invoices
    rec = assert_reconciles(open_list).set_index("line")
    assert rec.at["Open AR (ledger)", "amount"] == 700.0


def test_invoice_names_need_derived_customers(tmp_path):
    src = write_files(tmp_path / "src", {"invoices.csv": OPEN_ITEMS})
    options = {**DERIVED, "frames": {"transactions": "none", "customers": "none"}}
    with pytest.raises(ConfigError) as e:
        load(src, source_options=options)
    assert str(e.value) == (
        "parameter source_options.columns.invoices: maps name and segment, which describe "
        "customers: set source_options.frames.customers: derive (customers from the invoices), "
        "or map them in source_options.columns.customers"
    )
