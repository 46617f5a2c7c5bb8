"""One run of ``arlib run``: lock each close, build the run's folder, publish it whole.

For each close date (``as_of``) of the planned units: take the close's lock, remove what an
unfinished earlier run left, run the units into this run's folder, carry over (marked as from
their earlier run) the units defined in params but not selected this time, run the group report
on this run's finished units only, write the index and, last, the manifest; then publish the
folder (:mod:`arlib.run.publish`). This process is the only writer of the manifest.

A unit whose params are gone is not carried over. A unit that fails is published as failed with
no report of its own (the earlier run's reports stay whole in that run's folder, and the index
links to them labelled with their run id and date).
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from arlib.config import ARLIB_VERSION
from arlib.files import write_json
from arlib.report.records import FAILED, OK, OK_WITH_NOTES, succeeded
from arlib.run.publish import (
    MANIFEST,
    CloseRun,
    RunError,
    close_lock,
    leftovers,
    new_run_id,
    publish,
    published_run,
    read_manifest,
)
from arlib.run.runner import UnitJob, UnitResult, manifest_entry


@dataclass
class RunOutcome:
    run_id: str
    indexes: list[Path] = field(default_factory=list)
    failed_units: list[UnitResult] = field(default_factory=list)
    noted_units: list[UnitResult] = field(default_factory=list)  # ok with notes
    group_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_closes(
    jobs: list[UnitJob],
    out_root: Path,
    defined: dict[str, set[str]],
    execute,
    group_file: Path | None = None,
    lang: str = "en",
    pdf: bool = False,
) -> RunOutcome:
    """Run ``jobs`` (any close dates) as one run and publish each close.

    ``defined`` maps each close date to every unit its params define (the planned jobs may be a
    subset, e.g. ``--bu``); ``execute(jobs, out_root) -> results`` runs the units (locally or on
    a cluster). With ``pdf``, each report is also printed to PDF beside its HTML when headless
    Chromium is installed (:mod:`arlib.run.pdf`; without it, one note). Raises
    :class:`RunError` when a close is being run by another process or this run cannot be
    written; the published runs are then unchanged."""
    t0 = time.perf_counter()
    run_id = new_run_id()
    jobs = [replace(j, run_id=run_id, params=_history_from(j.params, out_root)) for j in jobs]
    closes = {d: CloseRun(Path(out_root), d, run_id) for d in sorted({j.as_of for j in jobs})}
    out = RunOutcome(run_id)
    browser = _pdf_browser(out) if pdf else None
    with ExitStack() as stack:
        for close in closes.values():
            stack.enter_context(close_lock(close.root, close.as_of, run_id))
        for close in closes.values():
            out.notes += leftovers(close)
            _guard(close, partial(close.folder.mkdir, parents=True))
        out.notes += _parse_files_once(jobs)
        results = execute(jobs, Path(out_root))
        for as_of, close in closes.items():
            pairs = [(j, r) for j, r in zip(jobs, results) if j.as_of == as_of]
            out.failed_units += [r for _, r in pairs if not succeeded(r.status)]
            out.noted_units += [r for _, r in pairs if r.status == OK_WITH_NOTES]
            finish = partial(
                _finish_close,
                close,
                pairs,
                defined.get(as_of, set()),
                group_file,
                lang,
                out,
                browser,
            )
            out.indexes.append(_guard(close, finish))
    out.seconds = round(time.perf_counter() - t0, 1)
    return out


def _parse_files_once(jobs: list[UnitJob]) -> list[str]:
    """Big CSV sources parsed once for all units, with progress, before they start
    (:mod:`arlib.io.filecache`); nothing to do (and pandas not loaded here) for databases."""
    pairs = [(j.params.get("source") or "", j.params.get("source_options") or {}) for j in jobs]
    files = [(s, o) for s, o in pairs if "://" not in s and not o.get("url_env")]
    if not any(not s.lower().endswith((".sqlite", ".sqlite3", ".db")) for s, _ in files):
        return []
    from arlib.io import filecache  # the coordinator loads pandas only when there are files

    return filecache.prepare(files)


def _history_from(params: dict, out_root: Path) -> dict:
    """Forecast reports read earlier closes' forecasts from the published closes of this output
    root, unless params name another ``forecast_store``."""
    if "forecast_store" in params and not params["forecast_store"]:
        return dict(params, forecast_store=str(out_root))
    return params


def _guard(close: CloseRun, step):
    """Run a write step of the close and return its result; a failure to write (disk full,
    read-only) becomes one clear :class:`RunError`, and this run's unpublished folder is removed."""
    try:
        return step()
    except OSError as e:
        shutil.rmtree(close.folder, ignore_errors=True)
        before = read_manifest(published_run(close.root, close.as_of)).get("run_id")
        kept = f"the published run {before} is unchanged" if before else "nothing was published"
        raise RunError(
            f"could not write run {close.run_id} of close {close.as_of}: {e.strerror or e}"
            f"{f' ({e.filename})' if e.filename else ''}; {kept}"
        ) from None


def _finish_close(
    close: CloseRun, pairs, defined: set[str], group_file, lang, out: RunOutcome, browser=None
) -> Path:
    from arlib.report.landing import write_index
    from arlib.run.grouprun import run_group

    previous = published_run(close.root, close.as_of)
    before = read_manifest(previous)
    entries = [manifest_entry(j, r) for j, r in pairs]
    for entry in entries:
        if not succeeded(entry["status"]):
            entry["last_complete"] = _last_complete(close, before, entry["business_unit"])
    ran = {j.business_unit for j, _ in pairs}
    earlier = carry_over(close, previous, before, sorted(defined - ran))
    manifest = {
        "run_id": close.run_id,
        "as_of": close.as_of,
        "arlib_version": ARLIB_VERSION,
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "replaces_run": before.get("run_id"),
        "units": sorted(entries, key=lambda e: e["business_unit"]),
        "earlier_units": earlier,
    }
    if group_file is not None:
        ok = [e["business_unit"] for e in manifest["units"] if succeeded(e["status"])]
        manifest["group"] = run_group(group_file, close.as_of, close.folder, ok, close.run_id)
        out.group_errors += manifest["group"]["errors"]
    if browser:
        out.notes += _print_pdfs(close, manifest, browser)
    manifest["status"] = _run_status([e["status"] for e in entries], out.group_errors)
    write_index(close.folder, manifest, lang, close.root)
    write_json(close.folder / MANIFEST, manifest)  # last: a run folder with a manifest is complete
    _sync(close.folder)
    publish(close)
    return close.published / "index.html"


def _run_status(units: list[str], group_errors: list) -> str:
    """``failed`` when a unit or the group failed, else ``ok with notes`` when a unit has notes,
    else ``ok``."""
    if group_errors or not all(succeeded(s) for s in units):
        return FAILED
    return OK_WITH_NOTES if OK_WITH_NOTES in units else OK


def _pdf_browser(out: RunOutcome) -> str | None:
    """The Chromium that prints the PDFs, or None with one note (the run goes on, HTML only)."""
    from arlib.run.pdf import NO_BROWSER, find_browser

    browser = find_browser()
    if browser is None:
        out.notes.append(NO_BROWSER)
    return browser


def _print_pdfs(close: CloseRun, manifest: dict, browser: str) -> list[str]:
    """Each report of this run's ok units and of the group printed to PDF beside its HTML; the
    PDFs are listed as ``pdfs`` in their manifest entry. Returns the notes of reports not
    printed (never a failure of the run)."""
    from arlib.run.pdf import print_reports

    targets = [(e, close.folder / e["business_unit"]) for e in manifest["units"]]
    targets.append((manifest.get("group") or {}, close.folder / "group"))
    notes: list[str] = []
    for entry, folder in targets:
        if succeeded(entry.get("status")) and entry.get("reports"):
            entry["pdfs"], missed = print_reports(folder, entry["reports"], browser=browser)
            notes += missed
    return notes


def _last_complete(close: CloseRun, before: dict, unit: str) -> dict | None:
    """Where the unit's last complete reports are: the published run's entry when it was ok there
    (its own run, or the run it was carried from), or the link that run already gave when it
    failed there too; None when that run's folder is gone."""
    for e in before.get("units", []) + before.get("earlier_units", []):
        if e.get("business_unit") != unit:
            continue
        if succeeded(e.get("status")):
            last = {
                "run_id": e.get("run_id") or before.get("run_id"),
                "reports": e.get("reports", []),
                "finished_at": e.get("finished_at") or before.get("finished_at"),
            }
        else:
            last = e.get("last_complete")
        if last and (close.close_dir / str(last.get("run_id")) / unit).is_dir():
            return last
    return None


def carry_over(
    close: CloseRun, previous: Path | None, before: dict, units: list[str]
) -> list[dict]:
    """Copy (hard-link) into this run the published folders of units defined in params but not
    run this time; their entries keep their own run id and time. Never summed by the group."""
    out = []
    known = {
        e.get("business_unit"): e for e in before.get("units", []) + before.get("earlier_units", [])
    }
    for unit in units:
        entry = known.get(unit)
        src = previous / unit if previous is not None else None
        if not entry or not succeeded(entry.get("status")) or src is None or not src.is_dir():
            continue
        shutil.copytree(src, close.folder / unit, copy_function=_link_or_copy)
        out.append(
            dict(
                entry,
                run_id=entry.get("run_id") or before.get("run_id"),
                finished_at=entry.get("finished_at") or before.get("finished_at"),
            )
        )
    return out


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _sync(folder: Path) -> None:
    """Flush the run folder's entries to disk before it is published (power cut safety)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
