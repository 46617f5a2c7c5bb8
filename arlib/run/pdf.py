"""Reports printed to PDF beside their HTML by headless Chromium (``arlib run --pdf``).

Optional: when no Chromium is installed the run goes on with its HTML reports and says so in one
note. Each report is printed as a browser prints it, so the reports' print style sheet applies
(each section on a new page, the header's links and the table filters hidden, the audit details
open). ``report.pdf`` is written beside ``report.html``; the manifest lists the PDFs per unit.
A report that cannot be printed is named in a note; it never fails the run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: the names Chromium is installed under (Debian's package, other distributions, Google's build)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: seconds one report may take to print (a 0.5 MB report takes about 5 s on one core)
TIMEOUT_S = 120
NO_BROWSER = (
    "--pdf: headless Chromium is not installed (Debian: apt-get install chromium); "
    "the reports are HTML only"
)
# --no-sandbox: as root (a container, CI) Chromium refuses to start with its sandbox; the pages
# are the run's own files with no scripts from outside. Two spellings of "no header and footer"
# (old and new Chromium; each ignores the other's). A profile of its own per call, so prints side
# by side do not wait for one profile lock.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    "--print-to-pdf-no-header",
)


def find_browser() -> str | None:
    """The path of an installed Chromium, or None."""
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def print_pdf(browser: str, html: Path, timeout: float = TIMEOUT_S) -> Path:
    """Print ``html`` to ``<same name>.pdf`` beside it and return that path. Raises
    :class:`RuntimeError` naming the file when Chromium writes no PDF (or times out)."""
    html = Path(html).resolve()
    pdf = html.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="arlib-pdf-") as profile:
        try:
            subprocess.run(
                [browser, *_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}"]
                + [html.as_uri()],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pdf.unlink(missing_ok=True)
            raise RuntimeError(f"{html.name}: not printed to PDF within {timeout:.0f} s") from None
    if not pdf.exists() or pdf.read_bytes()[:5] != b"%PDF-":
        pdf.unlink(missing_ok=True)
        raise RuntimeError(f"{html.name}: Chromium wrote no PDF")
    return pdf


def print_reports(
    folder: Path, reports: list[str], jobs: int = 2, browser: str | None = None
) -> tuple[list[str], list[str]]:
    """Print each of ``reports`` (HTML paths relative to ``folder``) to PDF beside it, ``jobs``
    at a time. Returns (the PDFs written, relative to ``folder``, in the order of ``reports``;
    notes: one when there is no Chromium, one per report that could not be printed)."""
    browser = browser or find_browser()
    if browser is None:
        return [], [NO_BROWSER]
    html = [r for r in reports if r.endswith(".html")]

    def one(rel: str) -> tuple[str | None, str | None]:
        try:
            print_pdf(browser, Path(folder) / rel)
            return str(Path(rel).with_suffix(".pdf").as_posix()), None
        except (OSError, RuntimeError) as e:
            return None, f"--pdf: {Path(folder).name}/{rel} was not printed: {e}"

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(one, html))
    return [p for p, _ in done if p], [n for _, n in done if n]
