"""The load's fast paths against the computations they replace (the second method), on messy
inputs: text worked out once per distinct value, typed date columns, duplicate-row keys without
text, pandera's str check done per column; and a whole load of the same messy frames given as
text CSV and as typed Parquet."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from test_io_helpers import make_cfg

from arlib.io.intake import load_frames
from arlib.io.mapping import is_empty, map_codes, parse_bool, parse_dates, parse_ids
from arlib.io.validate import row_keys, text_checked
from arlib.schemas import TXN_KINDS, Invoices, Transactions

N = 3_000  # above by_unique's threshold: the distinct-value path is taken

MESSY = [
    " C1",
    "C1 ",
    "C1\u00a0",
    "\u3000C2",
    "c2",
    "C\x003",
    "",
    "   ",
    None,
    np.nan,
    "nan",
    "None",
    "Payment",
    " payment ",
    "CREDIT_NOTE",
    "zah",
    "Ja",
    "no",
    "1.0",
    "x\u2028",
]


def _messy(n: int = N, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series([MESSY[i] for i in rng.integers(0, len(MESSY), n)], dtype=object)


# -- the replaced computations, as they were (second method) -----------------------------------
def _old_is_empty(s: pd.Series) -> np.ndarray:
    out = s.isna().to_numpy()
    if s.dtype != object:
        return out
    if pd.api.types.infer_dtype(s, skipna=True) == "string":
        return out | s.str.strip().eq("").to_numpy(dtype=bool, na_value=False)
    obj = ~out & s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if obj.any():
        out[obj] = s[obj].str.strip().eq("").to_numpy()
    return out


def _old_ids(s: pd.Series) -> pd.Series:
    t = s.str.strip()
    return t.where(t.notna() & t.ne(""), None).astype(object)


def _old_map_codes(s, mapping, domain=None, upper=False):
    mapping = {str(k): v for k, v in (mapping or {}).items()}
    folded = {k.casefold(): v for k, v in mapping.items()}
    if domain:
        folded.update({d.casefold(): d for d in domain if d.casefold() not in folded})
    ids = _old_ids(s)
    out = ids.map(mapping).astype(object)
    rest = out.isna() & ids.notna()
    if rest.any():
        out[rest] = ids[rest].str.casefold().map(folded)
    if not domain:
        keep = out.isna() & ids.notna()
        out[keep] = ids[keep].str.upper() if upper else ids[keep]
    out = out.astype(object).where(out.notna(), None)
    return out, (out.isna() & ids.notna()).to_numpy()


def _old_parse_bool(s, mapping=None):
    from arlib.io.mapping import FALSE_WORDS, TRUE_WORDS

    words = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}
    keys = _old_ids(s).fillna("")
    out = keys.map({str(k): bool(v) for k, v in (mapping or {}).items()}).astype(object)
    rest = out.isna()
    out[rest] = keys[rest].str.casefold().map(words)
    out = out.astype(object).where(out.notna(), None)
    return out, out.isna().to_numpy()


def _old_row_keys(df: pd.DataFrame) -> np.ndarray:
    key = np.zeros(len(df), dtype=np.int64)
    for j in range(df.shape[1]):
        codes, uniques = pd.factorize(df.iloc[:, j].astype(str))
        key = pd.factorize(key * max(len(uniques), 1) + codes)[0]
    return key


def _same(a: pd.Series, b: pd.Series) -> None:
    """Equal cell by cell, missing cells as None on both sides (what the parsers give)."""
    assert a.dtype == b.dtype and a.index.equals(b.index)
    assert [None if pd.isna(v) else v for v in a] == [None if pd.isna(v) else v for v in b]


# -- text once per distinct value ---------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_text_parsers_equal_the_per_cell_computation_on_messy_text(seed):
    s = _messy(seed=seed)
    assert s.iloc[:100].nunique() < 25  # repeats: the distinct-value path
    assert (is_empty(s) == _old_is_empty(s)).all()
    _same(parse_ids(s), _old_ids(s))
    assert parse_ids(s).isna().sum() == _old_ids(s).isna().sum() > 0
    for args in [({"ZAH": "payment"}, TXN_KINDS), ({"C1": "one"}, None), ({}, None, True)]:
        new, old = map_codes(s, *args), _old_map_codes(s, *args)
        _same(new[0], old[0])
        assert (new[1] == old[1]).all()
    assert map_codes(s, {"ZAH": "payment"}, TXN_KINDS)[1].sum() > 0  # messy codes are flagged
    new, old = parse_bool(s, {"C1": True}), _old_parse_bool(s, {"C1": True})
    _same(new[0], old[0])
    assert (new[1] == old[1]).all() and new[1].any() and not new[1].all()


def test_mostly_distinct_text_takes_the_plain_path_with_the_same_values():
    s = pd.Series([f" I{i:06d} " if i % 7 else None for i in range(N)], dtype=object)
    _same(parse_ids(s), _old_ids(s))
    assert parse_ids(s).iloc[1] == "I000001" and parse_ids(s).iloc[0] is None


def test_clean_text_is_what_strip_leaves_alone_for_every_whitespace_character():
    from arlib.io.mapping import _ALL_SPACE, clean_text

    spaces = [chr(i) for i in range(0x110000) if chr(i).isspace()]
    assert _ALL_SPACE == "".join(f"\\x{{{ord(c):x}}}" for c in spaces)  # Arrow's list is Python's
    for c in spaces + ["a", "\x00"]:
        for t in (c + "x", "x" + c, "x" + c + "y", c, "x", ""):
            want = t.strip() == t and t != "" and "\x00" not in t
            assert clean_text(["A-1", t, "B"]) == clean_text([t]) == want, repr(t)
            assert clean_text(np.array(["A-1", t], dtype=object)) == want, repr(t)
    assert not clean_text(["A-1", None]) and not clean_text([1.0])
    assert not clean_text([b"A-1"]) and not clean_text([])  # bytes are not text; nothing to test
    for t in ("a\ud800", "\ud800 ", "\ud800\x00"):  # not UTF-8: the joined-text search
        assert clean_text(["A-1", t]) == (t.strip() == t and "\x00" not in t), repr(t)


def test_nul_ids_are_found_in_clean_and_messy_columns():
    from arlib.io.canonical import _has_nul

    ids = pd.Series([f"I{i}" for i in range(N)] + [None], dtype=object)
    assert not _has_nul(ids).any()
    ids[5], ids[N - 1] = "I\x005", "x\x00"
    assert np.flatnonzero(_has_nul(ids)).tolist() == [5, N - 1]
    assert _has_nul(ids).tolist() == ids.str.contains("\x00", regex=False).eq(True).tolist()


# -- typed dates -------------------------------------------------------------------------------
def test_date_objects_parse_as_their_iso_text_does():
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(i)) for i in range(0, 900, 7)]
    values = days + [None, dt.date(9999, 12, 31), dt.date(1, 1, 1), None]  # beyond pandas: bad
    typed = pd.Series(values, dtype=object)
    text = pd.Series([v.isoformat() if v else None for v in values], dtype=object)
    assert pd.api.types.infer_dtype(typed, skipna=True) == "date"
    got, bad = parse_dates(typed)
    want, want_bad = parse_dates(text)
    pd.testing.assert_series_equal(got, want)
    assert bad.tolist() == want_bad.tolist() and bad.sum() == 2
    mixed = pd.Series(values + [pd.Timestamp("2024-02-03"), 20240304, "2024-03-05"], dtype=object)
    got, bad = parse_dates(mixed)  # not only dates: the per-cell path, same values for the dates
    pd.testing.assert_series_equal(got.iloc[: len(values)], want)
    assert got.iloc[-3:].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-02-03",
        "2024-03-04",
        "2024-03-05",
    ]


# -- duplicate-row keys ------------------------------------------------------------------------
def test_row_keys_equal_the_text_keys_on_typed_and_messy_columns():
    rng = np.random.default_rng(3)
    n = 4_000
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), n)]  # noqa: E731
    df = pd.DataFrame(
        {
            "text": pd.Series(pick(["a", "nan", "None", None, np.nan, " a", "NaT"]), dtype=object),
            "float": pick([0.0, -0.0, np.nan, 1.5, 1e16, -np.inf]),
            "date": pd.Series(pick([dt.date(2024, 1, 1), dt.date(2024, 1, 2), None]), dtype=object),
            "when": pd.to_datetime(pick(["2024-01-01 00:00", "2024-01-01 12:00", None])),
            "flag": pick([True, False]),
            "int": pick([1, 2, 10]),
            "mixed": pd.Series(pick([1, 1.0, "1", True, None, "x"]), dtype=object),
            "datetimes": pd.Series(
                pick([dt.date(2024, 1, 1), dt.datetime(2024, 1, 1), None]), dtype=object
            ),
        }
    )
    for col in df:
        assert (row_keys(df[[col]]) == _old_row_keys(df[[col]])).all(), col
    got = row_keys(df)
    assert (got == _old_row_keys(df)).all()
    assert 0 < pd.Series(got).duplicated().sum() < n  # copies found, and not everything
    ids = pd.Series([f" T{i}" for i in range(n)], dtype=object)  # distinct: the loop ends early
    late = pd.Series([f"T{i % 1_500}" for i in range(n)], dtype=object)  # distinct at first only
    for extra in (ids, late, ids.where(ids.index % 3 > 0, None)):
        wide = df.assign(id=extra)
        assert (row_keys(wide) == _old_row_keys(wide)).all()
        assert (row_keys(wide.iloc[::-1]) == _old_row_keys(wide.iloc[::-1])).all()


# -- pandera's str check per column -------------------------------------------------------------
def _failures(model: pa.DataFrameSchema, df: pd.DataFrame) -> list:
    try:
        model.validate(df, lazy=True)
        return []
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
    return sorted(map(str, fc[["column", "check", "index", "failure_case"]].to_numpy().tolist()))


def test_contract_failures_are_the_same_without_the_per_cell_str_check():
    rng = np.random.default_rng(5)
    n = 2_000
    kinds = list(TXN_KINDS) + ["refund", None]
    df = pd.DataFrame(
        {
            "txn_id": [f"T{i % 1_900}" for i in range(n)],  # duplicates
            "business_unit": "x",
            "customer_id": pd.Series([None if i % 97 == 0 else f"C{i % 9}" for i in range(n)]),
            "invoice_id": pd.Series([None if i % 3 else f"I{i}" for i in range(n)], dtype=object),
            "date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
            "amount": np.where(np.arange(n) % 50 == 0, -1.0, 10.0),
            "kind": [kinds[i] for i in rng.integers(0, len(kinds), n)],
        }
    )
    fast = text_checked(Transactions, df)
    assert fast.columns["txn_id"].dtype is None  # the per-cell check is skipped ...
    assert fast.columns["date"].dtype is None and fast.columns["amount"].dtype is None
    df_int = df.assign(amount=df["amount"].astype(int))  # not float: pandera coerces and checks
    assert text_checked(Transactions, df_int).columns["amount"].dtype is not None
    assert _failures(text_checked(Transactions, df_int), df_int) == _failures(Transactions, df_int)
    assert _failures(fast, df) == _failures(Transactions, df) != []  # ... with the same cases
    df.loc[7, "customer_id"] = 7  # not text: the column keeps pandera's own check
    assert text_checked(Transactions, df).columns["customer_id"].dtype is not None
    assert _failures(text_checked(Transactions, df), df) == _failures(Transactions, df)
    inv = pd.DataFrame({"invoice_id": ["A", "A"], "currency": ["EUR", "EU"]})
    assert _failures(text_checked(Invoices, inv), inv) == _failures(Invoices, inv) != []


def test_contract_findings_checked_in_place_equal_pandera_on_its_own_copy(monkeypatch):
    from arlib.io.canonical import Parsed
    from arlib.io.sources import ROW
    from arlib.io.validate import contract_findings

    n = 1_200
    data = pd.DataFrame(
        {
            "invoice_id": [f"I{i % 1_150}" if i % 61 else None for i in range(n)],  # copies
            "business_unit": "x",
            "customer_id": [f"C{i % 7}" for i in range(n)],
            "invoice_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n) % 90, "D"),
            "due_date": pd.Timestamp("2025-02-01") + pd.to_timedelta(-(np.arange(n) % 45), "D"),
            "amount": pd.Series([-5 if i % 40 == 0 else i for i in range(n)], dtype=object),
            "currency": [["EUR", "EU", "usd"][i % 3] for i in range(n)],
            "disputed": pd.Series([i % 5 == 0 for i in range(n)], dtype=object),  # coerced
            ROW: np.arange(2, n + 2),
        }
    )
    p = Parsed("invoices", "i.csv", data, data.drop(columns=[ROW]))
    before = data.copy()
    validate = pa.DataFrameSchema.validate

    def on_a_copy(self, df, *args, **kwargs):  # as before: pandera on its own copy
        return validate(self, df, *args, **{**kwargs, "inplace": False})

    for exclude in (np.array([3, 4]), np.array([], dtype=np.int64)):  # with copies, without
        with warnings.catch_warnings():  # pandas' slice warning is not raised either
            warnings.simplefilter("error", pd.errors.SettingWithCopyWarning)
            fast = [
                (f.problem, f.column, f.index.tolist(), f.examples)
                for f in contract_findings(p, Invoices, exclude)
            ]
        pd.testing.assert_frame_equal(p.data, before)  # the parsed frame is not touched
        with monkeypatch.context() as m:
            m.setattr(pa.DataFrameSchema, "validate", on_a_copy)
            old = [
                (f.problem, f.column, f.index.tolist(), f.examples)
                for f in contract_findings(p, Invoices, exclude)
            ]
        assert fast == old
    assert {"negative_amount", "bad_value", "due_before_invoice"} <= {f[0] for f in fast}


# -- a whole load: text CSV and typed Parquet --------------------------------------------------
def _messy_ledger(n: int = 1_500) -> dict[str, pd.DataFrame]:
    """Invoices and transactions with padded ids, mixed-case kinds, copies, orphans,
    overpayments, payments before their invoice and future-dated rows; typed columns."""
    rng = np.random.default_rng(11)
    day0 = pd.Timestamp("2025-01-01")
    inv_date = day0 + pd.to_timedelta(rng.integers(0, 500, n), "D")
    inv = pd.DataFrame(
        {
            "invoice_id": [f" I{i:05d}" if i % 5 == 0 else f"I{i:05d}" for i in range(n)],
            "business_unit": "x",
            "customer_id": [["C1", " C2", "C3 ", "c4"][i % 4] for i in range(n)],
            "invoice_date": inv_date,
            "due_date": inv_date + pd.Timedelta(days=30),
            "amount": np.round(rng.uniform(10, 5_000, n), 2),
            "currency": "EUR",
            "disputed": rng.random(n) < 0.1,
        }
    )
    inv = pd.concat([inv, inv.iloc[[3, 8]]], ignore_index=True)  # exact copies
    m = 2_000
    pick = rng.integers(0, n, m)
    ids = inv["invoice_id"].to_numpy()[pick].astype(object)
    ids[::37] = None  # unapplied cash
    ids[5::101] = "I99999"  # orphans
    amount = np.round(inv["amount"].to_numpy()[pick] * rng.choice([0.3, 0.5, 1.2], m), 2)
    date = inv["invoice_date"].to_numpy()[pick] + pd.to_timedelta(rng.integers(-5, 90, m), "D")
    txn = pd.DataFrame(
        {
            "txn_id": [f"T{i}" for i in range(m)],
            "business_unit": "x",
            "customer_id": inv["customer_id"].to_numpy()[pick],
            "invoice_id": ids,
            "date": pd.to_datetime(date),
            "amount": amount,
            "kind": [["payment", " Payment", "CREDIT_NOTE", "write_off"][i % 4] for i in range(m)],
        }
    )
    txn = pd.concat([txn, txn.iloc[[10]]], ignore_index=True)
    return {"invoices": inv, "transactions": txn}


def test_the_same_messy_frames_as_csv_and_as_typed_parquet_load_the_same(tmp_path):
    frames = _messy_ledger()
    for kind in ("csv", "pq"):
        (tmp_path / kind).mkdir()
    for name, df in frames.items():
        text = df.copy()
        for col in text.select_dtypes("datetime").columns:
            text[col] = text[col].dt.strftime("%Y-%m-%d")
        text.to_csv(tmp_path / "csv" / f"{name}.csv", index=False)
        typed = df.copy()
        for col in typed.select_dtypes("datetime").columns:
            typed[col] = typed[col].dt.date  # date32, as the bench store holds them
        typed.to_parquet(tmp_path / "pq" / f"{name}.parquet", index=False)
    policy = {"unknown_invoice": "quarantine", "overpayment": "warn"}
    out = {}
    for kind in ("csv", "pq"):
        cfg = make_cfg(
            tmp_path / kind,
            as_of="2026-03-31",
            source_options={"frames": {"customers": "derive"}, "cache": "never"},
            validation_policy=policy,
        )
        out[kind] = load_frames(cfg)
    (a, ra), (b, rb) = out["csv"], out["pq"]
    for name in ("invoices", "transactions", "customers"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    cols = ["frame", "column", "problem", "policy", "rows", "amount", "examples"]
    problems = ra.problems[cols].copy()  # a CSV's rows count from 2 (its header is row 1)
    problems["examples"] = problems["examples"].str.replace(
        r"row (\d+)", lambda m: f"row {int(m.group(1)) - 1}", regex=True
    )
    pd.testing.assert_frame_equal(problems, rb.problems[cols])
    pd.testing.assert_frame_equal(
        ra.frames.drop(columns="source"), rb.frames.drop(columns="source")
    )
    found = problems.groupby("problem")["rows"].sum()
    assert found["duplicate_row"] == 3 and found["unknown_invoice"] == len(range(5, 2_000, 101))
    assert found["overpayment"] > 0 and found["payment_before_invoice"] > 0
    assert set(a["invoices"]["customer_id"]) == {"C1", "C2", "C3", "c4"}
    assert set(a["transactions"]["kind"]) == {"payment", "credit_note", "write_off"}
    assert a["invoices"]["invoice_id"].str.startswith("I").all()


# -- links and overpayments on positions -------------------------------------------------------
def _old_links(p, inv, dropped_ids, kept):
    ids = p.data["invoice_id"]
    known = set(inv["invoice_id"])
    cascade = (ids.isin(dropped_ids) & ~ids.isin(known)).to_numpy() & kept
    unknown = (ids.notna() & ~ids.isin(known) & ~ids.isin(dropped_ids)).to_numpy() & kept
    inv_date = ids.map(pd.Series(inv["invoice_date"].to_numpy(), index=inv["invoice_id"]))
    early = (p.data["date"] < inv_date).to_numpy() & kept
    return cascade, unknown, early


def _old_over(p, inv, kept):
    from arlib.schemas import SETTLING_KINDS

    d = p.data
    settling = d["kind"].isin(SETTLING_KINDS).to_numpy() & kept & d["invoice_id"].notna().to_numpy()
    sub = d.loc[settling, ["invoice_id", "date", "amount"]].copy()
    sub["_pos"] = np.flatnonzero(settling)
    sub = sub.sort_values(["invoice_id", "date", "_pos"], kind="stable")
    cum = sub.groupby("invoice_id")["amount"].cumsum()
    limit = sub["invoice_id"].map(pd.Series(inv["amount"].to_numpy(), index=inv["invoice_id"]))
    over = (cum > limit + 0.005).to_numpy()
    return np.sort(sub["_pos"].to_numpy()[over])


def _rows(found, problem):
    return next((f.index.tolist() for f in found if f.problem == problem), [])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_links_and_overpayments_equal_the_set_and_string_computation(seed):
    from arlib.io.canonical import Parsed
    from arlib.io.sources import ROW
    from arlib.io.validate import overpayments, transaction_links

    rng = np.random.default_rng(seed)
    n_inv, m = 300, 1_500
    inv = pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(n_inv)],
            "invoice_date": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 60, n_inv), "D"),
            "amount": np.round(rng.uniform(1, 100, n_inv), 2),
        },
        index=rng.permutation(1_000)[:n_inv],  # a kept subset keeps its labels
    )
    ids = np.array([f"I{i}" for i in rng.integers(0, n_inv + 40, m)], dtype=object)
    ids[rng.random(m) < 0.1] = None
    data = pd.DataFrame(
        {
            "invoice_id": ids,
            "date": pd.Timestamp("2025-01-20") + pd.to_timedelta(rng.integers(0, 60, m), "D"),
            "amount": np.round(rng.uniform(1, 60, m), 2),
            "kind": rng.choice(["payment", "credit_note", "write_off", "refund"], m),
            ROW: np.arange(2, m + 2),
        }
    )
    p = Parsed("transactions", "t.csv", data, data.drop(columns=[ROW]))
    dropped = {f"I{i}" for i in range(n_inv, n_inv + 20)}
    kept = rng.random(m) < 0.9
    cascade, unknown, early = _old_links(p, inv, dropped, kept)
    found = transaction_links(p, inv, dropped, kept)
    assert _rows(found, "invoice_quarantined") == np.flatnonzero(cascade).tolist() != []
    assert _rows(found, "unknown_invoice") == np.flatnonzero(unknown).tolist() != []
    assert _rows(found, "payment_before_invoice") == np.flatnonzero(early).tolist() != []
    over = overpayments(p, inv, kept)
    assert over.index.tolist() == _old_over(p, inv, kept).tolist() != []
    assert over.examples[0].startswith("row ") and "settled" in over.examples[0]
    empty = inv.iloc[:0]
    assert (
        _rows(transaction_links(p, empty, set(), kept), "unknown_invoice")
        == np.flatnonzero(data["invoice_id"].notna().to_numpy() & kept).tolist()
    )
    assert overpayments(p, empty, kept) is None


def test_rates_of_the_invoices_looked_up_once_equal_the_mapped_ones():
    from arlib.io.intake import _on_invoices

    inv_rate = pd.Series([1.0, 0.5, np.nan], index=["I1", "I2", "I3"])
    inv_cur = pd.Series(["EUR", "USD", "GBP"], index=inv_rate.index)
    ids = pd.Series(["I2", None, "I9", "I3", "I1", "I2"], index=range(10, 16), dtype=object)
    for rates, curs in [(inv_rate, inv_cur), (inv_rate.rename({"I3": None}), inv_cur)]:
        curs = curs.set_axis(rates.index)
        applied, rate, cur = _on_invoices(ids, rates, curs)
        assert applied.tolist() == ids.isin(rates.index).tolist()
        pd.testing.assert_series_equal(rate, ids.map(rates))
        pd.testing.assert_series_equal(cur, ids.map(curs))
    assert applied.tolist() == [True, True, False, False, True, True]  # None meets None: as before


# -- Parquet text read without hashing ids ------------------------------------------------------
def test_parquet_text_reads_as_arrow_gives_it_and_repeats_share_one_str(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from arlib.io.sources import _read_parquet

    n = 3_000
    kinds = ["payment", " Payment", None, "nan", "", "x\x00y"]
    table = pa.table(
        {
            "id": pa.array([f"T{i}" if i % 7 else None for i in range(n)], pa.string()),
            "kind": pa.array([kinds[i % len(kinds)] for i in range(n)], pa.string()),
            "big": pa.array([kinds[i % 3] for i in range(n)], pa.large_string()),
            "none": pa.array([None] * n, pa.string()),
            "amount": pa.array(np.arange(n, dtype=float)),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    got = _read_parquet(tmp_path / "t.parquet", "t.parquet")
    want = pq.read_table(tmp_path / "t.parquet").to_pandas()  # Arrow's own, deduplicated
    for col in want.columns:
        assert got[col].dtype == want[col].dtype, col
        assert got[col].tolist() == want[col].tolist(), col  # None stays None, "nan" text
    assert got["kind"][0] is got["kind"][len(kinds)]  # one str per distinct repeated value
    assert got["id"].iloc[1:].map(type).eq(str).sum() == n - 1 - (n - 1) // 7


# -- transactions' invoices looked up once ------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_kept_positions_equal_a_lookup_in_the_kept_invoices(seed):
    from arlib.io.intake import kept_positions
    from arlib.io.validate import invoice_positions

    rng = np.random.default_rng(seed)
    inv = pd.Series([f"I{i}" for i in rng.permutation(500)], dtype=object)
    ids = pd.Series([f"I{i}" for i in rng.integers(0, 560, 4_000)], dtype=object)
    ids[rng.random(4_000) < 0.1] = None
    kept = rng.random(500) < 0.8
    at = invoice_positions(ids, inv)
    want = invoice_positions(ids, inv[kept])
    assert kept_positions(at, kept).tolist() == want.tolist()
    assert (want >= 0).sum() > 0 and ((at >= 0) & (want < 0)).sum() > 0  # dropped ones
    assert kept_positions(None, kept) is None


def _load_both_ways(tmp_path, monkeypatch, frames, policy):
    """load_frames of the same CSV frames with the invoices looked up once, and as before
    (transactions' customers from a dict of the invoices, each check its own lookup)."""
    import arlib.io.canonical as canonical

    for name, df in frames.items():
        text = df.copy()
        for col in text.select_dtypes("datetime").columns:
            text[col] = text[col].dt.strftime("%Y-%m-%d")
        text.to_csv(tmp_path / f"{name}.csv", index=False)
    cfg = make_cfg(
        tmp_path,
        as_of="2026-03-31",
        source_options={"frames": {"customers": "derive"}, "cache": "never"},
        validation_policy=policy,
        output_dir=str(tmp_path / "out"),
    )
    fast = load_frames(cfg)
    with monkeypatch.context() as m:
        m.setattr(canonical, "invoice_positions", lambda ids, inv: None)  # the old path
        old = load_frames(cfg)
    return fast, old


def _same_load(fast, old):
    (a, ra), (b, rb) = fast, old
    for name in ("invoices", "transactions", "customers"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    pd.testing.assert_frame_equal(ra.problems, rb.problems)
    pd.testing.assert_frame_equal(ra.frames, rb.frames)
    for name, q in rb.quarantined.items():
        pd.testing.assert_frame_equal(ra.quarantined[name], q, check_exact=True)


def test_invoices_looked_up_once_load_as_each_check_looking_them_up(tmp_path, monkeypatch):
    frames = _messy_ledger()
    inv = frames["invoices"].drop_duplicates("invoice_id", ignore_index=True)  # unique ids
    bad = inv.index[::53]  # due before invoiced: quarantined, their payments cascade
    inv.loc[bad, "due_date"] = inv.loc[bad, "invoice_date"] - pd.Timedelta(days=3)
    txn = frames["transactions"].copy()
    txn.loc[txn.index[::9], "customer_id"] = None  # filled from the invoice
    frames = {"invoices": inv, "transactions": txn}
    policy = {"unknown_invoice": "quarantine", "overpayment": "warn"}
    policy["missing_value"] = "quarantine"  # unapplied cash without a customer
    fast, old = _load_both_ways(tmp_path, monkeypatch, frames, policy)
    _same_load(fast, old)
    found = fast[1].problems.groupby("problem")["rows"].sum()
    assert found["due_before_invoice"] == len(bad) and found["invoice_quarantined"] > 0
    assert found["unknown_invoice"] > 0 and found["overpayment"] > 0
    assert found["payment_before_invoice"] > 0 and found["duplicate_row"] == 1
    got = fast[0]["transactions"]
    assert got["customer_id"].notna().sum() > txn["customer_id"].notna().sum() * 0.9


def test_repeated_invoice_ids_take_the_old_path_and_load_the_same(tmp_path, monkeypatch):
    frames = _messy_ledger()  # two invoices copied: their ids repeat
    fast, old = _load_both_ways(tmp_path, monkeypatch, frames, {"overpayment": "warn"})
    _same_load(fast, old)
    assert fast[1].problems.groupby("problem")["rows"].sum()["duplicate_row"] == 3


def test_overpayment_order_equals_sorting_by_invoice_date_and_row():
    from arlib.io.validate import _by_key_date_row

    rng = np.random.default_rng(4)
    n = 5_000
    df = pd.DataFrame(
        {
            "_key": rng.integers(-1, 300, n),
            "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 40, n), "D"),
            "_pos": rng.permutation(n * 2)[:n],
        },
        index=rng.permutation(n),
    )
    df.loc[df.index[::97], "date"] = pd.NaT  # missing dates go last within their key
    want = df.sort_values(["_key", "date", "_pos"], kind="stable")
    got = df.iloc[_by_key_date_row(df["_key"], df["date"], df["_pos"])]
    pd.testing.assert_frame_equal(got, want)
