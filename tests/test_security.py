"""Security (issue 17, part 5): passwords in URLs refused and masked everywhere, formula
injection neutralised in every CSV and Excel file, unexpected errors as one line with the
traceback in a log. Unit checks on tiny frames, then two small real runs read back file by file."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest
from conftest import ROOT, demo_params

from arlib import demo
from arlib.config import redacted, validate
from arlib.errors import ConfigError
from arlib.files import read_back, safe_cell, spreadsheet_safe
from arlib.forecast.history import load_forecasts, save_forecast
from arlib.health.credit import export_worklist
from arlib.i18n import column_label
from arlib.io.database import Secrets, database_url
from arlib.io.options import parse_source_options
from arlib.redact import mask_urls, strip_paths
from arlib.report.excel import add_sheet
from arlib.report.html import stamp_html, to_html

SECRET = "hunter2-Sekret"
FIX = (
    "; params are recorded in the reports. Fix: remove it from the URL and name an environment "
    "variable holding it in source_options.password_env"
)
#: text a spreadsheet would run: a link, DDE command execution, arithmetic, tab and CR starts
EVIL = [
    '=HYPERLINK("http://evil.example/x","Click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
]


# --- 1. passwords in URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key,value,where,masked",
    [
        (
            "source",
            f"postgresql://ar@db.example.com/erp?password={SECRET}",
            "query key 'password'",
            "postgresql://ar@db.example.com/erp?password=***",
        ),
        (
            "source",
            f"postgresql://ar:{SECRET}@db:5432/erp",
            "user info",
            "postgresql://ar:***@db:5432/erp",
        ),
        (
            "source",
            f"mysql+pymysql://ar@db/erp?charset=utf8&PWD={SECRET}",
            "query key 'PWD'",
            "mysql+pymysql://ar@db/erp?charset=utf8&PWD=***",
        ),
        (
            "source",
            f"postgresql://ar@db/erp?sslmode=verify-full&sslpassword={SECRET}",
            "query key 'sslpassword'",
            "postgresql://ar@db/erp?sslmode=verify-full&sslpassword=***",
        ),
        (
            "source",
            f"mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Dar%3BPWD%3D{SECRET}",
            "query key 'odbc_connect' (its PWD=)",
            "mssql+pyodbc:///?odbc_connect=DRIVER={ODBC};UID=ar;PWD=***",
        ),
        (  # any parameter, at any depth
            "source_options.queries.invoices",
            f"SELECT * FROM ar WHERE src = 'https://u:{SECRET}@x.example/api'",
            "user info",
            "https://u:***@x.example/api",
        ),
    ],
)
def test_password_anywhere_in_a_url_is_refused_naming_the_key(key, value, where, masked):
    values = (
        {"source": value}
        if key == "source"
        else {"source_options": {"queries": {"invoices": value}}}
    )
    with pytest.raises(ConfigError) as e:
        validate(values, "params/de.yaml")
    assert (
        str(e.value)
        == f"params/de.yaml: parameter {key}: holds a password ({where}: {masked}){FIX}"
    )
    assert SECRET not in str(e.value)


def test_urls_without_secrets_pass():
    validate({"source": "postgresql://ar@db/erp?sslmode=require&sslkey=/etc/ar.key"})
    validate({"source": "data/ar.sqlite"})


def test_redacted_params_and_audit_stamp_mask_url_secrets_at_any_depth():
    params = {"source": f"pg://a@h/d?password={SECRET}", "x": [{"u": f"https://a:{SECRET}@h"}]}
    assert redacted(params) == {
        "source": "pg://a@h/d?password=***",
        "x": [{"u": "https://a:***@h"}],
    }
    footer = stamp_html({"run_id": "r1", "parameters": params})
    assert SECRET not in footer and "pg://a@h/d?password=***" in footer


def test_database_url_from_the_environment_keeps_its_query_password_secret(monkeypatch):
    monkeypatch.setenv("AR_URL", f"postgresql://ar@127.0.0.1:9/erp?password={SECRET}")
    url, secrets = database_url("", parse_source_options({"url_env": "AR_URL"}))
    assert url.query["password"] == SECRET  # the driver gets it ...
    # ... a driver message quoting it or the URL shows neither
    msg = secrets.scrub(f"connect failed: password={SECRET} at postgresql://ar@h/erp?pwd=x")
    assert msg == "connect failed: password=*** at postgresql://ar@h/erp?pwd=***"
    assert Secrets(()).scrub("a mysql://u:p@h b") == "a mysql://u:***@h b"


def test_machine_paths_are_taken_out_of_messages():
    text = "No such file: '/srv/ar/data/x.csv' (see /usr/lib/python3.11/site-packages/pd/io.py)"
    assert strip_paths(text, "/srv/ar") == "No such file: 'data/x.csv' (see …/pd/io.py)"
    assert (
        mask_urls(strip_paths("sqlite:////srv/ar/x.sqlite", "/srv/ar"))
        == "sqlite:////srv/ar/x.sqlite"
    )


# --- 2. formula injection ---------------------------------------------------------------------


def test_safe_cell_neutralises_formula_starts_and_keeps_numbers():
    assert [safe_cell(v) for v in EVIL] == ["'" + v for v in EVIL]
    assert [safe_cell(v) for v in ("ACME-1", "a=b", "", 12, -3.5, None)] == [
        "ACME-1",
        "a=b",
        "",
        12,
        -3.5,
        None,
    ]
    assert [read_back(safe_cell(v)) for v in [*EVIL, "'quoted"]] == [*EVIL, "'quoted"]


def test_spreadsheet_safe_covers_text_string_and_category_columns_and_headers():
    df = pd.DataFrame(
        {
            "name": EVIL[:2],
            "code": pd.Series(["=A1", "ok"], dtype="string"),
            "cat": pd.Series(["@x", "ok"], dtype="category"),
            "amount": [-1.5, 2.0],
            "=evil header": [1, 2],
        }
    )
    out = spreadsheet_safe(df)
    assert list(out.columns) == ["name", "code", "cat", "amount", "'=evil header"]
    assert out["name"].tolist() == ["'" + EVIL[0], "'" + EVIL[1]]
    assert out["code"].tolist() == ["'=A1", "ok"] and out["cat"].tolist() == ["'@x", "ok"]
    assert out["amount"].tolist() == [-1.5, 2.0] and str(out["amount"].dtype) == "float64"


def test_excel_pack_writes_text_never_formulas(tmp_path):
    df = pd.DataFrame({"name": EVIL, "open_amount": [-10.0, 1.5, 2, 3, 4, 5, 6, 7]})
    ws = openpyxl.load_workbook(add_sheet(tmp_path, "Aging", df, money=["open_amount"]))["Aging"]
    cells = [ws.cell(row=r, column=1) for r in range(2, 2 + len(EVIL))]
    # a carriage return is stored as Excel stores it, ``_x000D_`` (ECMA-376 ST_Xstring), which
    # Excel shows as the character and openpyxl gives as written: decoded here as Excel does
    shown = [re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), c.value) for c in cells]
    assert shown == ["'" + v for v in EVIL]
    assert {c.data_type for c in cells} == {"s"}  # text, not 'f' (formula)
    assert [ws.cell(row=r, column=2).value for r in (2, 3)] == [-10.0, 1.5]
    assert ws.cell(row=2, column=2).data_type == "n"


def test_worklist_csv_and_xlsx_are_safe(tmp_path):
    work = pd.DataFrame({"customer_id": ["C1"], "name": [EVIL[1]], "open_amount": [99.5]})
    paths = export_worklist(work, tmp_path, per_customer=work.rename(columns={"name": "=x"}))
    # headers are the friendly names of the report language ("name" -> "Name")
    assert pd.read_csv(paths["csv"], encoding="utf-8-sig")["Name"].tolist() == ["'" + EVIL[1]]
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book["items"]["B2"].value == "'" + EVIL[1] and book["items"]["C2"].value == 99.5
    assert book["customers"]["B1"].value == "'=x"


def test_stored_forecast_is_safe_and_read_back_as_written(tmp_path):
    fc = pd.DataFrame(
        {
            "unique_id": ["=HYPERLINK(1)"],
            "ds": [pd.Timestamp("2026-11-01")],
            "model": ["auto"],
            "yhat": [-12.5],
        }
    )
    unit = tmp_path / "2026-10-31" / "aa"
    file = save_forecast(fc, unit, "2026-10-31", tag="aa")
    assert "'=HYPERLINK(1)" in file.read_text()
    back = load_forecasts(tmp_path, "aa")
    assert back["unique_id"].tolist() == ["=HYPERLINK(1)"] and back["yhat"].tolist() == [-12.5]


def test_html_shows_an_error_as_one_translated_line():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="KeyError",
            evalue="'amount'",
            traceback=['File "/srv/ar/.venv/lib/python3.11/site-packages/pandas/core/frame.py"'],
        )
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("## Aging"), cell]
    en, zh = to_html(nb, "t"), to_html(nb, "t", "zh")
    assert "site-packages" not in en and "/srv/ar" not in en and "Traceback" not in en
    assert (
        "This part of the report stopped on an unexpected error (KeyError); the details are in "
        "the log beside the report." in en
    )
    assert "报告的这一部分因意外错误（KeyError）而中止；详细信息见报告旁的日志文件。" in zh


# --- real runs ---------------------------------------------------------------------------------


def _arlib() -> str:
    return str(ROOT / ".venv/bin/arlib") if (ROOT / ".venv/bin/arlib").exists() else "arlib"


def _evil_frames() -> dict[str, pd.DataFrame]:
    """One small unit whose customer names are formulas, plus an invoice due before it was
    issued (quarantined by default) whose id is a DDE command."""
    units = {"aa": dataclasses.replace(demo.UNITS["de"], customers=8)}
    frames = demo.generate(seed=3, units=units, start="2025-07-01", end="2026-10-31")
    cust = frames["customers"]
    cust.loc[: len(EVIL) - 1, "name"] = EVIL[: len(cust)]
    inv = frames["invoices"]
    bad = inv.iloc[[0]].assign(
        invoice_id=EVIL[1],
        invoice_date=pd.Timestamp("2026-10-01"),
        due_date=pd.Timestamp("2026-09-01"),
    )
    frames["invoices"] = pd.concat([inv, bad], ignore_index=True)
    return frames


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """``health`` for one unit whose data holds formulas, read through a URL (``url_env``) with
    a password in its query; SQLite ignores the key, so the run succeeds."""
    tmp = tmp_path_factory.mktemp("sec")
    params = demo_params(tmp, _evil_frames(), {"aa": "currency: EUR\n"})
    store = tmp / "store.sqlite"
    (params / "defaults.yaml").write_text(
        'as_of: "2026-10-31"\nsource: ""\nsource_options: {url_env: ARLIB_SEC_URL}\n'
    )
    env = dict(os.environ, ARLIB_SEC_URL=f"sqlite:///{store}?password={SECRET}")
    cmd = [_arlib(), "run", "--params", str(params), "--out-dir", str(tmp / "out")]
    proc = subprocess.run(
        [*cmd, "--notebooks", "health", "--no-progress"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc, tmp / "out" / "2026-10-31"


def _all_text(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in Path(folder).resolve().rglob("*") if p.is_file()}


@pytest.mark.slow
def test_real_run_never_shows_the_url_password(evil_run):
    proc, out = evil_run
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    files = _all_text(out)
    assert any(f.endswith("health.ipynb") for f in files) and any(
        f.endswith("kpis.json") for f in files
    )
    leaked = [f for f, data in files.items() if SECRET.encode() in data]
    assert leaked == []
    # the source label is shown, masked, in the report's data section
    html = (out / "aa" / "health.html").read_text(encoding="utf-8")
    assert "?password=***" in html


@pytest.mark.slow
def test_real_run_exports_hold_no_live_formula(evil_run):
    _, out = evil_run
    unit = out / "aa"
    quarantine = pd.read_csv(unit / "quarantine-invoices.csv", dtype=str)
    assert quarantine["invoice_id"].tolist() == ["'" + EVIL[1]]
    pack = openpyxl.load_workbook(unit / "excel_pack.xlsx")
    for ws in pack.worksheets:
        formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
        assert formulas == [], ws.title
    sheet = pack["Collection worklist"]
    header = [c.value for c in sheet[1]]

    def column(name):  # headers are the friendly names of the report language
        at = header.index(column_label(name)) + 1
        return [sheet.cell(row=r, column=at) for r in range(2, sheet.max_row + 1)]

    names = {c.value for c in column("name")}  # every customer of the unit has a formula name
    # (the load trims blanks, tab and CR around text: "\t=1+1" is read as "=1+1")
    assert names and names <= {"'" + v.strip() for v in EVIL}
    assert {c.data_type for c in column("name")} == {"s"}
    assert {c.data_type for c in column("open_amount")} == {"n"}
    csv = pd.read_csv(
        unit / "collection_worklist.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    assert len(csv) == len(column("name")) and set(csv[column_label("name")]) == names


BOOM = (
    """raise FileNotFoundError(2, "No such file or directory", "/nonexistent/secret/ledger.csv")"""
)


@pytest.mark.slow
def test_unexpected_error_is_one_line_and_its_traceback_is_logged(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('business_unit: str = "de"  # unit')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BOOM)]
    nbformat.write(nb, project / "notebooks" / "boom.ipynb")
    units = {"aa": dataclasses.replace(demo.UNITS["de"], customers=5)}
    frames = demo.generate(seed=3, units=units, start="2026-01-01", end="2026-10-31")
    params_dir = demo_params(project, frames, {"aa": "currency: EUR\n"})
    proc = subprocess.run(
        [_arlib(), "run", "--params", str(params_dir), "--out-dir", str(project / "out")]
        + ["--notebooks", "boom", "--no-progress"],
        cwd=project,
        env=dict(os.environ, ARLIB_HOME=str(project)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    reason = (
        "boom: unexpected error FileNotFoundError: [Errno 2] No such file or directory: "
        "'…/secret/ledger.csv' (the details are in boom.error.log beside the report)"
    )
    assert proc.returncode == 1
    assert f"FAILED aa: {reason}" in proc.stderr.splitlines()
    out = project / "out" / "2026-10-31"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["units"][0]["errors"] == [reason]
    unit = out / "aa"
    assert sorted(p.name for p in unit.iterdir()) == ["FAILED.txt", "boom.error.log", "boom.ipynb"]
    log = (unit / "boom.error.log").read_text()
    assert "FileNotFoundError" in log and "/nonexistent/secret/ledger.csv" in log
    assert BOOM in log  # the cell that raised, as the kernel's traceback shows it
    kept = nbformat.read(unit / "boom.ipynb", as_version=4)
    assert [
        o["traceback"]
        for c in kept.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ] == [[reason]]
    for shown in (
        proc.stderr,
        (out / "index.html").read_text(),
        json.dumps(manifest["units"][0]["errors"]),
    ):
        assert "/nonexistent" not in shown and "Traceback" not in shown
    assert reason.replace("'", "&#x27;") in (out / "index.html").read_text()


@pytest.mark.slow
def test_real_run_with_a_password_in_the_source_url_is_refused_before_anything_is_written(
    tmp_path,
):
    params = tmp_path / "params"
    params.mkdir()
    (params / "de.yaml").write_text(
        f'as_of: "2026-10-31"\nsource: "postgresql://ar@db.example.com/erp?password={SECRET}"\n'
    )
    proc = subprocess.run(
        [
            _arlib(),
            "run",
            "--params",
            str(params),
            "--out-dir",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and SECRET not in proc.stdout + proc.stderr
    assert proc.stderr == (
        f"arlib: error: {params / 'de.yaml'}: parameter source: holds a password (query key "
        f"'password': postgresql://ar@db.example.com/erp?password=***){FIX}\n"
    )
    assert not (tmp_path / "out").exists() or _all_text(tmp_path / "out") == {}
