"""The data contract: every canonical frame, declared once.

Source data is mapped to these names at the edge (:mod:`arlib.io`); everything downstream uses
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
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series


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


class Invoices(pa.DataFrameModel):
    invoice_id: Series[str] = pa.Field(unique=True)
    business_unit: Series[str]
    customer_id: Series[str]
    invoice_date: Series[pd.Timestamp]
    due_date: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(ge=0)
    currency: Series[str] = pa.Field(str_length={"min_value": 3, "max_value": 3})
    disputed: Series[bool]

    @pa.dataframe_check(error="due_date is before invoice_date")
    def due_not_before_invoice(cls, df: pd.DataFrame) -> Series[bool]:
        return df[C.due_date] >= df[C.invoice_date]

    class Config:
        strict = False
        coerce = True


class Transactions(pa.DataFrameModel):
    txn_id: Series[str] = pa.Field(unique=True)
    business_unit: Series[str]
    customer_id: Series[str]
    invoice_id: Series[str] = pa.Field(nullable=True)
    date: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(gt=0)
    kind: Series[str] = pa.Field(isin=list(TXN_KINDS))

    class Config:
        strict = False
        coerce = True


class Customers(pa.DataFrameModel):
    customer_id: Series[str]
    business_unit: Series[str]
    name: Series[str]
    segment: Series[str]
    credit_limit: Series[float] = pa.Field(ge=0, nullable=True)
    terms_days: Series[int] = pa.Field(ge=0)
    status: Series[str] = pa.Field(isin=list(CUSTOMER_STATUSES))
    #: optional: the date the status took effect (e.g. insolvency filed); empty = not known
    status_since: Series[pd.Timestamp] | None = pa.Field(nullable=True)

    @pa.dataframe_check(error="customer_id is not unique within its business_unit")
    def unique_per_unit(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated([C.business_unit, C.customer_id], keep=False)

    class Config:
        strict = False
        coerce = True


class OpenItems(Invoices):
    """Invoices open at the close of ``as_of`` (output of :func:`arlib.ledger.Ledger.open_items`)."""

    open_amount: Series[float] = pa.Field(gt=0)
    days_past_due: Series[int]
    bucket: Series[pd.CategoricalDtype] = pa.Field(coerce=False)

    class Config:
        strict = False
        coerce = False


FRAMES = {"invoices": Invoices, "transactions": Transactions, "customers": Customers}


def empty(model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """An empty frame with the model's columns and dtypes."""
    return model.validate(pd.DataFrame({c: pd.Series(dtype="object") for c in model.to_schema().columns}))
