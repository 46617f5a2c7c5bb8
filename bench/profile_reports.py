"""Profile a unit's reports outside papermill: each notebook's code cells, run in order in this
process under cProfile, with the unit's params (``defaults.yaml`` + ``<unit>.yaml``).

What is timed is what the report's cells call (arlib, tables, charts), without the kernel,
papermill or the HTML export. As in a run, the unit is loaded once first (timed apart) into a
snapshot that the notebooks read, and they share one output folder (the Excel pack's sheets
are kept and the pack written once at the end, as in a run). Per notebook it prints the slowest cells, then the top functions
by own time and by cumulative time (arlib's only for the latter), and the process's peak RSS.

    python bench/profile_reports.py --params /path/params --bu bu00 --notebooks health --top 25
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io as _io
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
NOTEBOOKS = ("health", "forecast", "provision")


def unit_params(params: Path, unit: str) -> dict:
    """The unit's parameters as a run gives them: defaults, then the unit's own file."""
    import yaml

    values = {}
    for name in ("defaults.yaml", f"{unit}.yaml"):
        if (params / name).exists():
            values.update(yaml.safe_load((params / name).read_text()) or {})
    values.setdefault("business_unit", unit)
    return values


def snapshot(values: dict, folder: Path) -> Path:
    """Load the unit once and write its snapshot, as the runner does before its notebooks."""
    from arlib import io
    from arlib.config import validate
    from arlib.io.snapshot import write_snapshot

    t0 = time.perf_counter()
    cfg = validate(values)
    write_snapshot(io.load_ledger(cfg), folder, cfg)
    print(f"load and snapshot: {time.perf_counter() - t0:.1f} s")
    return folder


def run_cells(notebook: str, values: dict, out_dir: Path) -> tuple[list, pstats.Stats]:
    """Execute ``notebook``'s code cells with ``values`` injected after its parameters cell;
    ``[(seconds, first line), ...]`` per cell and the profile of them all."""
    import matplotlib
    import nbformat

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = nbformat.read(PROJECT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    ns: dict = {"__name__": "__main__"}
    cells, prof = [], cProfile.Profile()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            exec(src, ns)
            ns.update(values, output_dir=str(out_dir))
            continue
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(_io.StringIO()):  # displays (records, tables) not shown
            prof.enable()
            exec(compile(src, f"<{notebook} cell>", "exec"), ns)
            prof.disable()
        cells.append((time.perf_counter() - t0, src.splitlines()[0][:110]))
        plt.close("all")
    return cells, pstats.Stats(prof)


def _top(stats: pstats.Stats, key: str, n: int, only: str | None = None) -> str:
    buf = _io.StringIO()
    stats.stream = buf
    stats.sort_stats(key).print_stats(*([only] if only else []), n)
    lines = buf.getvalue().splitlines()
    start = next(i for i, x in enumerate(lines) if "ncalls" in x)
    return "\n".join(lines[start:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--params", type=Path, required=True, help="params folder")
    p.add_argument("--bu", required=True)
    p.add_argument("--notebooks", nargs="+", default=list(NOTEBOOKS))
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--dump", type=Path, help="folder for the raw .prof files")
    args = p.parse_args(argv)
    from arlib.report import excel

    os.chdir(PROJECT)
    values = unit_params(args.params, args.bu)
    tmp = Path(tempfile.mkdtemp(prefix="arlib-profile-"))
    values["snapshot"] = str(snapshot(values, tmp / "snapshot"))
    total = 0.0
    excel.defer_pack(tmp)  # as in a run: the notebooks' sheets are kept, the pack written once
    for name in args.notebooks:
        t0 = time.perf_counter()
        cells, stats = run_cells(name, values, tmp)
        seconds = time.perf_counter() - t0
        total += seconds
        print(f"\n===== {name}: {seconds:.1f} s (cells {sum(c[0] for c in cells):.1f} s)")
        for s, line in sorted(cells, reverse=True)[:12]:
            print(f"{s:7.2f} s  {line}")
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            stats.dump_stats(args.dump / f"{name}.prof")
        print(f"\n-- {name}: top by own time")
        print(_top(stats, "tottime", args.top))
        print(f"\n-- {name}: top arlib functions by cumulative time")
        print(_top(stats, "cumulative", args.top, "arlib"))
    t0 = time.perf_counter()
    excel.finish_pack(tmp)
    print(f"\nExcel pack written once: {time.perf_counter() - t0:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nall: {total:.1f} s, peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
