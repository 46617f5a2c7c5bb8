"""The customer reports of a unit's run: one ``notebooks/customer.ipynb`` per customer.

The health report records the first ``customer_reports`` customers of its collection worklist
(``customer_report_ids``); after the unit's notebooks, the runner runs the customer notebook
for each of them in the unit's kernel, on the unit's data snapshot, and writes
``<unit>/customers/<file name>.html`` (the customer id made safe as a file name by
:func:`file_name`), the executed notebooks beside them and ``customers/index.json`` (id, name,
file, seconds and the recorded figures of each). The unit's reports link to them.

A run's customer reports compute their accounts once (:func:`account_of_run`): the first of
them loads the unit's data, computes the accounts of every customer of the run
(:func:`arlib.report.customer.accounts`, what they share computed once) and hands them on in the
snapshot (``customer_accounts/``); the others read their own, without loading the unit again.
In a run the health report, which holds the unit's data already, computes and hands them on
first (:func:`hand_on_accounts`): then no customer report loads the unit.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from arlib.files import write_atomic, write_json
from arlib.i18n import t

if TYPE_CHECKING:
    from arlib.report.customer import Account

NOTEBOOK = "customer"
FOLDER = "customers"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class CustomerReport:
    customer_id: str
    file: str  # file name without suffix, inside FOLDER
    nb: object = None  # the executed notebook
    seconds: float = 0.0
    figures: dict | None = None


def file_name(customer_id) -> str:
    """A file name (no suffix) for a customer id: the id itself when it is only letters, digits,
    ``-`` and ``_``; otherwise the id with other characters as ``_`` plus a short hash of the id,
    so two ids never share a file and none can leave the folder.

    >>> file_name("C-001"), file_name("../etc/passwd"), file_name("A B"), file_name("A_B")
    ('C-001', '___etc_passwd-7fef78', 'A_B-fea4c5', 'A_B')
    """
    text = str(customer_id)
    safe = _UNSAFE.sub("_", text)[:64]
    if safe == text and safe:
        return safe
    return f"{safe}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:6]}"


def run_customers(ids, nb_path: Path, params: dict, out_dir: Path, execute) -> tuple[list, list]:
    """Run the customer notebook for each id with ``params`` and ``customer_id`` set, through
    ``execute(nb_path, out_nb, params)`` (the runner's, in the unit's kernel). Returns
    (reports that ran, error lines of those that failed)."""
    from arlib.report.records import collect_kpis

    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    done, errors = [], []
    for cid in ids:
        rep = CustomerReport(str(cid), file_name(cid))
        t0 = time.perf_counter()
        nb, exc = execute(nb_path, folder / f"{rep.file}.ipynb", dict(params, customer_id=str(cid)))
        rep.seconds = round(time.perf_counter() - t0, 2)
        if exc is not None or nb is None:
            evalue = getattr(exc, "evalue", str(exc))
            errors.append(f"customer {cid}: {getattr(exc, 'ename', type(exc).__name__)}: {evalue}")
            continue
        rep.nb, rep.figures = nb, collect_kpis(nb)
        done.append(rep)
    return done, errors


#: the unit reports a customer report links back to, in order
REPORTS = ("health", "forecast", "provision")


def export_customers(reports: list, kpis: dict, out_dir: Path) -> list[str]:
    """Write each customer report's HTML and ``customers/index.json``; the paths written,
    relative to the unit's folder."""
    from arlib.report.header import header
    from arlib.report.html import to_html
    from arlib.run.audit import notebook_stamp

    folder = Path(out_dir) / FOLDER
    files = sorted(p.name for p in Path(out_dir).iterdir() if p.is_file())
    units = [s for s in REPORTS if f"{s}.html" in files]  # the unit's reports, written before
    names, index = [], []
    for rep in reports:
        figures = rep.figures or {}
        stamp = notebook_stamp(kpis.get("audit") or {}, NOTEBOOK)
        stamp["parameters"] = figures.get("parameters")
        lang = (stamp.get("parameters") or {}).get("report_language", "en")
        info = figures.get("customer") or {}
        title = (
            f"{t('Customer report', lang)}: {info.get('name', rep.customer_id)} "
            f"({rep.customer_id}), {kpis.get('business_unit')}, {t('as of', lang)} "
            f"{kpis.get('as_of')}"
        )
        head = header(kpis, NOTEBOOK, units, files, lang, prefix="../")
        write_atomic(
            folder / f"{rep.file}.html", to_html(rep.nb, title, lang, "", stamp, header=head)
        )
        names.append(f"{FOLDER}/{rep.file}.html")
        index.append(
            {
                "customer_id": rep.customer_id,
                "name": info.get("name"),
                "file": f"{rep.file}.html",
                "seconds": rep.seconds,
                "figures": info,
            }
        )
    if reports:
        write_json(folder / "index.json", {"customers": index})
    return names


def links_html(reports: list, lang: str = "en", prefix: str = "") -> str:
    """The unit reports' list of links to the customer reports (names escaped, paths
    URL-encoded)."""
    from urllib.parse import quote

    if not reports:
        return ""
    items = "".join(
        f'<li><a href="{html.escape(prefix + FOLDER + "/" + quote(rep.file) + ".html", quote=True)}">'
        f"{html.escape(str((rep.figures or {}).get('customer', {}).get('name') or rep.customer_id))}"
        f" ({html.escape(rep.customer_id)})</a></li>"
        for rep in reports
    )
    head = html.escape(t("Customer reports (first of the collection worklist)", lang))
    return f'<nav class="ar-customers"><b>{head}</b><ol>{items}</ol></nav>'


#: the folder of the run's customer accounts inside the unit's snapshot, and its index
ACCOUNTS, ACCOUNTS_INDEX = "customer_accounts", "index.json"


def account_of_run(cfg) -> tuple[Account, dict]:
    """The account of ``cfg.customer_id`` and the report's audit stamp
    (:func:`arlib.report.records.stamp`).

    In a run (``cfg.snapshot`` set, and the customer among the ids the health report handed
    on) the accounts of all the run's customers are computed once and handed on
    (:data:`ACCOUNTS`, keyed by the parameters other than ``customer_id``): by the health report
    from the data it holds (:func:`hand_on_accounts`), else by the first customer report from
    one load of the unit; reports with the same parameters read theirs. Otherwise (a
    notebook run on its own, another customer, other parameters) the unit is loaded and the
    one account computed: the figures are the same either way."""
    from arlib.report.records import stamp

    folder = Path(cfg.get("snapshot") or "") / ACCOUNTS
    cid, key = str(cfg.customer_id or ""), _params_key(cfg)
    index = _index(folder) if cfg.get("snapshot") and cid else None
    if index and index["params"] == key and cid in index["accounts"] and _same_data(cfg, index):
        return _read_account(folder, index, cid, cfg), stamp(cfg, None, index["fingerprint"])
    from arlib import io
    from arlib.report import customer

    ledger = io.load_ledger(cfg)
    audit = stamp(cfg, ledger)
    if cfg.get("snapshot") and cid and cid in _run_ids(cfg):
        done = customer.accounts(ledger, cfg, _run_ids(cfg))
        _write_accounts(folder, done, key, audit["input_fingerprint"])
        return done[cid], audit
    return customer.account(ledger, cfg), audit


def hand_on_accounts(cfg, ledger) -> list[str]:
    """Compute the accounts of the run's customer reports from ``ledger``, the unit's data a
    notebook of the run already holds, and hand them on as the first customer report would
    (:func:`account_of_run`), so that no customer report loads the unit again. Returns the ids
    handed on; none outside a run (no ``snapshot``) or when no customer report is due.

    Called by the health report after it handed on its scorecard and worklist, with the
    customer report's own config (``arlib.config.load(globals(), "customer")``): the accounts
    are keyed by the customer reports' parameters and the snapshot's input fingerprint, so a
    report with other parameters or on other data computes its own. A problem with the data of
    an account (:class:`~arlib.errors.ArlibError`) leaves the accounts to the customer
    reports, which then show it in their own report rather than failing the health report."""
    from arlib.errors import ArlibError
    from arlib.report import customer
    from arlib.report.records import stamp

    ids = _run_ids(cfg) if cfg.get("snapshot") else []
    if not ids:
        return []
    try:
        done = customer.accounts(ledger, cfg, ids)
    except ArlibError:
        return []
    key, fingerprint = _params_key(cfg), stamp(cfg, ledger)["input_fingerprint"]
    _write_accounts(Path(cfg.snapshot) / ACCOUNTS, done, key, fingerprint)
    return list(done)


def _params_key(cfg) -> str:
    from arlib.report.records import to_jsonable

    values = {k: v for k, v in cfg.items() if k not in ("customer_id", "output_dir")}
    text = json.dumps(to_jsonable(values), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _run_ids(cfg) -> list[str]:
    from arlib.report.customer import RUN_IDS

    path = Path(cfg.snapshot) / RUN_IDS
    if not path.is_file():
        return []
    return [str(i) for i in json.loads(path.read_text()).get("customer_report_ids", [])]


def _same_data(cfg, index: dict) -> bool:
    """Whether the handed-on accounts were computed from the snapshot's own data (the input
    fingerprint its manifest records); otherwise they are computed again, never reused."""
    from arlib.io.snapshot import MANIFEST

    path = Path(cfg.snapshot) / MANIFEST
    if not path.is_file():
        return False
    return json.loads(path.read_text(encoding="utf-8")).get("fingerprint") == index["fingerprint"]


def _index(folder: Path) -> dict | None:
    path = folder / ACCOUNTS_INDEX
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _write_accounts(folder: Path, done: dict, key: str, fingerprint: dict) -> None:
    """Each frame of the accounts as one Parquet file (column ``_customer``), the index last."""
    import pandas as pd

    from arlib.report.customer import FORMATS

    folder.mkdir(parents=True, exist_ok=True)
    for name in FORMATS:
        parts = [getattr(a, name).assign(_customer=cid) for cid, a in done.items()]
        pd.concat(parts, ignore_index=True).to_parquet(folder / f"{name}.parquet", index=False)
    write_json(
        folder / ACCOUNTS_INDEX,
        {
            "params": key,
            "fingerprint": fingerprint,
            "accounts": {
                cid: {"name": a.name, "currency": a.currency, "facts": a.facts}
                for cid, a in done.items()
            },
        },
    )


def _read_account(folder: Path, index: dict, cid: str, cfg) -> Account:
    import pandas as pd

    from arlib.report.customer import FORMATS, Account

    frames = {}
    for name in FORMATS:  # only the customer's rows are made into a frame (Arrow filters first)
        frame = pd.read_parquet(folder / f"{name}.parquet", filters=[("_customer", "==", cid)])
        frames[name] = frame.drop(columns="_customer")
    info = index["accounts"][cid]
    return Account(
        customer_id=cid,
        name=info["name"],
        currency=info["currency"],
        as_of=cfg.as_of,
        facts=info["facts"],
        **frames,
    )
