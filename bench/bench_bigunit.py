"""Benchmark ``big_unit``: a big business unit's three reports against a demo unit's.

Ours: ``arlib run --bu bu00 --notebooks health forecast provision`` on the synthetic Parquet
store of ``size`` invoices (:mod:`synth`; ``bu00`` holds ~12% of them, 1.19 M at 10 M), read with
``source_options: {frames: {customers: derive}}``. The peer: the same command on the demo unit
``de`` (seed 7, ~11 k invoices). Both are the whole command as a user types it (plan, data loaded
once, three kernels, HTML, kpis, manifest, index), each in a fresh process; the runs alternate
and the record holds medians. The ratio says how much a report's cost grows with the unit's size
(the target: the fixed cost dominates, ratio <= 2.5); ``peak_mib`` is the largest single process
(client, kernel) of the big unit's run. ``breakdown`` says where each run's time and memory go:
per notebook its seconds (from the manifest) and the kernel's peak RSS while it ran, and per
process role its peak (``client``: the command, which loads and snapshots the unit's data and
writes the reports; ``kernel``: the unit's kernel) with the client's peak while it loaded
(``client_load_mib``, before the kernel started). The seconds outside the notebooks
(``outside_notebooks_s``: the whole command less the notebooks' seconds) are split by phase
(``phase_seconds``, from the manifest: ``load``, ``snapshot``, ``kernel_start`` (inside the
first notebook's seconds), ``pack`` (what is left of the Excel pack to wait for once the
customer reports are done), ``export``, ``export_customers``, ``kpis``) and the rest
(``other_s``: the command's start, planning, index, manifest, publishing and exit).

    python bench/bench_bigunit.py --size 10000000 --repeats 1     # prints one JSON record
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
UNIT = "bu00"
DEMO_UNIT = "de"
NOTEBOOKS = ["health", "forecast", "provision"]
AS_OF = "2026-10-31"


def big_params(root: Path, store: Path, unit: str = UNIT) -> Path:
    """A params folder of one unit of the synthetic store (customers derived from invoices)."""
    params = root / f"params_big_{store.name}"
    params.mkdir(parents=True, exist_ok=True)
    (params / "defaults.yaml").write_text(
        f'as_of: "{AS_OF}"\nsource: "{store.resolve()}"\n'
        "source_options: {frames: {customers: derive}}\n"
    )
    (params / f"{unit}.yaml").write_text("currency: EUR\n")
    return params


def run(data_root: Path, root: Path, size: int = 10_000_000, repeats: int = 1) -> dict:
    """The ``big_unit`` record: ``bu00`` of the ``size`` store against demo unit ``de``."""
    import bench_ledger
    import bench_reports as br

    store = bench_ledger._generate(data_root, size, 24)  # reused while its spec matches
    root.mkdir(parents=True, exist_ok=True)
    big = br._arlib(big_params(root, store), root / "out_big", 1, [UNIT], NOTEBOOKS)
    small = br._arlib(br.demo_params(root, DEMO_UNIT), root / "out_demo", 1, [DEMO_UNIT], NOTEBOOKS)
    ours, peer, loads = [], [], []
    for _ in range(repeats):
        loads.append([round(x, 2) for x in os.getloadavg()])
        ours.append(br._timed(big, PROJECT))
        ours[-1]["breakdown"] = breakdown(ours[-1], root / "out_big", UNIT)
        peer.append(br._timed(small, PROJECT))
        peer[-1]["breakdown"] = breakdown(peer[-1], root / "out_demo", DEMO_UNIT)
    rec = br._record(
        "big_unit",
        f"{UNIT} of the {size:,}-invoice store: health, forecast, provision",
        ours,
        f"demo unit {DEMO_UNIT}: the same three reports",
        peer,
        repeats=repeats,
        load_average=loads,
        target="ratio <= 2.5, peak_mib < 1536",
    )
    rec["invoices"] = _invoices(store, UNIT)
    rec["breakdown"] = [r["breakdown"] for r in ours]
    rec["peer_breakdown"] = [r["breakdown"] for r in peer]
    return rec


def breakdown(watched: dict, out: Path, unit: str) -> dict:
    """Where one run's time and memory went (see the module docstring), from
    :func:`bench_reports.watch`'s record and the run's manifest."""
    import bench_reports as br

    manifest = json.loads((out / AS_OF / "manifest.json").read_text())
    entry = next(u for u in manifest["units"] if u["business_unit"] == unit)
    ran = entry["notebook_seconds"]  # in run order: the reports, then the customer reports
    order = [*NOTEBOOKS, *sorted(set(ran) - set(NOTEBOOKS))]
    seconds = {k: ran[k] for k in order if k in ran}
    procs = watched["processes"]
    client = next(p for p in procs if p["role"] == "client")
    kernels = [p for p in procs if p["role"] == "kernel"]
    start = min((k["first_s"] for k in kernels), default=watched["seconds"])
    before = [mib for when, pid, mib in watched["samples"] if pid == client["pid"] and when < start]
    peaks = br.window_peaks(watched["samples"], {k["pid"] for k in kernels}, start, seconds)
    by_role = {}
    for p in procs:
        by_role[p["role"]] = max(by_role.get(p["role"], 0.0), p["peak_mib"])
    phases = entry.get("phase_seconds") or {}
    outside = watched["seconds"] - sum(seconds.values())
    counted = sum(v for k, v in phases.items() if k != "kernel_start")
    return {
        "notebook_seconds": seconds,
        "outside_notebooks_s": round(outside, 1),
        "phase_seconds": phases,
        "other_s": round(outside - counted, 1),
        "kernel_peak_mib_by_notebook": peaks,
        "peak_mib_by_role": by_role,
        "client_load_mib": max(before, default=0.0),
        "load_seconds": round(start, 1),
        "peak_role": max(by_role, key=by_role.get),
    }


def _invoices(store: Path, unit: str) -> int:
    import pyarrow.dataset as ds

    part = ds.dataset(store / "invoices", format="parquet", partitioning="hive")
    return part.count_rows(filter=ds.field("business_unit") == unit)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="big_unit benchmark -> one JSON record")
    p.add_argument("--size", type=int, default=10_000_000)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", type=Path, default=PROJECT / "outputs" / "bench")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    rec = run(args.out / "data", args.out / "bigunit", args.size, args.repeats)
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
