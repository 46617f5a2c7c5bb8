"""Consecutive closes in one project, through the command, on the IBM sample (numeric unit codes).

The earlier version crashed on the second close ("You are trying to merge on int64 and object
columns for key 'unique_id'") and drew an empty 1970 chart on the first.

The second close runs all three unit reports of one unit (and its customer and group reports)
with ``--pdf``: the IBM run as a reader sees it in headless Chromium, and printed to PDF.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from html import unescape

import pytest
from conftest import IBM_CSV, ROOT, reader_problems, sort_and_filter

from arlib.run.pdf import find_browser

pytestmark = pytest.mark.slow


def _arlib(out, as_of, *options):
    exe = str(ROOT / ".venv/bin/arlib") if (ROOT / ".venv/bin/arlib").exists() else "arlib"
    cmd = [
        exe,
        "run",
        "--params",
        "params/ibm",
        "--bu",
        "391",
        *options,
        "--as-of",
        as_of,
        "--out-dir",
        str(out),
        "--no-progress",
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def closes(tmp_path_factory):
    if not IBM_CSV.exists():
        pytest.skip("../shared/data is not beside the checkout")
    out = tmp_path_factory.mktemp("closes")
    # the first close: the forecast alone; the second: every report of the unit, also as PDF
    procs = [
        _arlib(out, "2013-06-30", "--notebooks", "forecast"),
        _arlib(out, "2013-12-31", "--pdf"),
    ]
    return out, procs


def test_both_closes_run_and_publish(closes):
    out, procs = closes
    for proc in procs:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
    # the first close runs the forecast alone; the second every report, and the health report
    # notes that the IBM sample has no credit limits: ok with notes
    for as_of, status in (("2013-06-30", "ok"), ("2013-12-31", "ok with notes")):
        m = json.loads((out / as_of / "manifest.json").read_text())
        assert [(u["business_unit"], u["status"]) for u in m["units"]] == [("391", status)]
        assert os.path.islink(out / as_of)
    # and that the sample stops at the 2013-12-02 invoice (its README): December is partial
    assert m["units"][0]["notes"] == [
        "Receivables health: the data has no credit limits, so limit use, over-limit customers "
        "and limit reviews are not assessed.",
        "Data end before the close: the latest invoice is dated 2013-12-02, 29 days before the "
        "close of 2013-12-31, while in the year before no two invoice dates were more than 6 days "
        "apart. The extract may have been taken before the close, so the last month's figures "
        "may be partial: check the source, or set as_of to 2013-11-30, the end of the last month "
        "the data cover in full.",
    ]


def test_the_later_close_compares_the_earlier_forecast_with_actuals(closes):
    out, _ = closes
    stored = (out / "2013-06-30" / "391" / "forecast_391_2013-06-30.csv").read_text().splitlines()
    assert stored[0].startswith("as_of,unique_id,ds,")
    assert stored[1].split(",")[1] == "391"  # the unit code kept as written
    html = (out / "2013-12-31" / "391" / "forecast.html").read_text()
    section = html[html.index('id="Forecast-against-actual,-run-by-run"') :].split("<h2")[0]
    assert ">earlier run<" in section and ">2013-06-30<" in section and ">backtest<" not in section


def test_the_first_close_shows_the_backtest_instead_of_an_empty_chart(closes):
    out, _ = closes
    html = (out / "2013-06-30" / "391" / "forecast.html").read_text()
    section = html[html.index('id="Forecast-against-actual,-run-by-run"') :].split("<h2")[0]
    assert ">backtest<" in section and ">earlier run<" not in section and "1970" not in section


LATER = "2013-12-31"


@pytest.mark.parametrize("width", [1400, 390])
def test_the_ibm_reports_as_a_reader_sees_them(closes, browser, width):
    """Desktop and phone, the health, forecast and provision reports of the IBM unit: the header
    names unit, close and currency; no header-only table; no internals, warnings, negative zero
    or path of this machine; the page no wider than the screen."""
    out, _ = closes
    unit = out / LATER / "391"
    run_id = json.loads((unit / "kpis.json").read_text())["run_id"]
    problems = []
    for name in ("health", "forecast", "provision"):
        problems += reader_problems(
            browser, unit / f"{name}.html", width, header=("391", LATER, "USD"), run_id=run_id
        )
    assert not problems, problems


def test_sorting_an_ibm_table_in_the_browser(closes, browser):
    out, _ = closes
    first, second, shown = sort_and_filter(browser, out / LATER / "391" / "health.html")
    key = [x.lower() for x in first]
    assert key == sorted(key) and len(first) >= 8
    assert [x.lower() for x in second] == sorted(key, reverse=True)
    assert 1 <= shown < len(first)


def test_pdf_of_each_report_beside_its_html_printed_with_the_print_style_sheet(closes):
    """``--pdf``: every report of the unit and the group has its PDF beside it, listed in the
    manifest, titled as the page, with each section (``<h2>``) on a page of its own after the
    opening page (the print style sheet's page breaks)."""
    if find_browser() is None:
        pytest.skip("headless Chromium not installed: --pdf notes that and prints nothing")
    out, procs = closes
    assert "--pdf" not in procs[1].stderr  # no note: every report was printed
    m = json.loads((out / LATER / "manifest.json").read_text())
    (unit,) = m["units"]
    customers = [r for r in unit["reports"] if r.startswith("customers/")]
    assert customers and unit["pdfs"] == [r.replace(".html", ".pdf") for r in unit["reports"]]
    assert m["group"]["pdfs"] == ["group.pdf"]
    for folder, pdfs in (
        (out / LATER / "391", unit["pdfs"]),
        (out / LATER / "group", ["group.pdf"]),
    ):
        for name in pdfs:
            raw = (folder / name).read_bytes()
            html = (folder / name).with_suffix(".html").read_text()
            title = unescape(re.search(r"<title>(.*?)</title>", html).group(1))
            title = title.replace("(", r"\(").replace(")", r"\)")  # as a PDF string writes them
            pages = max(int(n) for n in re.findall(rb"/Count (\d+)", raw))
            assert raw.startswith(b"%PDF-") and f"/Title ({title})".encode() in raw, name
            assert pages >= html.count("<h2") + 1, (name, pages)
