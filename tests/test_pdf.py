"""``arlib run --pdf``: each report printed to PDF beside its HTML, listed in the manifest; without
Chromium one note and no failure. The runs use the stand-in units of test_run_close."""

from __future__ import annotations

import json
import re
import stat

import pytest
from test_run_close import AS_OF, _job, execute

from arlib.run import pdf
from arlib.run.close import run_closes


def _run(tmp_path, units=("aa", "bb")):
    jobs = [_job(u) for u in units]
    return run_closes(jobs, tmp_path, {AS_OF: set(units)}, execute, pdf=True)


def _manifest(tmp_path) -> dict:
    return json.loads((tmp_path / AS_OF / "manifest.json").read_text())


def test_without_chromium_the_run_publishes_its_html_with_one_note(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    out = _run(tmp_path)
    assert out.notes == [pdf.NO_BROWSER] and not out.failed_units
    m = _manifest(tmp_path)
    assert m["status"] == "ok" and all("pdfs" not in u for u in m["units"])
    assert sorted(p.name for p in (tmp_path / AS_OF).rglob("*.pdf")) == []
    assert (tmp_path / AS_OF / "aa" / "health.html").exists()


def test_each_report_gets_its_pdf_and_one_that_cannot_be_printed_is_a_note(tmp_path, monkeypatch):
    """A stand-in browser prints every page but the forecast: the PDFs are listed per unit, the
    forecast is named in a note per unit, the run is still ok."""
    fake = tmp_path / "fake-chromium"
    fake.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; '
        "file:*) url=$a;; esac; done\n"
        'case "$url" in *forecast*) exit 1;; esac\n'
        'printf "%%PDF-1.4 %s\\n" "$url" > "$out"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(pdf, "find_browser", lambda: str(fake))
    out = _run(tmp_path / "out")
    assert not out.failed_units
    assert out.notes == [
        f"--pdf: {u}/forecast.html was not printed: forecast.html: Chromium wrote no PDF"
        for u in ("aa", "bb")
    ]
    m = _manifest(tmp_path / "out")
    assert m["status"] == "ok"
    assert [(u["business_unit"], u["pdfs"]) for u in m["units"]] == [
        ("aa", ["health.pdf"]),
        ("bb", ["health.pdf"]),
    ]
    printed = (tmp_path / "out" / AS_OF / "aa" / "health.pdf").read_text()
    assert printed.startswith("%PDF-1.4 file:///") and printed.strip().endswith("/aa/health.html")
    assert not (tmp_path / "out" / AS_OF / "aa" / "forecast.pdf").exists()


def test_chromium_prints_with_the_reports_print_style_sheet(tmp_path):
    """Three short sections fit one screen page; the print style sheet starts each on a new
    page, so the PDF has three pages (printed as screen, it would have one)."""
    browser = pdf.find_browser()
    if browser is None:
        pytest.skip("headless Chromium not installed")
    page = tmp_path / "r.html"
    page.write_text(
        "<html><head><title>Unit aa</title><style>@media print { h2 { break-before: page; } "
        "h2:first-of-type { break-before: auto; } nav { display: none; } }</style></head><body>"
        "<nav>NAVIGATION</nav>" + "".join(f"<h2>S{i}</h2><p>x</p>" for i in range(3)) + "</body>"
        "</html>"
    )
    raw = pdf.print_pdf(browser, page).read_bytes()
    assert raw.startswith(b"%PDF-") and b"/Title (Unit aa)" in raw
    assert max(int(n) for n in re.findall(rb"/Count (\d+)", raw)) == 3
