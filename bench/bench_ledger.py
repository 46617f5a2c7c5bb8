"""Benchmark 1: the ledger engine on a large group ledger, against the strongest peers.

Workload, over a synthetic Parquet store partitioned by business unit (``synth.py``): for every
unit, the open items and aging at ``as_of``, the aging at each of the ``months`` month-ends up to
``as_of``, and monthly invoicing and collections (all flows). Ours reads each unit on its own
(only the columns needed, other units' files skipped) into :class:`arlib.ledger.Ledger`; units
run on ``jobs`` threads. The peers compute the same aggregates over the same files in one query:
``duckdb`` (``peer_ledger.sql``, a range join), ``duckdb_fast`` (``peer_ledger_fast.sql``, spans
unnested into month-ends and an ASOF join, threads = 2), ``duckdb_segments``
(``peer_ledger_segments.sql``, segments of constant open amount from one window, threads = 2)
and ``polars`` (``peer_ledger_polars.py``, the segment formulation as a lazy polars query). Each side runs in a
fresh process so that its peak memory is its own; ``seconds`` is the work after imports,
``process_seconds`` the whole process.

Every peer's result is compared with ours to the cent before any timing is reported.

    python bench/bench_ledger.py --side ours --data outputs/bench/data/ledger_1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

AS_OF, MONTHS, THRESHOLDS = "2026-10-31", 36, (0, 30, 60, 90, 120)
COLUMNS = {
    "invoices": ["invoice_id", "invoice_date", "due_date", "amount"],
    # no txn_id: it only orders same-day transactions, which no figure here depends on
    "transactions": ["invoice_id", "date", "amount", "kind"],
}
FLOWS = ["invoiced", "collected", "credited", "written_off", "recovered"]


def month_end_dates(as_of: str = AS_OF, months: int = MONTHS) -> pd.DatetimeIndex:
    from arlib.ledger import trailing_month_ends

    return trailing_month_ends(as_of, months)


def _unit(root: Path, bu: str, dates) -> dict[str, pd.DataFrame]:
    from arlib.io import parquet_store
    from arlib.ledger import Ledger

    frames = parquet_store.read_frames(
        root, bu, COLUMNS, frames=("invoices", "transactions"), arrow_strings=True
    )
    led = Ledger(frames["invoices"], frames["transactions"], validate=False)
    out = {
        "aging": led.aging(AS_OF, THRESHOLDS)[["bucket", "amount", "count"]],
        "history": led.history(dates, THRESHOLDS),
        "flows": led.flows().reset_index(),
    }
    for df in out.values():
        df.insert(0, "bu", bu)
    return out


def ours(root: Path, jobs: int = 2) -> dict[str, pd.DataFrame]:
    """Every unit through the arlib engine, ``jobs`` units at a time."""
    from arlib.io import parquet_store

    dates = month_end_dates()
    with ThreadPoolExecutor(jobs) as pool:
        parts = list(pool.map(lambda bu: _unit(root, bu, dates), parquet_store.units(root)))
    return {
        k: pd.concat([p[k] for p in parts], ignore_index=True)
        for k in ("aging", "history", "flows")
    }


PEERS = ("duckdb", "duckdb_fast", "duckdb_segments", "polars")
SQL = {
    "duckdb": "peer_ledger.sql",
    "duckdb_fast": "peer_ledger_fast.sql",
    "duckdb_segments": "peer_ledger_segments.sql",
}


def peer_sql(root: Path, name: str = "duckdb") -> str:
    dates = month_end_dates()
    ends = ", ".join(f"DATE '{d:%Y-%m-%d}'" for d in dates)
    buckets = " ".join(f"WHEN dpd <= {t} THEN {i}" for i, t in enumerate(THRESHOLDS))
    return (
        Path(__file__)
        .with_name(SQL[name])
        .read_text()
        .format(
            root=root.as_posix(),
            ends=ends,
            buckets=buckets,
            last=len(THRESHOLDS),
            as_of=AS_OF,
            first_start=f"{dates[0]:%Y-%m-01}",
            as_of_start=f"{dates[-1]:%Y-%m-01}",
        )
    )


def peer(root: Path, name: str = "duckdb") -> dict[str, pd.DataFrame]:
    """The same aggregates as one DuckDB query (``duckdb``: all cores; ``duckdb_fast`` and
    ``duckdb_segments``: 2 threads) or one polars query (``polars``)."""
    from arlib.ledger import bucket_labels

    labels = bucket_labels(THRESHOLDS)
    if name == "polars":
        import peer_ledger_polars

        return peer_ledger_polars.run(root, month_end_dates(), THRESHOLDS, labels)
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if name != "duckdb":
        con.execute("SET threads = 2")
    res = con.sql(peer_sql(root, name)).df()
    hist = res[res["what"] == "history"].assign(
        bucket=lambda d: d["bucket"].map(dict(enumerate(labels)))
    )
    hist = hist.rename(columns={"period": "month_end"})[
        ["bu", "month_end", "bucket", "amount", "count"]
    ]
    flows = res[res["what"] == "flows"].rename(columns={"period": "month"})
    flows = flows.rename(columns={"amount": "invoiced"})[["bu", "month", *FLOWS]]
    aging = hist[hist["month_end"] == pd.Timestamp(AS_OF)].drop(columns="month_end")
    return {"aging": aging, "history": hist, "flows": flows}


def _tidy(res: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Both sides in one shape: non-empty cells only, cents as integers, sorted."""
    out = {}
    for name in ("aging", "history"):
        df = res[name].copy()
        df = df[df["count"] > 0]
        df["bucket"] = df["bucket"].astype(str)
        keys = ["bu", "bucket"] if name == "aging" else ["bu", "month_end", "bucket"]
        if name == "history":
            df["month_end"] = pd.to_datetime(df["month_end"]).astype("datetime64[ns]")
        out[name] = pd.DataFrame(
            {
                **{k: df[k].to_numpy() for k in keys},
                "cents": (df["amount"] * 100).round().astype("int64").to_numpy(),
                "count": df["count"].astype("int64").to_numpy(),
            }
        ).sort_values(keys, ignore_index=True)
    fl = res["flows"].copy()
    month = fl.pop("period") if "period" in fl else fl.pop("month")
    fl.insert(1, "month", pd.PeriodIndex(pd.to_datetime(month.astype(str)), freq="M").astype(str))
    for c in FLOWS:
        fl[c] = (fl[c] * 100).round().astype("int64")
    fl = fl[(fl[FLOWS] != 0).any(axis=1)]
    out["flows"] = fl.sort_values(["bu", "month"], ignore_index=True)
    return out


def compare(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> str:
    """'equal to the cent', or what differs (first rows)."""
    ta, tb = _tidy(a), _tidy(b)
    for name in ta:
        if not ta[name].equals(tb[name]):
            diff = ta[name].merge(tb[name], how="outer", indicator=True).query("_merge != 'both'")
            return f"{name} differs in {len(diff)} rows, e.g. {diff.head(4).to_dict('records')}"
    return "equal to the cent"


def _child(side: str, data: Path, out: Path | None, jobs: int) -> None:
    t0 = time.perf_counter()
    res = ours(data, jobs) if side == "ours" else peer(data, side)
    seconds = time.perf_counter() - t0
    if out:
        pd.to_pickle(res, out)
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"seconds": seconds, "peak_mib": peak_mib(), "cpu_seconds": use.ru_utime + use.ru_stime}
        )
    )


def peak_mib() -> float:
    """This process's peak RSS. ``VmHWM`` counts from this program's start; ``ru_maxrss`` would
    carry over the peak of the (large) parent it was forked from."""
    try:
        line = next(
            ln
            for ln in Path("/proc/self/status").read_text().splitlines()
            if ln.startswith("VmHWM:")
        )
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(side: str, data: Path, out: Path | None = None, jobs: int = 2) -> dict:
    """One fresh process: compute seconds, whole-process seconds and peak memory (MiB)."""
    cmd = [sys.executable, __file__, "--side", side, "--data", str(data), "--jobs", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd + (["--out", str(out)] if out else []), capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(f"{side} failed: {proc.stderr[-2000:]}")
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict(rec, process_seconds=time.perf_counter() - t0)


def _generate(data_root: Path, n: int, units: int) -> Path:
    """The synthetic store, generated in its own process (its memory is not the benchmark's)."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import synth; from pathlib import Path; "
        f"print(synth.ensure(Path({str(data_root)!r}), {n}, n_units={units}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"generating {n:,} invoices failed: {proc.stderr[-2000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {
        "seconds": round(med["seconds"], 3),
        "peak_mib": round(max(r["peak_mib"] for r in runs), 1),
        "cpu_seconds": round(med["cpu_seconds"], 2),
        "process_seconds": round(med["process_seconds"], 3),
        "runs": [round(r["seconds"], 3) for r in runs],
    }


def run(
    data_root: Path,
    sizes=(1_000_000, 10_000_000),
    repeats: int = 3,
    units: int = 24,
    jobs: int = 2,
    log=print,
    peers: tuple[str, ...] = PEERS,
) -> list[dict]:
    """One record per size: ours against every peer, runs interleaved (ours, then each peer, in
    every repeat), medians; each peer's result checked against ours to the cent first. The
    record's ``peer`` is the fastest peer whose result equals ours; ``ratio`` is ours / it."""
    records = []
    tmp = data_root.parent / "ledger_results"  # the store itself is read only
    tmp.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        t0 = time.perf_counter()
        data = _generate(data_root, n, units)
        log(f"ledger {n:,}: data ready in {time.perf_counter() - t0:.0f} s ({data})")
        sides = ("ours", *peers)
        runs = {s: [] for s in sides}
        load = [os.getloadavg()]
        for i in range(repeats):
            for side in sides:
                runs[side].append(
                    measure(side, data, tmp / f"{side}.pkl" if i == 0 else None, jobs)
                )
            load.append(os.getloadavg())
        ours_res = pd.read_pickle(tmp / "ours.pkl")
        stats = {s: _median(rs) for s, rs in runs.items()}
        for s in peers:
            stats[s]["check"] = compare(ours_res, pd.read_pickle(tmp / f"{s}.pkl"))
        equal = [s for s in peers if stats[s]["check"] == "equal to the cent"]
        best = min(equal or peers, key=lambda s: stats[s]["seconds"])
        me = stats["ours"]
        rec = {
            "name": "ledger_engine",
            "size": n,
            "seconds": me["seconds"],
            "peer": best,
            "best_peer": best,
            "peer_seconds": stats[best]["seconds"],
            "ratio": round(me["seconds"] / stats[best]["seconds"], 3),
            "peak_mib": me["peak_mib"],
            "peer_peak_mib": stats[best]["peak_mib"],
            "process_seconds": me["process_seconds"],
            "cpu_seconds": me["cpu_seconds"],
            "peer_cpu_seconds": stats[best]["cpu_seconds"],
            "peer_process_seconds": stats[best]["process_seconds"],
            "repeats": repeats,
            "units": units,
            "jobs": jobs,
            "check": stats[best]["check"],
            "peers": {s: stats[s] for s in peers},
            "runs": {s: stats[s]["runs"] for s in sides},
            "load_average_1min": [round(x[0], 2) for x in load],
        }
        log(
            f"ledger {n:,}: ours {me['seconds']} s / {me['peak_mib']} MiB; "
            + "; ".join(
                f"{s} {stats[s]['seconds']} s / {stats[s]['peak_mib']} MiB ({stats[s]['check']})"
                for s in peers
            )
            + f"; ratio to {best} {rec['ratio']}"
        )
        records.append(rec)
    return records


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--side", choices=["ours", *PEERS], required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path)
    p.add_argument("--jobs", type=int, default=2)
    a = p.parse_args()
    _child(a.side, a.data, a.out, a.jobs)
