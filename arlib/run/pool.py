"""Units side by side: a process pool whose workers are forked warm, longest units first, with
a progress bar; a worker that dies fails its unit only.

Workers are forked from a fork server that imported the notebook stack and warmed the HTML
exporter once (:mod:`arlib.run.poolwarm`, started before the command plans: :func:`prestart_pool`)
and are reused; results come back as plain JSON types, so the client imports nothing to read them.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from arlib.run.runner import (
    UnitJob,
    UnitResult,
    _error_line,
    failed,
    run_unit,
    unit_dir,
    warm_process,
)


class Progress:
    """One progress-bar tick per finished unit (naming it and its status); results by unit."""

    def __init__(self, total: int, enabled: bool = True):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="business units", unit="unit", disable=not enabled)
        self.results: dict[str, UnitResult] = {}

    def __call__(self, r: UnitResult) -> None:
        self.results[r.business_unit] = r
        self.bar.set_postfix_str(f"{r.business_unit}: {r.status}")
        self.bar.update()

    def close(self, jobs: list[UnitJob]) -> list[UnitResult]:
        self.bar.close()
        return [self.results[j.business_unit] for j in jobs]


def _pool_context():
    """Workers forked from a server that has run :func:`warm_process` once (cheaper than a fresh
    interpreter each); plain spawn, each worker warming itself, where there is no fork server."""
    import multiprocessing as mp

    try:
        ctx = mp.get_context("forkserver")
    except ValueError:  # pragma: no cover - not on Windows
        return mp.get_context("spawn")
    ctx.set_forkserver_preload(["arlib.run.poolwarm"])
    return ctx


def prestart_pool(n_jobs: int) -> None:
    """Start the pool's fork server now, so that it imports and warms (a few seconds) while this
    process still plans the run; a no-op for one job or where there is no fork server."""
    if n_jobs <= 1:
        return
    ctx = _pool_context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def run_jobs(
    jobs: list[UnitJob], out_root: Path, n_jobs: int = 1, progress: bool = True, task=None
) -> list[UnitResult]:
    """Run units locally, ``n_jobs`` at a time, with a progress bar; results in job order. A pool
    starts the units longest first by their previous run's duration (:func:`longest_first`).

    ``task(job, workdir) -> UnitResult`` runs one unit (default :func:`run_unit`)."""
    task = task or run_unit
    done = Progress(len(jobs), progress)
    dirs = {j.business_unit: str(unit_dir(out_root, j)) for j in jobs}
    if n_jobs <= 1 or len(jobs) == 1:
        for j in jobs:
            try:
                done(task(j, dirs[j.business_unit]))
            except Exception as e:  # the runner itself failed for this unit
                done(failed(j, f"runner: {_error_line(e)}"))
        return done.close(jobs)
    broken = _pool_round(longest_first(jobs, out_root), dirs, n_jobs, task, done)
    for (
        j
    ) in broken:  # a dying worker breaks the pool and takes every unit in flight: rerun each alone
        for again in _pool_round([j], dirs, 1, task, done):
            done(failed(again, "worker process died while running it (killed, or out of memory)"))
    return done.close(jobs)


def previous_durations(out_root: Path, jobs: list[UnitJob]) -> dict[str, float]:
    """Each unit's duration in its latest recorded run: this ``as_of``'s manifest (a rerun), else
    the latest earlier ``as_of`` folder's that has the unit. Units never run are left out."""
    import re

    out: dict[str, float] = {}
    if not out_root.is_dir():
        return out
    folders = sorted(
        (
            p
            for p in out_root.iterdir()
            if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)
        ),
        reverse=True,
    )
    for job in jobs:
        for folder in (f for f in folders if f.name <= job.as_of):
            try:
                units = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["units"]
            except (OSError, ValueError, KeyError):
                continue
            hit = next(
                (u.get("duration_s") for u in units if u.get("business_unit") == job.business_unit),
                None,
            )
            if isinstance(hit, int | float) and hit > 0:
                out[job.business_unit] = float(hit)
                break
    return out


def longest_first(jobs: list[UnitJob], out_root: Path) -> list[UnitJob]:
    """Pool submission order: units never run first (their size is unknown), then by their last
    duration, longest first, so that the last unit to finish is a short one (less idle cores)."""
    last = previous_durations(out_root, jobs)
    return sorted(jobs, key=lambda j: -last.get(j.business_unit, float("inf")))


def _pool_round(
    jobs: list[UnitJob], dirs: dict, n_jobs: int, task, done: Progress
) -> list[UnitJob]:
    """Run ``jobs`` in one process pool; return those lost because a worker process died."""
    from concurrent.futures.process import BrokenProcessPool

    broken = []
    with ProcessPoolExecutor(
        max_workers=min(n_jobs, len(jobs)), mp_context=_pool_context(), initializer=warm_process
    ) as pool:
        futs = {pool.submit(task, j, dirs[j.business_unit]): j for j in jobs}
        for f in as_completed(futs):
            try:
                done(f.result())
            except BrokenProcessPool:
                broken.append(futs[f])
            except Exception as e:  # the runner itself failed for this unit
                done(failed(futs[f], f"runner: {_error_line(e)}"))
    return broken
