"""End to end: the CLI runs the notebooks through papermill on a small demo store."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from arlib import io

pytestmark = pytest.mark.slow
AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_demo):
    tmp = tmp_path_factory.mktemp("e2e")
    store = io.write_store(small_demo, tmp / "store.sqlite")
    params = tmp / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(f'as_of: "{AS_OF}"\nsource: "{store}"\n')
    (params / "aa.yaml").write_text("currency: EUR\n")
    (params / "bb.yaml").write_text("currency: CNY\ntrend_months: 12\n")
    (params / "zz.yaml").write_text("currency: EUR\n")  # no such unit in the data: must fail alone
    proc = subprocess.run([str(ROOT / ".venv/bin/arlib") if (ROOT / ".venv/bin/arlib").exists() else "arlib",
                           "run", "--params", str(params), "--out-dir", str(tmp / "out"), "--jobs", "2",
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    return proc, tmp / "out" / AS_OF, small_demo


def test_exit_code_and_one_line_error_for_the_failing_unit(run):
    proc, out, _ = run
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("FAILED"))
    assert line.startswith("FAILED zz: health: DataError: ") and "business unit 'zz'" in line
    assert (out / "zz" / "health.ipynb").exists()  # partially executed notebook kept
    assert str(out / "index.html") in proc.stdout


def test_manifest_and_index(run):
    _, out, _ = run
    manifest = json.loads((out / "manifest.json").read_text())
    status = {u["business_unit"]: u["status"] for u in manifest["units"]}
    assert status == {"aa": "ok", "bb": "ok", "zz": "failed"}
    aa = next(u for u in manifest["units"] if u["business_unit"] == "aa")
    assert aa["input_fingerprint"]["rows"]["invoices"] > 0 and len(aa["input_fingerprint"]["sha256"]) == 64
    index = (out / "index.html").read_text()
    assert 'href="aa/health.html"' in index and 'href="bb/health.html"' in index and "failed" in index


def _open_ar_by_hand(frames, bu):
    """Second method: pandas group-by, not the ledger's bincount."""
    inv = frames["invoices"][frames["invoices"]["business_unit"] == bu]
    txn = frames["transactions"]
    txn = txn[(txn["business_unit"] == bu) & (txn["date"] <= AS_OF) & txn["kind"].isin(["payment", "credit_note", "write_off"])]
    settled = txn.groupby("invoice_id")["amount"].sum()
    inv = inv[inv["invoice_date"] <= AS_OF]
    open_amt = inv["amount"] - inv["invoice_id"].map(settled).fillna(0.0)
    return round(open_amt[open_amt > 0.005].sum(), 2)


@pytest.mark.parametrize("bu", ["aa", "bb"])
def test_kpis_reconcile_and_match_the_html(run, bu):
    _, out, frames = run
    kpis = json.loads((out / bu / "kpis.json").read_text())
    assert kpis["business_unit"] == bu and kpis["as_of"] == AS_OF
    assert round(sum(kpis["aging"].values()), 2) == kpis["open_ar"] == _open_ar_by_hand(frames, bu)
    assert kpis["open_ar"] == round(kpis["current_ar"] + kpis["past_due_ar"], 2)
    html = (out / bu / "health.html").read_text()
    for bucket, amount in kpis["aging"].items():
        assert f"{amount:,.2f}" in html and bucket in html
    if "dso" in kpis and kpis["dso"] is not None:
        assert f"{kpis['dso']:.1f}" in html


@pytest.mark.parametrize("bu", ["aa", "bb"])
def test_html_is_self_contained_and_shows_no_code(run, bu):
    _, out, _ = run
    html = (out / bu / "health.html").read_text()
    assert "cfg = arlib.config.load" not in html and "aging_thresholds: list" not in html
    assert not re.search(r'class="[^"]*(jp-InputArea-editor|cm-editor|highlight)', html), "code input in the report"
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert not re.search(r'(src|href)="(https?:)?//', html), "external resource in the report"
    assert "<script src=" not in html


def test_plain_papermill_run_works(tmp_path, run):
    """`papermill notebooks/health.ipynb out.ipynb -f params.yaml` from the project folder."""
    _, out, _ = run
    source = json.loads((out / "aa" / "kpis.json").read_text())["parameters"]["source"]
    (tmp_path / "aa.yaml").write_text(f'business_unit: aa\nas_of: "{AS_OF}"\nsource: "{source}"\n')
    cmd = [sys.executable, "-m", "papermill", "notebooks/health.ipynb", str(tmp_path / "o.ipynb"),
           "-f", str(tmp_path / "aa.yaml")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    nb = json.loads((tmp_path / "o.ipynb").read_text())
    kpis = [o["data"]["application/vnd.arlib.kpis+json"] for c in nb["cells"] for o in c.get("outputs", [])
            if "application/vnd.arlib.kpis+json" in o.get("data", {})]
    assert any(k.get("open_ar") == json.loads((out / "aa" / "kpis.json").read_text())["open_ar"] for k in kpis)
