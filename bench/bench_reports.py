"""Benchmarks 2 and 3: the fixed cost of one business-unit report, and batches in parallel.

Both run the real ``arlib run`` command (fresh process: plan, kernel, notebook, HTML export,
kpis, manifest, index) on a store of small units.

Report overhead is the fixed cost of one unit's report, so its notebook has no content: a copy
of the project where ``notebooks/`` holds one report made of the health report's title and
parameters cell plus ``cfg = arlib.config.load(globals())`` (the preamble every report runs),
run through ``arlib run`` exactly as a user types it. The peer is a bare papermill run (Python
API, fresh process) of a one-cell notebook that only does ``import arlib``. With
``notebooks=("health",)`` the real health report is timed instead (content included).

Batch: ``units`` units of real reports with ``--jobs 2`` against ``--jobs 1``. Runs of the two
sides alternate; medians.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

AS_OF = "2026-10-31"
BARE = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "bare",
            "metadata": {},
            "outputs": [],
            "source": "import arlib",
        }
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}
PEER_CODE = (
    "import sys, papermill as pm; pm.execute_notebook(sys.argv[1], sys.argv[2], kernel_name='python3', "
    "progress_bar=False)"
)


def setup(root: Path, units: int = 16, customers: int = 12) -> Path:
    """A demo store of ``units`` small units and its params folder (reused while it exists)."""
    from arlib import demo, io

    params = root / f"params_{units}"
    if (params / "defaults.yaml").exists():
        return params
    names = [f"u{i:02d}" for i in range(units)]
    specs = list(demo.UNITS.values())
    units_spec = {
        n: dataclasses.replace(specs[i % len(specs)], customers=customers)
        for i, n in enumerate(names)
    }
    frames = demo.generate(seed=3, units=units_spec, start="2024-07-01", end=AS_OF)
    store = io.write_store(frames, root / f"store_{units}.sqlite")
    params.mkdir(parents=True, exist_ok=True)
    for n in names:
        (params / f"{n}.yaml").write_text(f"currency: {units_spec[n].currency}\n")
    (params / "defaults.yaml").write_text(f'as_of: "{AS_OF}"\nsource: "{store.resolve()}"\n')
    return params


def watch(cmd: list[str], interval: float = 0.2) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds of it and every process under it (pool workers
    behind a fork server and kernels included, sampled every ``interval`` s) and the largest
    RSS any one of them reached.

    ``processes`` lists each process seen: its ``role`` (``client``: the command itself;
    ``kernel``: a Jupyter kernel; ``worker``: any other), its ``peak_mib`` and when it was first
    and last seen (seconds from the start); ``samples`` their RSS over time
    (``[seconds, pid, MiB]``), from which :func:`window_peaks` gives each notebook's peak."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cpu, peak, top = {}, {}, psutil.Process(proc.pid)
    seen, samples = {}, []
    while proc.poll() is None:
        now = time.perf_counter() - t0
        for p in [top, *top.children(recursive=True)]:
            try:
                t, rss = p.cpu_times(), p.memory_info().rss
                if p.pid not in seen:
                    seen[p.pid] = {"role": _role(p, top), "first_s": now}
            except psutil.Error:  # ended between listing and reading
                continue
            cpu[p.pid], peak[p.pid] = t.user + t.system, max(peak.get(p.pid, 0), rss)
            seen[p.pid]["last_s"] = now
            samples.append([round(now, 2), p.pid, round(rss / 2**20, 1)])
        time.sleep(interval)
    err = proc.stderr.read()
    processes = [
        dict(pid=pid, peak_mib=round(peak[pid] / 2**20, 1), **info) for pid, info in seen.items()
    ]
    return {
        "seconds": time.perf_counter() - t0,
        "code": proc.returncode,
        "err": err[-2000:],
        "cpu_seconds": sum(cpu.values()),
        "peak_mib": max(peak.values(), default=0) / 2**20,
        "processes": processes,
        "samples": samples,
    }


def _role(p, top) -> str:
    if p.pid == top.pid:
        return "client"
    return "kernel" if any("ipykernel" in a for a in p.cmdline()) else "worker"


def window_peaks(
    samples: list, pids: set[int], start: float, seconds: dict[str, float]
) -> dict[str, float]:
    """The largest RSS (MiB) of processes ``pids`` sampled in each consecutive window:
    ``seconds`` in run order (e.g. a unit's ``notebook_seconds``), the first from ``start``.

    >>> s = [[1, 9, 100.0], [2, 9, 300.0], [2, 8, 900.0], [4, 9, 200.0]]
    >>> window_peaks(s, {9}, 0.5, {"a": 2, "b": 3})
    {'a': 300.0, 'b': 200.0}
    """
    out, t = {}, start
    for name, s in seconds.items():
        inside = [mib for when, pid, mib in samples if pid in pids and t <= when < t + s]
        out[name] = max(inside, default=0.0)
        t += s
    return out


def _timed(cmd: list[str], cwd: Path) -> dict:
    """:func:`watch` in a small process of its own (so that no benchmark state is inherited)."""
    proc = subprocess.run([sys.executable, __file__, *cmd], cwd=cwd, capture_output=True, text=True)
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    if rec["code"]:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {rec['code']}: {rec['err']}")
    return rec


def _arlib(
    params: Path, out: Path, jobs: int, units: list[str] | None, notebooks: list[str]
) -> list[str]:
    cmd = [
        str(Path(sys.executable).with_name("arlib")),
        "run",
        "--params",
        str(params),
        "--out-dir",
        str(out),
        "--jobs",
        str(jobs),
        "--no-progress",
        "--notebooks",
        *notebooks,
    ]
    return cmd + (["--bu", *units] if units else [])


def _record(name, size, ours: list[dict], peer_name, peer: list[dict], **extra) -> dict:
    med, pmed = (statistics.median(r["seconds"] for r in runs) for runs in (ours, peer))
    return {
        "name": name,
        "size": size,
        "seconds": round(med, 3),
        "peer": peer_name,
        "peer_seconds": round(pmed, 3),
        "ratio": round(med / pmed, 3),
        "peak_mib": round(max(r["peak_mib"] for r in ours), 1),
        "peer_peak_mib": round(max(r["peak_mib"] for r in peer), 1),
        "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in ours), 2),
        "peer_cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in peer), 2),
        "runs": {
            "ours": [round(r["seconds"], 2) for r in ours],
            "peer": [round(r["seconds"], 2) for r in peer],
        },
        **extra,
    }


def fixed_cost_project(root: Path, project: Path) -> Path:
    """A project folder whose only report is the preamble every report runs (title, the health
    report's parameters cell, ``cfg = arlib.config.load(globals())``) and nothing else."""
    import nbformat

    health = nbformat.read(project / "notebooks" / "health.ipynb", as_version=4)
    title = health.cells[0]
    params_cell = next(c for c in health.cells if "parameters" in c.metadata.get("tags", []))
    nb = nbformat.v4.new_notebook(metadata=health.metadata)
    nb.cells = [
        title,
        params_cell,
        nbformat.v4.new_code_cell("import arlib\n\ncfg = arlib.config.load(globals())"),
        nbformat.v4.new_markdown_cell(
            "## Fixed cost\n\nNo content: this report measures the runner alone."
        ),
    ]
    for i, c in enumerate(nb.cells):
        c["id"] = f"fixed-{i}"
    fixed = root / "fixed_project"
    (fixed / "notebooks").mkdir(parents=True, exist_ok=True)
    (fixed / "params").mkdir(exist_ok=True)
    nbformat.write(nb, fixed / "notebooks" / "report.ipynb")
    return fixed


def overhead(root: Path, project: Path, repeats: int = 5, notebooks=("fixed",)) -> dict:
    """One unit's report through ``arlib run`` vs a bare papermill run that imports arlib;
    ``notebooks=("fixed",)`` (default) times the content-free report of :func:`fixed_cost_project`."""
    params = setup(root)
    bare = root / "bare.ipynb"
    bare.write_text(json.dumps(BARE))
    fixed = list(notebooks) == ["fixed"]
    cwd = fixed_cost_project(root, project) if fixed else project
    cmd = _arlib(
        params, root / "out_overhead", 1, ["u00"], ["report"] if fixed else list(notebooks)
    )
    ours, peer = [], []
    for _ in range(repeats):
        ours.append(_timed(cmd, cwd))
        peer.append(
            _timed([sys.executable, "-c", PEER_CODE, str(bare), str(root / "bare_out.ipynb")], cwd)
        )
    size = (
        "1 unit, fixed cost (content-free report)"
        if fixed
        else f"1 unit, notebooks: {' '.join(notebooks)}"
    )
    return _record("report_overhead", size, ours, "papermill bare notebook", peer, repeats=repeats)


#: the peer of unit_reports: three content-free notebooks through bare papermill, one process
PEER3_CODE = (
    "import sys, papermill as pm\n"
    "for i in range(3): pm.execute_notebook(sys.argv[1], sys.argv[2] + f'_{i}.ipynb', "
    "kernel_name='python3', progress_bar=False)"
)


def demo_params(root: Path, unit: str) -> Path:
    """The demo store (seed 7, as ``make report`` builds it) and a params folder of one unit."""
    from arlib import demo, io

    params = root / f"params_demo_{unit}"
    if (params / "defaults.yaml").exists():
        return params
    store = io.write_store(demo.generate(seed=7), root / "demo.sqlite")
    params.mkdir(parents=True, exist_ok=True)
    currency = demo.UNITS[unit].currency
    (params / "defaults.yaml").write_text(f'as_of: "{AS_OF}"\nsource: "{store.resolve()}"\n')
    (params / f"{unit}.yaml").write_text(f"currency: {currency}\n")
    return params


def unit_reports(root: Path, project: Path, unit: str = "cn", repeats: int = 2) -> dict:
    """One demo unit's three reports through ``arlib run`` (plan, data loaded once, three
    kernels, HTML, kpis, manifest, index, publication) against three content-free notebooks
    through bare papermill in one process; runs alternate, medians."""
    params = demo_params(root, unit)
    bare = root / "bare.ipynb"
    bare.write_text(json.dumps(BARE))
    cmd = _arlib(params, root / "out_unit_reports", 1, [unit], ["health", "forecast", "provision"])
    ours, peer = [], []
    for _ in range(repeats):
        ours.append(_timed(cmd, project))
        peer.append(
            _timed([sys.executable, "-c", PEER3_CODE, str(bare), str(root / "bare3")], project)
        )
    return _record(
        "unit_reports",
        f"demo unit {unit}: health, forecast, provision",
        ours,
        "papermill: 3 bare notebooks",
        peer,
        repeats=repeats,
    )


def batch(
    root: Path, project: Path, units: int = 16, repeats: int = 3, notebooks=("health",)
) -> dict:
    """``units`` units with ``--jobs 2`` (ours) against ``--jobs 1`` (peer); ratio = jobs2 / jobs1.

    Both write to the same output folder, ``--jobs 1`` first, as a monthly rerun does: the pool
    then starts the units longest first by the durations the previous run recorded."""
    params = setup(root, units)
    out = root / "out_batch"
    two, one = [], []
    for _ in range(repeats):
        one.append(_timed(_arlib(params, out, 1, None, list(notebooks)), project))
        two.append(_timed(_arlib(params, out, 2, None, list(notebooks)), project))
    rec = _record(
        "batch_jobs2",
        f"{units} units, notebooks: {' '.join(notebooks)}",
        two,
        "arlib run --jobs 1",
        one,
        repeats=repeats,
    )
    rec["speedup"] = round(1 / rec["ratio"], 3)
    rec["pair_speedups"] = [round(a["seconds"] / b["seconds"], 3) for a, b in zip(one, two)]
    return rec


if __name__ == "__main__":
    print(json.dumps(watch(sys.argv[1:])))
