"""Consecutive closes in one project, through the command, on the IBM sample (numeric unit codes).

The earlier version crashed on the second close ("You are trying to merge on int64 and object
columns for key 'unique_id'") and drew an empty 1970 chart on the first.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import IBM_CSV, ROOT

pytestmark = pytest.mark.slow


def _arlib(out, as_of):
    exe = str(ROOT / ".venv/bin/arlib") if (ROOT / ".venv/bin/arlib").exists() else "arlib"
    cmd = [
        exe,
        "run",
        "--params",
        "params/ibm",
        "--bu",
        "391",
        "--notebooks",
        "forecast",
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
    procs = [_arlib(out, d) for d in ("2013-06-30", "2013-12-31")]
    return out, procs


def test_both_closes_run_and_publish(closes):
    out, procs = closes
    for proc in procs:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
    for as_of in ("2013-06-30", "2013-12-31"):
        m = json.loads((out / as_of / "manifest.json").read_text())
        assert [(u["business_unit"], u["status"]) for u in m["units"]] == [("391", "ok")]
        assert os.path.islink(out / as_of)


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
