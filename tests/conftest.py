"""Shared fixtures: tiny hand-made ledgers, a small demo store, and the real data in ../shared."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

from arlib import demo
from arlib.ledger import Ledger

#: the same examples on every run (CI and a developer see the same cases; a new failing case
#: comes from a change, not from chance)
settings.register_profile("repeatable", derandomize=True)
settings.load_profile("repeatable")

ROOT = Path(__file__).resolve().parents[1]
#: ../shared beside the checkout (CI clones the repo with shared/ next to it)
SHARED_DATA = ROOT.parent / "shared" / "data"
IBM_CSV = SHARED_DATA / "ibm_late_payment" / "WA_Fn-UseC_-Accounts-Receivable.csv"


def invoices(*rows, bu="X", currency="EUR") -> pd.DataFrame:
    """Rows of (invoice_id, customer_id, invoice_date, due_date, amount[, disputed])."""
    recs = [
        dict(
            invoice_id=r[0],
            business_unit=bu,
            customer_id=r[1],
            invoice_date=pd.Timestamp(r[2]),
            due_date=pd.Timestamp(r[3]),
            amount=float(r[4]),
            currency=currency,
            disputed=bool(r[5]) if len(r) > 5 else False,
        )
        for r in rows
    ]
    return pd.DataFrame(recs)


def transactions(*rows, bu="X") -> pd.DataFrame:
    """Rows of (invoice_id or None, date, amount, kind[, customer_id])."""
    recs = [
        dict(
            txn_id=f"t{i}",
            business_unit=bu,
            customer_id=r[4] if len(r) > 4 else "c1",
            invoice_id=r[0],
            date=pd.Timestamp(r[1]),
            amount=float(r[2]),
            kind=r[3],
        )
        for i, r in enumerate(rows)
    ]
    if not recs:
        return pd.DataFrame(
            columns=[
                "txn_id",
                "business_unit",
                "customer_id",
                "invoice_id",
                "date",
                "amount",
                "kind",
            ]
        )
    return pd.DataFrame(recs)


def demo_params(
    folder: Path, frames: dict[str, pd.DataFrame], units: dict[str, str], as_of: str = "2026-10-31"
) -> Path:
    """``folder/params``: ``defaults.yaml`` (``as_of`` and a SQLite store of ``frames``) plus one
    ``<unit>.yaml`` per entry of ``units`` (its YAML text)."""
    from arlib import io

    store = io.write_store(frames, folder / "store.sqlite")
    params = folder / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(f'as_of: "{as_of}"\nsource: "{store}"\n')
    for unit, text in units.items():
        (params / f"{unit}.yaml").write_text(text)
    return params


def ledger(inv_rows, txn_rows=()) -> Ledger:
    return Ledger(invoices(*inv_rows), transactions(*txn_rows))


SMALL_UNITS = {
    "aa": dataclasses.replace(demo.UNITS["de"], customers=14),
    "bb": dataclasses.replace(demo.UNITS["cn"], customers=12),
}


@pytest.fixture(scope="session")
def small_demo() -> dict[str, pd.DataFrame]:
    """Two small demo units over 28 months (fast to run through the notebooks)."""
    return demo.generate(seed=11, units=SMALL_UNITS, start="2024-07-01", end="2026-10-31")


@pytest.fixture(scope="session")
def ibm_csv() -> Path:
    if not IBM_CSV.exists():
        pytest.skip(f"IBM sample not found at {IBM_CSV} (expected ../shared beside the checkout)")
    return IBM_CSV


# --- the reports in a real browser (headless Chromium), shared by the demo and IBM runs ---------
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright; skipped when it is not installed (a failure in CI,
    whose .ci/run installs it)."""
    import os
    import shutil

    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip(
            "headless Chromium not installed (apt-get install chromium); browser checks skipped"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


#: what a reader must never see in a unit report (internals, warnings, code names of columns)
LEAKS = ("Unique id", "Yhat", "UserWarning", "Traceback", "sqlite:///", "/tmp/")
#: column headers that are code names
CODE_HEADERS = ("Ds", "Fitted", "Unique id")
NEGATIVE_ZERO = re.compile(r"(?<![\d.])-0(\.0+)?(?![\d.])")

_READER_VIEW = """() => ({
    header: (document.querySelector('.ar-header') || {innerText: ''}).innerText,
    headerOnly: Array.from(document.querySelectorAll('table'))
        .filter(t => !t.querySelector('td')).length,
    headers: Array.from(document.querySelectorAll('th')).map(th => th.textContent.trim()),
    text: document.body.innerText,
    scroll: document.documentElement.scrollWidth,
})"""


def reader_problems(
    browser, path: Path, width: int, header: tuple, run_id: str, screenshot: Path | None = None
) -> list[str]:
    """What is wrong with the report at ``path`` as a reader sees it at ``width`` px: its header
    must name each of ``header`` (unit, close, currency); no header-only table; none of
    :data:`LEAKS`, code-name headers, negative zero (the ``run_id``, e.g. ...Z-0a1b2c, aside) or
    a path of this machine; the page no wider than the screen. An empty list when all is well."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(path.as_uri(), wait_until="load")
    s = page.evaluate(_READER_VIEW)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    where = f"{path.parent.name}/{path.name} at {width}px"
    problems = []
    if not all(x in s["header"] for x in header):
        problems.append(f"{where}: header {s['header']!r}")
    if s["headerOnly"]:
        problems.append(f"{where}: {s['headerOnly']} header-only tables")
    leaks = [x for x in LEAKS if x in s["text"]] + [h for h in s["headers"] if h in CODE_HEADERS]
    shown = s["text"].replace(run_id, "")
    leaks += [m.group(0) for m in NEGATIVE_ZERO.finditer(shown)][:1]
    leaks += [p for p in (str(ROOT), str(SHARED_DATA)) if p in s["text"]][:1]
    if leaks:
        problems.append(f"{where}: shows {leaks}")
    if s["scroll"] > width:
        problems.append(f"{where}: page {s['scroll']}px wide")
    return problems


def sort_and_filter(browser, path: Path) -> tuple[list[str], list[str], int]:
    """Click the first header of the first sortable table of ``path`` twice, then type its first
    cell into the table's filter: (first column after one click, after two, rows still shown)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(path.as_uri(), wait_until="load")
    table = page.locator("table.ar-sortable").first
    col = table.locator("thead th").nth(0)
    col.click()
    first = table.locator("tbody tr td:first-child").all_inner_texts()
    col.click()
    second = table.locator("tbody tr td:first-child").all_inner_texts()
    page.fill("input.ar-filter >> nth=0", first[0])
    shown = page.evaluate(
        "() => Array.from(document.querySelector('table.ar-sortable').tBodies[0].rows)"
        ".filter(r => r.style.display !== 'none').length"
    )
    page.close()
    return first, second, shown
