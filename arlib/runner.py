"""Run every report notebook for every business unit: papermill, HTML export, kpis and manifest.

A unit is one :class:`UnitJob`; :func:`run_unit` executes its notebooks one after the other in
one process and returns a :class:`UnitResult`. Units run side by side in a process pool
(``jobs``). A failing notebook does not stop the others: its partially executed copy is kept,
the unit is marked failed with the notebook's one-line error, and the run exits non-zero.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from arlib.config import notebook_parameters, redacted

#: report notebooks in reading order; others found in notebooks/ follow alphabetically
NOTEBOOK_ORDER = ("health", "forecast", "provision")


@dataclass(frozen=True)
class UnitJob:
    business_unit: str
    as_of: str
    params: dict  # validated values
    params_file: str
    notebooks: tuple[str, ...]  # absolute paths
    root: str  # project root: the kernels' working directory


@dataclass
class UnitResult:
    business_unit: str
    as_of: str
    status: str = "ok"
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    kpis: dict = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    notebook_seconds: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # filled only when run in a temp dir


def find_notebooks(root: Path, names: list[str] | None = None) -> list[Path]:
    avail = {p.stem: p for p in sorted((root / "notebooks").glob("*.ipynb"))}
    if names:
        missing = [n for n in names if n not in avail]
        if missing:
            from arlib.errors import ConfigError

            raise ConfigError("--notebooks", f"unknown notebook(s) {missing}; available: {sorted(avail)}")
        return [avail[n] for n in names]
    order = [n for n in NOTEBOOK_ORDER if n in avail] + sorted(set(avail) - set(NOTEBOOK_ORDER))
    return [avail[n] for n in order]


def _error_line(exc: Exception) -> str:
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    return f"{ename}: {evalue}".strip()


def run_unit(job: UnitJob, workdir: str | None = None) -> UnitResult:
    """Execute the unit's notebooks into ``workdir`` (or a temp dir whose files are returned)."""
    import nbformat
    import papermill as pm

    from arlib.report import collect_kpis, to_html

    t0 = time.perf_counter()
    res = UnitResult(job.business_unit, job.as_of)
    tmp = None if workdir else tempfile.TemporaryDirectory(prefix=f"arlib-{job.business_unit}-")
    out_dir = Path(workdir or tmp.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = dict(job.params, output_dir=str(out_dir))
    try:
        for nb_path in map(Path, job.notebooks):
            t1 = time.perf_counter()
            declared = set(notebook_parameters(nb_path))
            out_nb = out_dir / f"{nb_path.stem}.ipynb"
            try:
                pm.execute_notebook(str(nb_path), str(out_nb), parameters={k: v for k, v in params.items() if k in declared},
                                    kernel_name="python3", progress_bar=False, log_output=False, cwd=job.root,
                                    request_save_on_cell_execute=False)
            except Exception as exc:  # papermill's execution error, or a kernel that died
                res.status = "failed"
                res.errors.append(f"{nb_path.stem}: {_error_line(exc)}")
            if out_nb.exists():
                nb = nbformat.read(out_nb, as_version=4)
                res.kpis.update(collect_kpis(nb))
                title = f"{nb_path.stem.capitalize()} report: {job.business_unit}, as of {job.as_of}"
                (out_dir / f"{nb_path.stem}.html").write_text(to_html(nb, title), encoding="utf-8")
                res.reports.append(f"{nb_path.stem}.html")
            res.notebook_seconds[nb_path.stem] = round(time.perf_counter() - t1, 2)
        res.kpis.setdefault("business_unit", job.business_unit)
        res.kpis.setdefault("as_of", job.as_of)
        (out_dir / "kpis.json").write_text(json.dumps(res.kpis, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        if tmp:
            res.files = {str(p.relative_to(out_dir)): p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    finally:
        if tmp:
            tmp.cleanup()
    res.duration_s = round(time.perf_counter() - t0, 2)
    return res


def write_files(result: UnitResult, unit_dir: Path) -> None:
    """Write a result's returned files (from a remote or temp-dir run) under ``unit_dir``."""
    for rel, data in result.files.items():
        dest = unit_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    result.files = {}


def _pool_run(job: UnitJob, workdir: str) -> UnitResult:
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return run_unit(job, workdir)


def run_jobs(jobs: list[UnitJob], out_root: Path, n_jobs: int = 1, progress: bool = True) -> list[UnitResult]:
    """Run units locally, ``n_jobs`` at a time, with a progress bar; results in job order."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="business units", unit="unit", disable=not progress)
    results: dict[str, UnitResult] = {}

    def done(r: UnitResult):
        results[r.business_unit] = r
        bar.set_postfix_str(f"{r.business_unit}: {r.status}")
        bar.update()

    dirs = {j.business_unit: str(out_root / j.as_of / j.business_unit) for j in jobs}
    if n_jobs <= 1 or len(jobs) == 1:
        for j in jobs:
            done(run_unit(j, dirs[j.business_unit]))
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = [pool.submit(_pool_run, j, dirs[j.business_unit]) for j in jobs]
            for f in as_completed(futs):
                done(f.result())
    bar.close()
    return [results[j.business_unit] for j in jobs]


def manifest_entry(job: UnitJob, res: UnitResult) -> dict:
    return {
        "business_unit": job.business_unit, "status": res.status, "errors": res.errors,
        "duration_s": res.duration_s, "notebook_seconds": res.notebook_seconds,
        "input_fingerprint": res.kpis.get("input_fingerprint"), "params_file": job.params_file,
        "parameters": redacted(job.params), "reports": res.reports,
    }


def write_manifest(out_dir: Path, entries: list[dict], meta: dict) -> dict:
    """Merge this run's units into ``out_dir/manifest.json`` (units run earlier are kept)."""
    path = out_dir / "manifest.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    units = {u["business_unit"]: u for u in old.get("units", [])}
    units.update({e["business_unit"]: e for e in entries})
    manifest = dict(meta, units=[units[k] for k in sorted(units)])
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest
