"""One business unit's run: its data loaded once, its notebooks through papermill in one kernel,
its figures merged, its HTML reports and ``kpis.json``.

A unit is one :class:`UnitJob`; :func:`run_unit` executes its notebooks one after the other and
returns a :class:`UnitResult`. Units run side by side in a process pool (:mod:`arlib.run.pool`)
or on a Dask cluster (:mod:`arlib.run.distributed`). A failing notebook does not stop the
others; a failed unit keeps only its executed notebooks and ``FAILED.txt``.

Fixed costs are kept low: one kernel per unit and nothing else (no ``jupyter nbconvert``
subprocess: the HTML is exported in-process from the notebook papermill returns), and neither
the runner nor its kernels import ``rfc3987_syntax`` (see :func:`light_imports`).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from arlib.errors import ArlibError
from arlib.redact import shown_text
from arlib.report.records import OK, OK_WITH_NOTES, section_notes, succeeded
from arlib.run.customers import NOTEBOOK as CUSTOMER_NOTEBOOK
from arlib.run.failure import LOG_SUFFIX, error_line, notebook_failed
from arlib.run.kernel import UnitKernel

#: the unit's data snapshot inside its folder while its notebooks run (removed when they are done)
SNAPSHOT = ".snapshot"
#: report notebooks in reading order; others found in notebooks/ follow alphabetically
NOTEBOOK_ORDER = ("health", "forecast", "provision")
#: jsonschema imports ``rfc3987_syntax`` when installed (it comes with the jupyter stack) for
#: "iri" format checks that notebook validation never uses; that import compiles a Lark grammar
#: (~1.8 s). Marking it absent makes jsonschema skip those two checks, nothing else.
_SKIP_MODULES = ("rfc3987_syntax",)
_KERNEL_SETUP = "; ".join(
    f"__import__('sys').modules.setdefault({m!r}, None)" for m in _SKIP_MODULES
)
#: the kernel runs the same line before the notebook (it binds no name in the notebook); its own
#: log shows errors only: ipykernel 7 warns on every start that the local TCP link to
#: its client is unencrypted (messages are still signed), one line per notebook in a batch
KERNEL_ARGS = (f"--IPKernelApp.exec_lines={_KERNEL_SETUP}", "--IPKernelApp.log_level=ERROR")
#: a unit's time outside its notebooks: loading its data, writing the snapshot, starting kernels
#: (inside the first notebook's seconds), waiting for the exporter's warm-up, the Excel pack, the
#: HTML reports, the customer reports' HTML, the figures (merge, audit stamp, ``kpis.json``)
PHASES = (
    "load",
    "snapshot",
    "kernel_start",
    "warm_wait",
    "pack",
    "export",
    "export_customers",
    "kpis",
)


class _Phases:
    """Adds the seconds of each ``with phases("name"):`` block to ``seconds[name]``."""

    def __init__(self, seconds: dict):
        self.seconds = seconds

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - t0
            self.seconds[name] = round(self.seconds.get(name, 0.0) + took, 2)


@dataclass(frozen=True)
class UnitJob:
    business_unit: str
    as_of: str
    params: dict  # validated values
    params_file: str
    notebooks: tuple[str, ...]  # absolute paths
    root: str  # project root: the kernels' working directory
    run_id: str = ""  # the run it belongs to (set when the run starts)


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
    #: seconds outside the notebooks by phase (:data:`PHASES`), for the benchmarks
    phase_seconds: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # filled only when run in a temp dir
    notes: list[str] = field(default_factory=list)  # figures the data lacks (ok with notes)


def find_notebooks(root: Path, names: list[str] | None = None) -> list[Path]:
    # the group report runs once per run, after the units (arlib.run.grouprun), not per unit
    # the customer report runs once per customer after them (arlib.run.customers), not per unit
    avail = {
        p.stem: p
        for p in sorted((root / "notebooks").glob("*.ipynb"))
        if p.stem not in ("group", CUSTOMER_NOTEBOOK)
    }
    if names:
        missing = [n for n in names if n not in avail]
        if missing:
            from arlib.errors import ConfigError

            raise ConfigError(
                "--notebooks", f"unknown notebook(s) {missing}; available: {sorted(avail)}"
            )
        return [avail[n] for n in names]
    order = [n for n in NOTEBOOK_ORDER if n in avail] + sorted(set(avail) - set(NOTEBOOK_ORDER))
    return [avail[n] for n in order]


def _error_line(exc: Exception) -> str:
    """One line, no absolute machine paths (:func:`arlib.run.failure.error_line`)."""
    from arlib.config import project_root

    return error_line(exc, project_root())


def light_imports() -> None:
    """Skip the slow optional imports of the notebook stack in this process (see ``_SKIP_MODULES``)
    and in kernels started later (environment); Arrow allocates from the system allocator in
    those kernels (and here, unless Arrow has allocated already)."""
    for name in _SKIP_MODULES:
        sys.modules.setdefault(name, None)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Arrow's default pool (mimalloc) keeps the pages it frees; numpy and pandas cannot reuse
    # them. With the system allocator they can: a big unit's load peaks ~20% lower (issue 18)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if "pyarrow" in sys.modules and os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system":
        # imported before this call: its default pool is made already, so the variable alone
        # does not reach it (the command's own load peaked at 1,662 instead of ~1,340 MiB)
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


def _locate(job: UnitJob) -> tuple[list[Path], str]:
    """The job's notebooks and working directory on this machine: as planned when they exist
    here, else under this machine's project folder (a cluster worker with its own checkout)."""
    from arlib.config import project_root

    paths = [Path(p) for p in job.notebooks]
    if all(p.exists() for p in paths) and Path(job.root).is_dir():
        return paths, job.root
    root = project_root()
    found = [root / "notebooks" / p.name for p in paths]
    missing = [p.name for p in found if not p.exists()]
    if missing:
        from arlib.errors import ConfigError

        raise ConfigError(
            "notebooks",
            f"{missing} not found under {root} on host {socket.gethostname()}. Fix: "
            "set ARLIB_HOME to the project folder on every worker",
        )
    return found, str(root)


def _execute(nb_path: Path, out_nb: Path, params: dict, cwd: str, kernel=None):
    """Run one notebook (in the unit's ``kernel`` when given, a :class:`arlib.run.kernel.UnitKernel`,
    else in a kernel of its own); the executed notebook, or the error and the partial copy on disk."""
    import nbformat
    import papermill as pm

    from arlib.config import notebook_parameters

    declared = set(notebook_parameters(nb_path))
    try:
        # the kernel is stopped at once when the notebook is done: its outputs are all in by then
        nb = pm.execute_notebook(
            str(nb_path),
            str(out_nb),
            parameters={k: v for k, v in params.items() if k in declared},
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=cwd,
            request_save_on_cell_execute=False,
            extra_arguments=list(KERNEL_ARGS),
            shutdown_kernel="immediate",
            **({"km": kernel.manager()} if kernel is not None else {}),
        )
        return nb, None
    except Exception as exc:  # papermill's execution error, or a kernel that died
        return (nbformat.read(out_nb, as_version=4) if out_nb.exists() else None), exc


_warming: list[threading.Thread] = []
#: set once this process has imported the notebook stack and exercised the HTML exporter
#: (a pool worker forked from the warm fork server inherits it: see :func:`warm_process`)
_warm = False


def _warm_export() -> threading.Thread | None:
    """Import and exercise the HTML exporter on a second thread while the kernels run (the client
    only waits on them then), so the export at the end does not pay for it; once per process,
    and not at all in a process that is warm already."""
    if _warm:
        return None
    if _warming:
        return _warming[0]

    thread = threading.Thread(target=_exercise_exporter, name="arlib-warm-export", daemon=True)
    thread.start()
    _warming.append(thread)
    return thread


def _exercise_exporter() -> None:
    import nbformat

    from arlib.report.html import to_html

    to_html(nbformat.v4.new_notebook(), "warm-up")


def run_unit(job: UnitJob, workdir: str | None = None) -> UnitResult:
    """Execute the unit's notebooks into ``workdir`` (or a temp dir whose files are returned).

    Each notebook's records are its section; the sections merge into ``kpis.json`` without
    overwriting (:func:`arlib.report.records.merge_sections`). A unit that fails keeps only its
    executed notebooks and ``FAILED.txt``: no report or export that could pass for current."""
    light_imports()
    # papermill (and jupyter_client under it) imported here, before the warm-up thread imports
    # nbconvert: two threads importing jupyter_client at once can see it half-initialised
    import papermill  # noqa: F401

    warming = _warm_export()
    t0 = time.perf_counter()
    res = UnitResult(job.business_unit, job.as_of)
    tmp = None if workdir else tempfile.TemporaryDirectory(prefix=f"arlib-{job.business_unit}-")
    out_dir = Path(workdir or tmp.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        sections, executed, cwd, customers = _execute_all(job, out_dir, res)
        if warming is not None:
            with _Phases(res.phase_seconds)("warm_wait"):
                warming.join()
        _finish(job, res, sections, executed, out_dir, cwd, customers)
        if tmp:
            res.files = {
                str(p.relative_to(out_dir)): p.read_bytes()
                for p in out_dir.rglob("*")
                if p.is_file()
            }
    finally:
        _drop_pack(out_dir)  # stopped by an unexpected error: the pack's thread ends first
        if tmp:
            tmp.cleanup()
    res.duration_s = round(time.perf_counter() - t0, 2)
    return res


def _execute_all(job: UnitJob, out_dir: Path, res: UnitResult) -> tuple[dict, list, str, list]:
    """Run the unit's notebooks one after the other, then its customer reports: (sections by
    notebook, executed, cwd, customer reports). The Excel pack is written on a thread while the
    customer reports run in the kernel (they add no sheet; one that did is written again)."""
    from arlib.report.excel import defer_pack, start_pack
    from arlib.report.records import collect_kpis

    try:
        notebooks, cwd = _locate(job)
    except ArlibError as e:
        res.status, res.errors = "failed", [shown_text(str(e), job.root)]
        return {}, [], job.root, []
    params = dict(job.params, output_dir=str(out_dir))
    try:
        params.update(load_once(params, out_dir, _Phases(res.phase_seconds)))
    except ArlibError as e:  # the data cannot be read or fails its checks: no notebook runs
        res.status, res.errors = "failed", [f"data: {shown_text(str(e), cwd)}"]
        return {}, [], cwd, []
    sections, executed = {}, []
    defer_pack(out_dir)  # the notebooks' sheets are kept; the pack is written once, in _finish
    with UnitKernel(cwd, list(KERNEL_ARGS)) as kernel:  # one kernel for the unit's notebooks
        for nb_path in notebooks:
            t1 = time.perf_counter()
            nb, exc = _execute(nb_path, out_dir / f"{nb_path.stem}.ipynb", params, cwd, kernel)
            if exc is not None:  # one line; an unexpected error's traceback goes to a log
                res.status = "failed"
                res.errors.append(notebook_failed(nb_path.stem, exc, out_dir, cwd))
            elif nb is not None:
                sections[nb_path.stem] = collect_kpis(nb)
                executed.append((nb_path.stem, nb))
            res.notebook_seconds[nb_path.stem] = round(time.perf_counter() - t1, 2)
        if succeeded(res.status):
            start_pack(out_dir)
        customers = _customer_reports(job, sections, params, out_dir, cwd, kernel, res)
        res.phase_seconds["kernel_start"] = round(kernel.start_seconds, 2)
    return sections, executed, cwd, customers


def _customer_reports(job, sections, params, out_dir, cwd, kernel, res) -> list:
    """The customer reports of the worklist's first customers (recorded by the health report),
    when the unit's notebooks succeeded and ``notebooks/customer.ipynb`` exists."""
    from arlib.run.customers import run_customers

    ids = (sections.get("health") or {}).get("customer_report_ids") or []
    nb_path = Path(cwd) / "notebooks" / f"{CUSTOMER_NOTEBOOK}.ipynb"
    if not succeeded(res.status) or not ids or not nb_path.exists():
        return []
    t1 = time.perf_counter()
    kernel.forget_data = True  # the reports' kept snapshot frames go before the customer reports
    done, errors = run_customers(
        ids,
        nb_path,
        params,
        out_dir,
        lambda nb, out_nb, p: _execute(nb, out_nb, p, cwd, kernel),
    )
    res.notebook_seconds[CUSTOMER_NOTEBOOK] = round(time.perf_counter() - t1, 2)
    if errors:
        res.status = "failed"
        res.errors += errors
    return done


def load_once(params: dict, out_dir: Path, phases=None) -> dict:
    """Load and validate the unit's data once for all its notebooks: a fingerprinted snapshot
    in ``out_dir/.snapshot`` that each notebook reads (``snapshot`` parameter) instead of the
    source. Quarantine files land in ``out_dir`` as before. Raises the load's ArlibError.
    ``phases`` (a :class:`_Phases`) times the load and the snapshot's writing."""
    from arlib.config import validate
    from arlib.io.load import load_ledger
    from arlib.io.snapshot import write_snapshot

    phases = phases or _Phases({})
    cfg = validate({k: v for k, v in params.items() if k != "snapshot"})
    folder = out_dir / SNAPSHOT
    with phases("load"):
        ledger = load_ledger(cfg)
    with phases("snapshot"):
        write_snapshot(ledger, folder, cfg)
    return {"snapshot": str(folder)}


def _finish(
    job: UnitJob,
    res: UnitResult,
    sections: dict,
    executed: list,
    out_dir: Path,
    cwd: str,
    customers: list = (),
):
    """Merge the sections into the unit's figures and write its reports and ``kpis.json``; a
    failed unit (or one whose files cannot be written) is scrubbed instead."""
    from arlib.files import write_json
    from arlib.report.excel import finish_pack
    from arlib.run.customers import export_customers
    from arlib.run.export import export_reports

    phase = _Phases(res.phase_seconds)
    with phase("kpis"):
        kpis = _figures(job, res, sections, cwd)
    shutil.rmtree(
        out_dir / SNAPSHOT, ignore_errors=True
    )  # read by the notebooks; the stamp keeps its fingerprint
    if succeeded(res.status):
        try:
            with phase("pack"):
                finish_pack(out_dir)  # before the reports, whose headers link the files there
            with phase("export"):
                res.reports = export_reports(executed, kpis, out_dir, customers)
            with phase("export_customers"):
                res.reports += export_customers(customers, kpis, out_dir)
            with phase("kpis"):
                write_json(out_dir / "kpis.json", kpis)
            return
        except OSError as e:  # disk full, read-only: the unit fails, nothing half-written stays
            res.status = "failed"
            res.errors.append(
                f"could not write the reports: {e.strerror or e} ({Path(e.filename or '').name})"
            )
    res.reports = []
    _drop_pack(out_dir)  # before its files are removed
    scrub_failed(out_dir, res.errors, job.run_id)


def _drop_pack(out_dir: Path) -> None:
    from arlib.report.excel import drop_pack

    drop_pack(out_dir)


def _figures(job: UnitJob, res: UnitResult, sections: dict, cwd: str) -> dict:
    """The unit's ``kpis.json`` content: its sections merged, its notes and audit stamp; sets
    ``res.kpis`` and marks the unit failed when its sections conflict or do not balance."""
    from arlib.report.records import SectionConflict, merge_sections
    from arlib.run.audit import audit_stamp

    try:
        flat = merge_sections(sections)
    except SectionConflict as e:
        res.status, flat = "failed", {}
        res.errors.append(str(e))
    unbalanced = _unbalanced(flat)
    if unbalanced:  # a figure that is wrong while the report says ok is the worst defect
        res.status = "failed"
        res.errors.append(unbalanced)
    res.notes = section_notes(sections)
    if res.status == OK and res.notes:  # the reports ran; the data lacks some figures
        res.status = OK_WITH_NOTES
    kpis = dict(flat, business_unit=job.business_unit, as_of=job.as_of, run_id=job.run_id or None)
    if res.notes:
        kpis["data_notes"] = res.notes
    kpis["sections"] = {
        name: sorted(k for k in values if k != "parameters") for name, values in sections.items()
    }
    kpis["audit"] = audit_stamp(kpis, sections, cwd)  # this machine's checkout (a worker's own)
    res.kpis = kpis
    return kpis


def _unbalanced(flat: dict) -> str:
    """The reason a unit cannot be signed: its reconciliation does not balance ("" when it does)."""
    rec = flat.get("reconciliation")
    if not isinstance(rec, dict) or rec.get("reconciled") is not False:
        return ""
    return (
        f"the reconciliation does not balance (difference {rec.get('difference', 0):,.2f}; "
        f"source rows not accounted for: {rec.get('source_rows_unaccounted', 0)}): amounts are "
        "missing or double counted. Fix: see the Data and reconciliation section of the report"
    )


def scrub_failed(unit_dir: Path, errors: list[str], run_id: str = "") -> None:
    """Leave a failed unit's folder with its executed notebooks (to see where it stopped), the
    error logs of its unexpected errors and ``FAILED.txt``; reports, figures and exports are removed, so none can pass for current."""
    for p in sorted(unit_dir.iterdir()):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.suffix != ".ipynb" and not p.name.endswith(LOG_SUFFIX):
            p.unlink(missing_ok=True)
    text = (
        f"run {run_id or '-'}: this unit failed; its reports were not produced.\n"
        + "\n".join(errors)
        + "\n"
    )
    try:
        (unit_dir / "FAILED.txt").write_text(text, encoding="utf-8")
    except OSError:  # a full disk: the manifest still says why
        pass


def write_files(result: UnitResult, unit_dir: Path) -> None:
    """Write a result's returned files (from a remote or temp-dir run) under ``unit_dir``."""
    for rel, data in result.files.items():
        dest = unit_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    result.files = {}


def failed(job: UnitJob, reason: str) -> UnitResult:
    """The result of a unit that never ran to the end (its worker died, or it was lost)."""
    return UnitResult(job.business_unit, job.as_of, status="failed", errors=[reason])


#: numeric libraries in kernels run one thread each when units run side by side: the units
#: already fill the cores, and oversubscribed BLAS threads only slow each other down
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_MAX_THREADS")


def warm_process() -> None:
    """Make this process ready to run units: the notebook stack imported, the HTML exporter
    exercised once, and kernels started from here limited to one numeric thread each (the units
    side by side already fill the cores; oversubscribed BLAS threads only slow each other down).

    The pool's fork server runs it once, on import of :mod:`arlib.run.poolwarm`; every pool worker
    is then forked from a warm process instead of each importing and warming on its own."""
    global _warm
    if _warm:
        return
    light_imports()
    for name in _ONE_THREAD:
        os.environ.setdefault(name, "1")
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    _exercise_exporter()
    _warm = True


def unit_dir(out_root: Path, job: UnitJob) -> Path:
    """Where a unit builds: in its run's folder (``.runs/<as_of>/<run_id>/<unit>``), or
    ``<as_of>/<unit>`` for a job outside a run."""
    if job.run_id:
        return Path(out_root) / ".runs" / job.as_of / job.run_id / job.business_unit
    return Path(out_root) / job.as_of / job.business_unit


def manifest_entry(job: UnitJob, res: UnitResult) -> dict:
    from arlib.redact import redacted

    return {
        "business_unit": job.business_unit,
        "status": res.status,
        "errors": res.errors,
        "notes": res.notes,
        "duration_s": res.duration_s,
        "notebook_seconds": res.notebook_seconds,
        "phase_seconds": res.phase_seconds,
        "input_fingerprint": res.kpis.get("input_fingerprint"),
        "run_id": job.run_id or None,
        "params_file": job.params_file,
        "parameters": redacted(job.params),
        "reports": res.reports,
    }
