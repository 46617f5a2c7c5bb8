"""The data contract: every canonical frame, declared once.

Source data is mapped to these names at the edge (:mod:`arlib.io.load`); everything downstream uses
them. Column names are referenced through :data:`C`, never retyped as literals elsewhere.

Frames
------
invoices
    One row per invoice. ``amount`` is the gross amount in the business unit's currency.
transactions
    Cash applications and adjustments, one row per event. ``kind`` is one of
    ``payment`` (cash; with no ``invoice_id`` it is unapplied cash or an advance receipt),
    ``credit_note`` and ``write_off`` (both reduce the invoice's open amount) and ``recovery``
    (cash received on an invoice already written off; it does not change the open amount).
    Amounts are positive. Partial payments are several rows on one invoice.
customers
    One row per customer and business unit: segment, credit limit, payment terms and a
    ``status`` (``active``, or a flag such as ``insolvent`` or ``legal`` used for specific
    provisions).
collector_notes (optional)
    What collectors recorded: promises to pay (date, amount), dispute reasons, the owner
    (:mod:`arlib.io.notes`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa


class _Cols(SimpleNamespace):
    pass


#: Canonical column names, referenced as ``C.amount`` etc.
C = _Cols(
    invoice_id="invoice_id",
    business_unit="business_unit",
    customer_id="customer_id",
    invoice_date="invoice_date",
    due_date="due_date",
    amount="amount",
    currency="currency",
    disputed="disputed",
    txn_id="txn_id",
    date="date",
    kind="kind",
    name="name",
    segment="segment",
    credit_limit="credit_limit",
    terms_days="terms_days",
    status="status",
    status_since="status_since",
    # collector notes (optional frame, arlib.io.notes)
    promise_date="promise_date",
    promise_amount="promise_amount",
    dispute_reason="dispute_reason",
    owner="owner",
    # derived by the ledger
    open_amount="open_amount",
    days_past_due="days_past_due",
    bucket="bucket",
    settled_date="settled_date",
    month_end="month_end",
    count="count",
    share="share",
)

PAYMENT, CREDIT_NOTE, WRITE_OFF, RECOVERY = "payment", "credit_note", "write_off", "recovery"
TXN_KINDS = (PAYMENT, CREDIT_NOTE, WRITE_OFF, RECOVERY)
#: Kinds that reduce an invoice's open amount.
SETTLING_KINDS = (PAYMENT, CREDIT_NOTE, WRITE_OFF)
CUSTOMER_STATUSES = ("active", "watch", "insolvent", "legal", "closed")


#: the columns of each frame, in order (the schemas below declare them with their types; a test
#: checks the two agree). Plain names: config and option checks need no pandas.
COLUMNS = {
    "invoices": (
        C.invoice_id,
        C.business_unit,
        C.customer_id,
        C.invoice_date,
        C.due_date,
        C.amount,
        C.currency,
        C.disputed,
    ),
    "transactions": (
        C.txn_id,
        C.business_unit,
        C.customer_id,
        C.invoice_id,
        C.date,
        C.amount,
        C.kind,
    ),
    "customers": (
        C.customer_id,
        C.business_unit,
        C.name,
        C.segment,
        C.credit_limit,
        C.terms_days,
        C.status,
        C.status_since,
    ),
}
#: the optional ``collector_notes`` frame's columns (contract and checks: :mod:`arlib.io.notes`)
NOTE_COLUMNS = (
    C.business_unit,
    C.customer_id,
    C.invoice_id,
    C.date,
    C.promise_date,
    C.promise_amount,
    C.dispute_reason,
    C.owner,
)

#: the pandera schemas, built on first use (module ``__getattr__``): ``Invoices``, ``Transactions``,
#: ``Customers``, ``OpenItems`` and ``FRAMES`` (frame name -> schema)
SCHEMAS = ("Invoices", "Transactions", "Customers", "OpenItems", "FRAMES")


def __getattr__(name: str):
    if name in SCHEMAS:
        built = _schemas()
        globals().update(built)
        return built[name]
    raise AttributeError(f"module 'arlib.schemas' has no attribute {name!r}")


def _schemas() -> dict:
    import pandera.pandas as pa

    def _due_not_before_invoice(df: pd.DataFrame) -> pd.Series:
        return df[C.due_date] >= df[C.invoice_date]

    def _unique_per_unit(df: pd.DataFrame) -> pd.Series:
        return ~df.duplicated([C.business_unit, C.customer_id], keep=False)

    # Schemas are DataFrameSchema objects, not DataFrameModel classes: a model's ``to_schema()``
    # imports ``dask.dataframe`` when Dask is installed (pandera 0.35 collects every backend's
    # index types), about 0.9 s in every report kernel; the objects below validate the same way.
    _COMMON = {"strict": False, "coerce": True}
    _DATE = "datetime64[ns]"
    _CCY = pa.Check.str_length(min_value=3, max_value=3)

    Invoices = pa.DataFrameSchema(
        {
            C.invoice_id: pa.Column(str, unique=True),
            C.business_unit: pa.Column(str),
            C.customer_id: pa.Column(str),
            C.invoice_date: pa.Column(_DATE),
            C.due_date: pa.Column(_DATE),
            C.amount: pa.Column(float, pa.Check.ge(0)),
            C.currency: pa.Column(str, _CCY),
            C.disputed: pa.Column(bool),
        },
        checks=[
            pa.Check(
                _due_not_before_invoice,
                name="due_not_before_invoice",
                error="due_date is before invoice_date",
            )
        ],
        name="Invoices",
        **_COMMON,
    )

    Transactions = pa.DataFrameSchema(
        {
            C.txn_id: pa.Column(str, unique=True),
            C.business_unit: pa.Column(str),
            C.customer_id: pa.Column(str),
            C.invoice_id: pa.Column(str, nullable=True),
            C.date: pa.Column(_DATE),
            C.amount: pa.Column(float, pa.Check.gt(0)),
            C.kind: pa.Column(str, pa.Check.isin(list(TXN_KINDS))),
        },
        name="Transactions",
        **_COMMON,
    )

    Customers = pa.DataFrameSchema(
        {
            C.customer_id: pa.Column(str),
            C.business_unit: pa.Column(str),
            C.name: pa.Column(str),
            C.segment: pa.Column(str),
            C.credit_limit: pa.Column(float, pa.Check.ge(0), nullable=True),
            C.terms_days: pa.Column(int, pa.Check.ge(0)),
            C.status: pa.Column(str, pa.Check.isin(list(CUSTOMER_STATUSES))),
            #: optional: the date the status took effect (e.g. insolvency filed); empty = not known
            C.status_since: pa.Column(_DATE, nullable=True, required=False),
        },
        checks=[
            pa.Check(
                _unique_per_unit,
                name="unique_per_unit",
                error="customer_id is not unique within its business_unit",
            )
        ],
        name="Customers",
        **_COMMON,
    )

    #: invoices open at the close of ``as_of`` (output of :func:`arlib.ledger.Ledger.open_items`)
    OpenItems = Invoices.add_columns(
        {
            C.open_amount: pa.Column(float, pa.Check.gt(0)),
            C.days_past_due: pa.Column(int),
            C.bucket: pa.Column("category", coerce=False),
        }
    )
    OpenItems.coerce, OpenItems.name = False, "OpenItems"

    return {
        "Invoices": Invoices,
        "Transactions": Transactions,
        "Customers": Customers,
        "OpenItems": OpenItems,
        "FRAMES": {"invoices": Invoices, "transactions": Transactions, "customers": Customers},
    }


def empty(schema: pa.DataFrameSchema) -> pd.DataFrame:
    """An empty frame with the schema's columns and dtypes."""
    import pandas as pd

    return schema.validate(pd.DataFrame({c: pd.Series(dtype="object") for c in schema.columns}))
