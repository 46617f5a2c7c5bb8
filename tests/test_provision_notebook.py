"""The provision notebook runs through papermill and records figures that reconcile."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from arlib import io
from arlib.provision.allowance import to_cents

pytestmark = pytest.mark.slow
AS_OF = "2026-10-31"
KPI_MIME = "application/vnd.arlib.kpis+json"


@pytest.fixture(scope="module")
def executed(tmp_path_factory, small_demo):
    tmp = tmp_path_factory.mktemp("provision_nb")
    store = io.write_store(small_demo, tmp / "store.sqlite")
    (tmp / "bb.yaml").write_text(
        f'business_unit: bb\nas_of: "{AS_OF}"\nsource: "{store}"\ncurrency: CNY\n'
        f'output_dir: "{tmp}"\nforward_scenarios: {{"base": [0.7, 0.0], "down": [0.3, 0.2]}}\n'
    )
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        "notebooks/provision.ipynb",
        str(tmp / "o.ipynb"),
        "-f",
        str(tmp / "bb.yaml"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = json.loads((tmp / "o.ipynb").read_text())
    kpis = {}
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            kpis.update(o.get("data", {}).get(KPI_MIME, {}))
    return kpis, small_demo, tmp


def _open_ar_by_hand(frames, bu):
    inv = frames["invoices"].query("business_unit == @bu and invoice_date <= @AS_OF")
    txn = frames["transactions"].query(
        "business_unit == @bu and date <= @AS_OF and kind != 'recovery'"
    )
    open_amt = inv["amount"] - inv["invoice_id"].map(
        txn.groupby("invoice_id")["amount"].sum()
    ).fillna(0.0)
    return round(open_amt[open_amt > 0.005].sum(), 2)


def test_kpis_recorded_and_reconciled(executed):
    kpis, frames, _ = executed
    assert kpis["provision_method"] == "roll_rate" and kpis["allowance"] > 0
    assert to_cents(kpis["allowance"]) == sum(
        to_cents(v) for v in kpis["allowance_by_bucket"].values()
    )
    assert kpis["coverage_ratio"] == pytest.approx(
        kpis["allowance"] / _open_ar_by_hand(frames, "bb")
    )
    assert set(kpis["allowance_by_method"]) == {"roll_rate", "roll_rate_product", "vintage"}
    assert kpis["allowance_by_method"]["roll_rate"] == kpis["allowance"]
    assert (
        kpis["bad_debt_expense_forecast_lo"]
        <= kpis["bad_debt_expense_forecast"]
        <= kpis["bad_debt_expense_forecast_hi"]
    )


def test_excel_pack_has_the_provision_sheets(executed):
    import openpyxl

    _, _, tmp = executed
    wb = openpyxl.load_workbook(tmp / "excel_pack.xlsx")
    assert {"Provision matrix", "Allowance roll-forward", "Write-off candidates"} <= set(
        wb.sheetnames
    )
    header = [c.value for c in wb["Write-off candidates"][1]]
    assert header[-3:] == ["Approved", "Approved by", "Note"]  # headers a reader reads
