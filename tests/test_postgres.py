"""The PostgreSQL path against a real server (``source .ci/postgres.sh`` sets ARLIB_TEST_PG_URL).

Skipped with a reason when no server is configured, except under ``CI=true`` where a missing
server fails: CI cannot skip this silently. Each test module writes the small demo into its own
schema and drops it afterwards. The password travels only in an environment variable named in
params, and the CLI run proves it appears in no output file, nor on stdout or stderr.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import ROOT
from test_io_helpers import assert_reconciles, make_cfg

from arlib import io
from arlib.errors import SourceError
from arlib.io.database import with_driver
from arlib.ledger import Ledger

pytestmark = pytest.mark.postgres
AS_OF = "2026-10-31"
PW_ENV = "ARLIB_TEST_PG_PASSWORD"


@pytest.fixture(scope="module")
def pg_url() -> sa.URL:
    raw = os.environ.get("ARLIB_TEST_PG_URL")
    if not raw:
        why = "ARLIB_TEST_PG_URL is not set; start a server with `source .ci/postgres.sh`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {why}: the PostgreSQL tests must run in CI")
        pytest.skip(why)
    return with_driver(sa.engine.make_url(raw))


@pytest.fixture(scope="module")
def pg(pg_url, small_demo):
    """(url without password, password, schema) with the small demo's frames loaded."""
    schema = f"arlib_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(pg_url)
    with eng.begin() as con:
        con.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for name, df in small_demo.items():
            df.to_sql(name, con, schema=schema, index=False, chunksize=5000, method="multi")
        renamed = small_demo["invoices"].rename(
            columns={"invoice_id": "belnr", "business_unit": "bukrs"}
        )
        renamed.to_sql("op_items", con, schema=schema, index=False, chunksize=5000, method="multi")
    bare = sa.engine.URL.create(
        pg_url.drivername, pg_url.username, None, pg_url.host, pg_url.port, pg_url.database
    )
    yield bare, pg_url.password, schema  # URL.set(password=None) would keep the password
    with eng.begin() as con:
        con.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    eng.dispose()


def _opts(schema: str, **extra) -> dict:
    return {
        "tables": {f: f"{schema}.{f}" for f in ("invoices", "transactions", "customers")},
        "password_env": PW_ENV,
        **extra,
    }


def _reference(frames: dict, unit: str) -> Ledger:
    pick = {k: v[v["business_unit"] == unit] for k, v in frames.items()}
    return Ledger(
        pick["invoices"], pick["transactions"], pick["customers"].drop(columns=["behaviour"])
    )


def test_load_with_password_from_the_environment(pg, small_demo, monkeypatch):
    url, password, schema = pg
    monkeypatch.setenv(PW_ENV, password)
    source = url.render_as_string(hide_password=False)
    assert password not in source
    ledger = io.load_ledger(make_cfg(source, bu="aa", as_of=AS_OF, source_options=_opts(schema)))
    ref = _reference(small_demo, "aa")
    pd.testing.assert_frame_equal(
        ledger.open_items(AS_OF).reset_index(drop=True),
        ref.open_items(AS_OF).reset_index(drop=True),
        check_dtype=False,
    )
    assert len(ledger.transactions) == len(ref.transactions) and set(
        ledger.invoices["business_unit"]
    ) == {"aa"}
    assert password not in ledger.load_report.source and password not in str(ledger.load_report)
    assert_reconciles(ledger, AS_OF)


def test_unit_filter_runs_in_sql(pg, monkeypatch):
    url, password, schema = pg
    monkeypatch.setenv(PW_ENV, password)
    seen: list[tuple[str, object]] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", spy)
    try:
        io.load_ledger(
            make_cfg(
                url.render_as_string(hide_password=False),
                bu="bb",
                as_of=AS_OF,
                currency="CNY",
                source_options=_opts(schema),
            )
        )
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", spy)
    selects = [
        (s, p)
        for s, p in seen
        if s.lstrip().upper().startswith("SELECT") and f"{schema}.invoices" in s
    ]
    assert selects and all("WHERE" in s and "business_unit" in s for s, _ in selects)
    assert any("bb" in str(p) for _, p in selects)


def test_mapped_table_and_query_with_bind_parameter(pg, small_demo, monkeypatch):
    url, password, schema = pg
    monkeypatch.setenv(
        "ARLIB_TEST_PG_FULL_URL", url.set(password=password).render_as_string(hide_password=False)
    )
    opts = {
        "url_env": "ARLIB_TEST_PG_FULL_URL",
        "tables": {"invoices": f"{schema}.op_items"},
        "columns": {"invoices": {"belnr": "invoice_id", "bukrs": "business_unit"}},
        "queries": {
            "transactions": f"SELECT * FROM {schema}.transactions WHERE business_unit = :business_unit",
            "customers": f"SELECT * FROM {schema}.customers WHERE business_unit = :business_unit",
        },
    }
    ledger = io.load_ledger(
        make_cfg("postgresql (ARLIB_TEST_PG_FULL_URL)", bu="aa", as_of=AS_OF, source_options=opts)
    )
    ref = _reference(small_demo, "aa")
    assert round(ledger.open_items(AS_OF)["open_amount"].sum(), 2) == round(
        ref.open_items(AS_OF)["open_amount"].sum(), 2
    )
    assert len(ledger.customers) == len(ref.customers)
    assert any("columns not used: behaviour" in n for n in ledger.load_report.notes)


def test_wrong_password_is_one_line_without_the_secret(pg, monkeypatch):
    url, _, schema = pg
    monkeypatch.setenv(PW_ENV, "wrong-Secret-9431")
    with pytest.raises(SourceError) as err:
        io.load_ledger(
            make_cfg(
                url.render_as_string(hide_password=False),
                bu="aa",
                as_of=AS_OF,
                source_options=_opts(schema),
            )
        )
    text = str(err.value)
    assert "wrong-Secret-9431" not in text and "\n" not in text
    assert text.startswith(
        f"{url.drivername}://{url.username}:***@{url.host}:{url.port}/{url.database}: "
    )
    assert "password authentication failed" in text and text.endswith(
        "Fix: check `source`, the server, the tables or queries in source_options and the credentials in the "
        "environment variable(s) it names"
    )


def test_empty_unit_lists_the_units_in_the_table(pg, monkeypatch):
    url, password, schema = pg
    monkeypatch.setenv(PW_ENV, password)
    with pytest.raises(Exception) as err:
        io.load_ledger(
            make_cfg(
                url.render_as_string(hide_password=False),
                bu="zz",
                as_of=AS_OF,
                source_options=_opts(schema),
            )
        )
    assert (
        f"table {schema}.invoices: column business_unit: 0 rows match business unit 'zz' (units in the source: "
        "aa, bb). Fix:" in str(err.value)
    )


@pytest.mark.slow
def test_cli_run_keeps_the_password_out_of_every_output(pg, tmp_path):
    url, password, schema = pg
    params = tmp_path / "params"
    params.mkdir()
    opts = _opts(schema)
    tables = ", ".join(f"{k}: {v}" for k, v in opts["tables"].items())
    (params / "defaults.yaml").write_text(
        f'as_of: "{AS_OF}"\nsource: "{url.render_as_string(hide_password=False)}"\n'
        f"source_options:\n  tables: {{{tables}}}\n  password_env: {PW_ENV}\n",
        encoding="utf-8",
    )
    (params / "aa.yaml").write_text("currency: EUR\ngl_control_total: 1.0\n", encoding="utf-8")
    out = tmp_path / "out"
    exe = ROOT / ".venv/bin/arlib"
    proc = subprocess.run(
        [
            str(exe) if exe.exists() else "arlib",
            "run",
            "--params",
            str(params),
            "--bu",
            "aa",
            "--notebooks",
            "health",
            "--out-dir",
            str(out),
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, PW_ENV: password},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"health.ipynb", "health.html", "kpis.json", "manifest.json"} <= names
    manifest = (out / AS_OF / "manifest.json").read_text(encoding="utf-8")
    assert f"arlib_test@{url.host}:{url.port}" in manifest  # the search below reads real content
    secret = password.encode()
    leaks = [str(p) for p in files if secret in p.read_bytes()]
    assert not leaks, f"password found in {leaks}"
    assert password not in proc.stdout and password not in proc.stderr
