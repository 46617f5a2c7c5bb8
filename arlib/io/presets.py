"""``source_preset``: documented ``source_options`` defaults for the AR exports people have.

A preset says how one system's open-item or aging export is laid out: the headers it writes
for each canonical column (several spellings: report language, version, Excel or CSV), its
date and amount formats, where the header row is, and what else a report export holds
(titles, section headings, subtotal rows). It is a default, never a constraint: explicit
``source_options`` win key by key (``dates.due_date`` set by hand replaces only that entry;
a header mapped by hand in ``columns`` takes that column, and the preset's spellings for the
same canonical column are dropped). Preset headers are *soft*: a spelling the file lacks is
ignored; a required column none of them finds is still the usual "no header" error.

Every preset reads an open-item list (``frames: {transactions: none, customers: derive}``):
the amount is the item's *open* amount, customers (names too, where the export has them) come
from the invoice rows.

>>> sorted(PRESETS)
['dynamics', 'netsuite', 'oracle', 'quickbooks', 'sap_fbl5n', 'xero']
>>> merged, soft = apply_preset("quickbooks", {"dates": {"due_date": "iso"}})
>>> merged["dates"], merged["one_unit"], soft["invoices"]["invoice_id"]
({'*': 'monthfirst', 'due_date': 'iso'}, True, ('Num', 'No.', 'Number'))
"""

from __future__ import annotations

import difflib
from types import MappingProxyType
from typing import Any

from arlib.errors import ConfigError
from arlib.schemas import C

_OPEN_ITEMS = {"transactions": "none", "customers": "derive"}


def _preset(description: str, columns: dict[str, tuple[str, ...]], **options: Any) -> dict:
    return {
        "description": description,
        "columns": {"invoices": columns},
        "options": {"frames": dict(_OPEN_ITEMS), **options},
    }


#: name -> description, soft invoice headers {canonical: spellings} and source_options defaults
PRESETS: dict[str, dict] = {
    "sap_fbl5n": _preset(
        "SAP customer line items (FBL5N, open items) exported to a spreadsheet; "
        "English or German headers; amounts in local currency, dates DD.MM.YYYY",
        {
            C.business_unit: ("Company Code", "CoCd", "Buchungskreis", "BuKr"),
            C.customer_id: ("Customer", "Account", "Kunde", "Konto"),
            C.name: ("Name 1", "Customer Name", "Name"),
            C.invoice_id: ("Document Number", "DocumentNo", "Belegnummer", "Belegnr"),
            C.invoice_date: ("Document Date", "Doc. Date", "Belegdatum", "Beleg.Dat."),
            C.due_date: ("Net Due Date", "Net due dt", "Nettofälligkeit", "Nettofälligkeitsdatum"),
            C.amount: ("Amount in Local Currency", "Amount in LC", "Betrag in HW", "Betrag HW"),
            C.currency: ("Local Currency", "LCurr", "Hauswährung", "HWähr"),
        },
        header_row="auto",
        dates="dayfirst",
        skip_layout_rows=True,
    ),
    "oracle": _preset(
        "Oracle Receivables aging (Aging - 4/7 Buckets, detail) to Excel/CSV; "
        "outstanding amount per transaction, dates DD-MON-YYYY",
        {
            C.customer_id: ("Customer Number", "Customer Account Number", "Account Number"),
            C.name: ("Customer Name", "Customer"),
            C.invoice_id: ("Transaction Number", "Invoice Number", "Trx Number"),
            C.invoice_date: ("Transaction Date", "Invoice Date", "Trx Date"),
            C.due_date: ("Due Date",),
            C.amount: ("Outstanding Amount", "Amount Due Remaining", "Balance Due"),
            C.currency: ("Currency", "Currency Code", "Entered Currency"),
        },
        header_row="auto",
        dates="%d-%b-%Y",
        one_unit=True,
        skip_layout_rows=True,
    ),
    "netsuite": _preset(
        "NetSuite A/R Aging Detail exported to CSV/Excel; the customer's display name is its "
        "id, amounts with $ and (negatives), dates M/D/YYYY",
        {
            C.customer_id: ("Customer", "Name", "Customer:Project"),
            C.invoice_id: ("Document Number", "Document #", "Number"),
            C.invoice_date: ("Date", "Transaction Date"),
            C.due_date: ("Due Date", "Due Date/Receive By"),
            C.amount: ("Open Balance", "Amount Remaining", "Amount (Open)"),
            C.currency: ("Currency",),
        },
        header_row="auto",
        dates="monthfirst",
        one_unit=True,
        skip_layout_rows=True,
    ),
    "quickbooks": _preset(
        "QuickBooks A/R Aging Detail exported to Excel/CSV: title rows, sections per aging "
        "bucket with totals, dates MM/DD/YYYY",
        {
            C.customer_id: ("Customer", "Name", "Customer full name"),
            C.invoice_id: ("Num", "No.", "Number"),
            C.invoice_date: ("Date", "Transaction date"),
            C.due_date: ("Due Date", "Due date"),
            C.amount: ("Open Balance", "Open balance"),
            C.currency: ("Currency",),
        },
        header_row="auto",
        dates="monthfirst",
        one_unit=True,
        skip_layout_rows=True,
    ),
    "xero": _preset(
        "Xero Aged Receivables Detail exported to Excel/CSV: title rows, one heading row per "
        "contact (the customer) with a total row, dates D MMM YYYY",
        {
            C.invoice_id: ("Invoice Number", "Number", "Reference"),
            C.invoice_date: ("Invoice Date", "Date"),
            C.due_date: ("Due Date",),
            C.amount: ("Due", "Total Due", "Amount Due"),
            C.currency: ("Currency",),
        },
        header_row="auto",
        dates="%d %b %Y",
        one_unit=True,
        skip_layout_rows=True,
        heading_rows="customer_id",
    ),
    "dynamics": _preset(
        "Microsoft Dynamics customer aging / open customer transactions (Dynamics 365 Finance "
        "and Business Central) to Excel; remaining amount per document, dates M/D/YYYY",
        {
            C.customer_id: ("Customer account", "Customer No.", "Customer number"),
            C.name: ("Name", "Customer Name"),
            C.invoice_id: ("Invoice", "Document No.", "Voucher"),
            C.invoice_date: ("Date", "Document Date", "Posting Date"),
            C.due_date: ("Due date", "Due Date"),
            C.amount: ("Balance", "Remaining Amount", "Remaining Amt. (LCY)", "Amount"),
            C.currency: ("Currency", "Currency Code"),
        },
        header_row="auto",
        dates="monthfirst",
        one_unit=True,
        skip_layout_rows=True,
    ),
}

#: source_options keys whose value is a mapping merged entry by entry (explicit entries win)
_MERGED = ("dates", "amounts", "frames", "values", "constants", "fx")


def _merge(preset: dict, explicit: dict) -> dict:
    out = {k: v for k, v in preset.items()}
    for key, value in explicit.items():
        base = out.get(key)
        if key in _MERGED and isinstance(value, dict):
            if isinstance(base, str):  # a preset's one format for every date column
                base = {"*": base}
            out[key] = {**(base if isinstance(base, dict) else {}), **value}
        else:
            out[key] = value
    return out


def _soft_columns(preset: dict, explicit: dict) -> dict[str, dict[str, tuple[str, ...]]]:
    """The preset's header spellings less the canonical columns and headers mapped by hand."""
    given = explicit.get("columns") if isinstance(explicit.get("columns"), dict) else {}
    out = {}
    for frame, spellings in preset["columns"].items():
        by_hand = given.get(frame) if isinstance(given.get(frame), dict) else {}
        targets, headers = set(by_hand.values()), {str(h) for h in by_hand}
        out[frame] = MappingProxyType(
            {
                col: tuple(h for h in names if h not in headers)
                for col, names in spellings.items()
                if col not in targets
            }
        )
    return out


def apply_preset(name: str | None, explicit: dict | None) -> tuple[dict, dict]:
    """``(source_options, soft_columns)``: the preset's options under the explicit ones, and its
    header spellings per frame ({frame: {canonical: headers}}); no preset: ``(explicit, {})``.

    Raises :class:`ConfigError` naming ``source_preset`` for an unknown name.
    """
    explicit = dict(explicit or {})
    if name is None or name == "":
        return explicit, {}
    if name not in PRESETS:
        near = difflib.get_close_matches(str(name), list(PRESETS), n=1, cutoff=0.4)
        hint = f"did you mean {near[0]!r}?" if near else f"valid: {', '.join(sorted(PRESETS))}"
        raise ConfigError("source_preset", f"{name!r} is not a preset; {hint}")
    preset = PRESETS[name]
    return _merge(preset["options"], explicit), _soft_columns(preset, explicit)
