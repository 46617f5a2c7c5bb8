"""Benchmark ``big_csv``: one unit's load from a big multi-unit CSV, against pandas reading it whole.

The file: the synthetic group's invoices (:mod:`synth`, 100 units of Zipf-like sizes) as one
CSV of ``n`` rows. Ours: ``arlib.io.load_ledger`` of one unit (the largest, ``bu00``) with the
parse-once cache (:mod:`arlib.io.filecache`): first the run that parses the file (``build``),
then a unit's load once it is parsed (``seconds``, what each further unit costs). The peer:
``pandas.read_csv`` of the whole file then the unit's rows (what every unit paid before, minus
our checks). Also recorded: our load with ``cache: never`` (the plain read, the old way). Each
side is a fresh process; ``peak_mib`` is its peak resident memory (VmHWM).

    python bench/bench_bigcsv.py --rows 2500000      # prints one JSON record
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNIT = "bu00"
OPTS = {"frames": {"transactions": "none", "customers": "derive"}}


def make_csv(data_root: Path, rows: int, units: int = 100) -> Path:
    """The CSV for these settings (generated once, reused)."""
    import pyarrow.csv as pacsv
    import synth

    path = data_root / f"bigcsv_{rows}_{units}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        table = synth._tables(rows, units, 48, "2026-10-31", 7)["invoices"]
        pacsv.write_csv(table, tmp)
        os.replace(tmp, path)
    return path


def _child(side: str, path: Path, unit: str) -> dict:
    import pandas as pd
    from bench_ledger import peak_mib

    from arlib import io
    from arlib.config import validate

    t0 = time.perf_counter()  # after the imports: the reading, not the start-up, is compared
    if side == "pandas":
        df = pd.read_csv(path)
        rows = int((df["business_unit"] == unit).sum())
    else:
        opts = dict(OPTS, cache="never" if side == "plain" else "auto")
        cfg = validate(
            {
                "business_unit": unit,
                "as_of": "2026-10-31",
                "currency": "EUR",
                "source": str(path),
                "source_options": opts,
            }
        )
        rows = len(io.load_ledger(cfg).invoices)
    return {"seconds": time.perf_counter() - t0, "peak_mib": peak_mib(), "rows": rows}


def _measure(side: str, path: Path, cache: Path, unit: str = UNIT) -> dict:
    env = dict(os.environ, ARLIB_CACHE_DIR=str(cache))
    cmd = [sys.executable, __file__, "--child", side, "--path", str(path), "--unit", unit]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"big_csv {side} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(data_root: Path, rows: int = 2_500_000, repeats: int = 2) -> dict:
    """The ``big_csv`` record (see the module docstring)."""
    path = make_csv(data_root, rows)
    cache = data_root / "bigcsv_cache"
    shutil.rmtree(cache, ignore_errors=True)
    build = _measure("ours", path, cache)  # parses the file once, then loads the unit
    runs = {"ours": [], "pandas": [], "plain": []}
    for _ in range(repeats):  # alternating, so that load on this shared machine hits both
        for side in runs:
            runs[side].append(_measure(side, path, cache))
    rows_unit = {r["rows"] for side in ("ours", "plain") for r in runs[side]}
    if len(rows_unit) != 1 or build["rows"] not in rows_unit:
        raise RuntimeError(f"the cached and plain loads read different rows: {rows_unit}")

    def med(side, key):
        return round(statistics.median(r[key] for r in runs[side]), 2)

    return {
        "name": "big_csv",
        "size": rows,
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "unit": UNIT,
        "unit_invoices": build["rows"],
        "seconds": med("ours", "seconds"),
        "peer": "pandas.read_csv of the whole file, then the unit's rows",
        "peer_seconds": med("pandas", "seconds"),
        "ratio": round(med("ours", "seconds") / med("pandas", "seconds"), 3),
        "peak_mib": med("ours", "peak_mib"),
        "peer_peak_mib": med("pandas", "peak_mib"),
        "memory_ratio": round(med("ours", "peak_mib") / med("pandas", "peak_mib"), 3),
        "build_seconds": round(build["seconds"], 2),
        "build_peak_mib": round(build["peak_mib"], 1),
        "plain_seconds": med("plain", "seconds"),
        "plain_peak_mib": med("plain", "peak_mib"),
        "runs": runs,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", choices=("ours", "plain", "pandas"))
    p.add_argument("--path", type=Path)
    p.add_argument("--unit", default=UNIT)
    p.add_argument("--rows", type=int, default=2_500_000)
    p.add_argument("--data", type=Path, default=HERE.parent / "outputs" / "bench" / "data")
    args = p.parse_args()
    sys.path.insert(0, str(HERE))
    if args.child:
        print(json.dumps(_child(args.child, args.path, args.unit)))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    print(json.dumps({k: v for k, v in run(args.data, args.rows).items() if k != "runs"}))


if __name__ == "__main__":
    main()
