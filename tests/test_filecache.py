"""The parse-once cache of big CSV sources (arlib.io.filecache): a unit reads exactly what the
plain read gives it, a changed file is parsed again, a killed build leaves no half copy, and
``arlib run`` parses a big file once, with progress, before the units start."""

from __future__ import annotations

import io as _io
import json
import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_io_helpers import AS_OF, BASE, load, write_files

from arlib.errors import ConfigError, SourceError
from arlib.io import filecache, sources
from arlib.io.options import parse_source_options


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ARLIB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _both(path, opts, bu, frame="invoices"):
    """(plain read, cached read) of one unit."""
    opts = parse_source_options({**opts, "cache": "always"})
    plain = sources.read_unit_frame(path, frame, opts, "f.csv", bu)
    cached = filecache.read_frame(path, frame, opts, "f.csv", bu)
    return plain, cached


def _assert_same(plain, cached):
    pd.testing.assert_frame_equal(plain.data, cached.data)
    assert plain.notes == cached.notes
    assert plain.units_found == cached.units_found


# a title line, a semicolon file with a BOM, CRLF, a quoted delimiter and a quoted line break,
# empty rows, rows of no unit, and a two-row footer
TRICKY = (
    "\ufeffAged open items;;;\r\n"
    "Invoice;Company;Customer;Amount\r\n"
    "A1;x;C1;10,00\r\n"
    '"A2";y;"C;2";20,00\r\n'
    ";;;\r\n"
    'A3;x;"two\r\nlines";30,00\r\n'
    "A4;;C4;40,00\r\n"
    "A5;z;C5;50,00\r\n"
    "\r\n"
    "A6; x ;C6;60,00\r\n"
    "A7;y;C7;70,00\r\n"
    ";;;\r\n"
    "Total;;;280,00\r\n"
    "Printed 2024-07-01;;;\r\n"
)
TRICKY_OPTS = {
    "header_row": 2,
    "footer_rows": 2,
    "columns": {"invoices": {"Invoice": "invoice_id", "Company": "business_unit"}},
}


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
@pytest.mark.parametrize("bu", ["x", "y", "z", "nope"])
def test_a_unit_reads_what_the_plain_read_gives(tmp_path, monkeypatch, chunk, bu):
    monkeypatch.setattr(filecache, "CHUNK_ROWS", chunk)
    path = tmp_path / "f.csv"
    path.write_bytes(TRICKY.encode("utf-8"))
    plain, cached = _both(path, TRICKY_OPTS, bu)
    _assert_same(plain, cached)


def test_the_tricky_file_by_hand(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(TRICKY.encode("utf-8"))
    _, x = _both(path, TRICKY_OPTS, "x")
    assert x.data["Invoice"].tolist() == ["A1", "A3", "A6"]
    assert x.data["Customer"].tolist() == ["C1", "two\r\nlines", "C6"]
    assert x.data["_row"].tolist() == [3, 6, 10]  # the data rows after the header on row 2
    assert x.notes == [
        "f.csv: 3 empty row(s) skipped",
        "f.csv: footer row(s) 13, 14 skipped (source_options.footer_rows)",
        "f.csv: 1 row(s) with no Company belong to no business unit and are not read (row(s) 7)",
    ]
    _, missing = _both(path, TRICKY_OPTS, "nope")
    assert missing.data.empty and missing.units_found == ["x", "y", "z"]


_cell = st.text(alphabet='ab;,"\n x', max_size=4)


@settings(deadline=None, max_examples=40)
@given(
    rows=st.lists(st.tuples(st.sampled_from(["u1", "u2", "", " u1 "]), _cell, _cell), max_size=12),
    chunk=st.integers(1, 5),
    footer=st.integers(0, 3),
)
def test_any_small_file_reads_the_same(tmp_path_factory, rows, chunk, footer):
    folder = tmp_path_factory.mktemp("h")
    os.environ["ARLIB_CACHE_DIR"] = str(folder / "cache")
    filecache.CHUNK_ROWS, saved = chunk, filecache.CHUNK_ROWS
    try:
        frame = pd.DataFrame(rows, columns=["business_unit", "a", "b"])
        path = folder / "f.csv"
        frame.to_csv(path, index=False)
        for bu in ("u1", "u2"):
            _assert_same(*_both(path, {"footer_rows": footer}, bu))
    finally:
        filecache.CHUNK_ROWS = saved


def test_a_changed_file_is_parsed_again_and_the_old_copy_removed(tmp_path, cache_dir):
    src = write_files(tmp_path / "src", BASE)
    opts = {"cache": "always"}
    assert _open_ar(load(src, source_options=opts)) == 270.50
    first = [p.name for p in cache_dir.iterdir() if not p.name.startswith(".")]
    assert len(first) == 2  # invoices and transactions, split by unit
    more = BASE["invoices.csv"] + "I5,x,C2,2024-05-01,2024-05-31,19.50,EUR,No\n"
    (src / "invoices.csv").write_text(more)
    assert _open_ar(load(src, source_options=opts)) == 290.00
    now = [p.name for p in cache_dir.iterdir() if not p.name.startswith(".")]
    assert len(now) == 2 and len(set(now) - set(first)) == 1  # the invoices copy replaced


def _open_ar(ledger) -> float:
    return round(float(ledger.open_items(AS_OF)["open_amount"].sum()), 2)


def test_same_ledger_and_load_report_with_and_without_the_cache(tmp_path):
    src = write_files(tmp_path / "src", BASE)
    plain = load(src, source_options={"cache": "never"})
    cached = load(src, source_options={"cache": "always"})
    for name in ("invoices", "transactions", "customers"):
        pd.testing.assert_frame_equal(getattr(plain, name), getattr(cached, name))
    assert str(plain.load_report) == str(cached.load_report)
    assert plain.load_report.notes == cached.load_report.notes


def test_a_killed_build_leaves_no_half_copy(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(TRICKY.encode("utf-8"))
    opts = parse_source_options({**TRICKY_OPTS, "cache": "always"})
    monkeypatch.setattr(filecache, "CHUNK_ROWS", 2)
    real = filecache._write
    calls = []

    def dies(rows, n, meta, out):
        calls.append(n)
        if n == 2:
            raise KeyboardInterrupt  # the power cut: after two chunks were written
        real(rows, n, meta, out)

    monkeypatch.setattr(filecache, "_write", dies)
    with pytest.raises(KeyboardInterrupt):
        filecache.read_frame(path, "invoices", opts, "f.csv", "x")
    assert calls == [0, 1, 2]
    assert [p.name for p in cache_dir.iterdir() if not p.name.endswith(".lock")] == []
    # a build killed harder (its temp folder left behind by another process) is cleaned up
    k = filecache.key(path, "invoices", opts)
    (cache_dir / f".{k}.tmp-999999" / "u00000").mkdir(parents=True)
    monkeypatch.setattr(filecache, "_write", real)
    plain = sources.read_unit_frame(path, "invoices", opts, "f.csv", "x")
    _assert_same(plain, filecache.read_frame(path, "invoices", opts, "f.csv", "x"))
    assert sorted(p.name for p in cache_dir.iterdir() if not p.name.endswith(".lock")) == [k]


def test_a_file_in_the_wrong_encoding_gives_the_plain_reads_message(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("invoice_id,business_unit,name\nI1,x,Müller\n".encode("cp1252"))
    opts = parse_source_options({"cache": "always"})
    with pytest.raises(SourceError) as e:
        filecache.read_frame(path, "invoices", opts, "f.csv", "x")
    assert str(e.value) == (
        "f.csv: is not UTF-8 text (line 2, byte 0xfc). Fix: set source_options.encoding to the "
        "file's encoding, e.g. gb18030 for Chinese exports or cp1252 for Western Windows exports"
    )
    opts = parse_source_options({"cache": "always", "encoding": "cp1252"})
    got = filecache.read_frame(path, "invoices", opts, "f.csv", "x")
    assert got.data["name"].tolist() == ["Müller"]


def test_when_the_cache_is_used(tmp_path, monkeypatch):
    small = tmp_path / "f.csv"
    small.write_text("a,b\n1,2\n")
    auto = parse_source_options({})
    assert filecache.wanted(small, "invoices", auto) is False  # below AUTO_BYTES
    monkeypatch.setattr(filecache, "AUTO_BYTES", 4)
    assert filecache.wanted(small, "invoices", auto) is True
    assert filecache.wanted(small, "customers", auto) is False  # small frames: read whole
    assert filecache.wanted(small, "invoices", parse_source_options({"cache": "never"})) is False
    one = parse_source_options({"one_unit": True})
    assert filecache.wanted(small, "invoices", one) is False
    with pytest.raises(ConfigError) as e:
        parse_source_options({"cache": "alway"})
    assert str(e.value) == (
        "parameter source_options.cache: 'alway' is not a mode; did you mean 'always'?"
    )


def test_prepare_parses_each_big_file_once_with_progress(tmp_path, monkeypatch, cache_dir):
    src = write_files(tmp_path / "src", BASE)
    monkeypatch.setattr(filecache, "AUTO_BYTES", 1)
    jobs = [(str(src), {}), (str(src), {})]  # two units of the same files
    err = _io.StringIO()
    notes = filecache.prepare(jobs, stream=err)
    assert [n.split(" in ")[0] for n in notes] == [
        "invoices.csv: 4 rows of 2 business unit(s) read once into the unit cache",
        "transactions.csv: 5 rows of 2 business unit(s) read once into the unit cache",
    ]
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("arlib: reading invoices.csv (0 MiB) once for all units: ")
    assert lines[-1].endswith(": 100%")
    metas = [json.loads(p.read_text()) for p in cache_dir.glob("*/meta.json")]
    assert sorted(m["rows"] for m in metas) == [4, 5]
    again = _io.StringIO()
    assert filecache.prepare(jobs, stream=again) == [] and again.getvalue() == ""


def test_a_run_parses_the_file_before_its_units_start(tmp_path, cache_dir, monkeypatch, capsys):
    """``arlib run``: the file is parsed once, in the coordinator, and each unit (a stand-in
    here) then finds its rows ready in the cache: no unit parses the file."""
    from arlib.run import pool
    from arlib.run.close import run_closes
    from arlib.run.runner import UnitJob, UnitResult

    src = write_files(tmp_path / "src", BASE)
    params = {"source": str(src), "source_options": {"cache": "always"}}
    parsed = []
    monkeypatch.setattr(filecache, "_build", _counting(filecache._build, parsed))

    def unit(job, workdir):
        opts = parse_source_options(params["source_options"])
        raw = filecache.read_frame(src / "invoices.csv", "invoices", opts, "i", job.business_unit)
        res = UnitResult(job.business_unit, job.as_of, status="failed")
        res.errors = [f"read {len(raw.data)} rows, {len(parsed)} parse(s) so far"]
        return res

    jobs = [UnitJob(bu, AS_OF, dict(params, business_unit=bu), "p", (), str(src)) for bu in "xy"]
    out = run_closes(
        jobs,
        tmp_path / "out",
        {AS_OF: {"x", "y"}},
        lambda js, root: pool.run_jobs(js, root, 1, progress=False, task=unit),
    )
    assert [r.errors for r in out.failed_units] == [
        ["read 3 rows, 2 parse(s) so far"],  # invoices and transactions, before any unit
        ["read 1 rows, 2 parse(s) so far"],
    ]
    assert [n.split(" in ")[0] for n in out.notes] == [
        "invoices.csv: 4 rows of 2 business unit(s) read once into the unit cache",
        "transactions.csv: 5 rows of 2 business unit(s) read once into the unit cache",
    ]
    assert "arlib: reading invoices.csv (0 MiB) once for all units: 100%" in capsys.readouterr().err


def _counting(fn, calls):
    def wrapped(*args, **kw):
        calls.append(args[0].name)
        return fn(*args, **kw)

    return wrapped


def test_an_excel_workbook_is_parsed_once_with_its_cell_types(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Open items at 30.06.2024"])
    ws.append(["Invoice", "Company", "Amount", "Date", "Flag", "Time"])
    rows = [
        ["A1", "x", 10, dt.datetime(2024, 1, 2), True, None],
        [2, "y", 20.5, "2024-01-03", None, dt.time(3, 4)],
        [None, None, None, None, None, None],
        [3.0, 7, -1.25, dt.datetime(2024, 2, 1, 13, 30), False, None],
        ["A4", None, 40, None, None, None],
        ["A5", "x", "ten", dt.date(2024, 3, 1), None, None],
        ["Total", None, 70.25, None, None, None],
    ]
    for r in rows:
        ws.append(r)
    path = tmp_path / "f.xlsx"
    wb.save(path)
    opts = {
        "header_row": 2,
        "footer_rows": 1,
        "columns": {"invoices": {"Company": "business_unit"}},
    }
    for bu in ("x", "y", "7", "nope"):
        _assert_same(*_both(path, opts, bu))
    _, x = _both(path, opts, "x")
    assert x.data["Amount"].tolist() == [10, "ten"] and type(x.data["Amount"][0]) is int
    assert x.data["Date"].tolist() == [dt.datetime(2024, 1, 2), dt.datetime(2024, 3, 1)]
    assert x.notes == [
        "f.csv: 1 empty row(s) skipped",
        "f.csv: footer row(s) 9 skipped (source_options.footer_rows)",
        "f.csv: 1 row(s) with no Company belong to no business unit and are not read (row(s) 7)",
    ]
