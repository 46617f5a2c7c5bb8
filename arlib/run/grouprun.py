"""The group report of a run: ``notebooks/group.ipynb`` once per ``as_of``, after the units.

It runs on the machine that writes the outputs (also after a Dask run), reads the units'
``kpis.json`` there, and writes ``outputs/<as_of>/group/``. Its parameters come from
``group.yaml`` in the params folder (group currency, FX rates, language); without that file
there is no group report.
"""

from __future__ import annotations

import time
from pathlib import Path

from arlib.config import (
    ARLIB_VERSION,
    GROUP_FILE,
    notebook_declared,
    project_root,
    read_yaml,
    validate,
)
from arlib.errors import ArlibError
from arlib.i18n import t
from arlib.redact import shown_text

GROUP_NOTEBOOK = "group"


def group_params_file(params: list[str] | None, root: Path) -> Path | None:
    """``group.yaml`` of the first params folder given (default ``params/``), if it exists."""
    first = Path(params[0]) if params else root / "params"
    folder = first if first.is_dir() else first.parent
    path = folder / GROUP_FILE
    return path if path.exists() else None


def group_config(params_file: Path, as_of: str, out_dir: Path, units: list[str]):
    """The group report's validated parameters (checked before any unit runs, and by the dry
    run): ``units`` are this run's units it consolidates, nothing else on disk."""
    raw = dict(
        read_yaml(params_file),
        as_of=as_of,
        reports_dir=str(out_dir),
        output_dir=str(Path(out_dir) / "group"),
        units=list(units),
    )
    return validate(raw, str(params_file), notebook_declared(notebook_path()))


def check_group_rates(cfg, params_file: Path, currencies: dict[str, str]) -> None:
    """Every unit's currency (``{unit: currency}``) has a rate to the group currency in
    ``fx_rates``: checked when the run is planned (and by the dry run), not after every unit
    ran. The error names ``group.yaml``, the currency and its units."""
    from arlib.errors import ConfigError
    from arlib.report.group import rate_for

    by_currency: dict[str, list[str]] = {}
    for unit, currency in sorted(currencies.items()):
        by_currency.setdefault(currency, []).append(unit)
    for currency, units in sorted(by_currency.items()):
        try:
            rate_for(currency, cfg["group_currency"], cfg["fx_rates"])
        except ConfigError as e:
            raise ConfigError(
                e.key, f"{e.problem}; needed by unit(s) {units}", str(params_file)
            ) from None


def notebook_path() -> Path:
    return project_root() / "notebooks" / f"{GROUP_NOTEBOOK}.ipynb"


def run_group(
    params_file: Path, as_of: str, out_dir: Path, units: list[str], run_id: str = ""
) -> dict:
    """Execute and export the group report of this run's ``units`` (those that ran to the end);
    returns its manifest entry (status, errors, reports)."""
    from arlib.files import write_atomic, write_json
    from arlib.report.group import load_unit_kpis
    from arlib.report.html import to_html
    from arlib.report.records import collect_kpis
    from arlib.run.audit import audit_stamp, notebook_stamp
    from arlib.run.failure import notebook_failed
    from arlib.run.runner import _execute

    t0 = time.perf_counter()
    # the units with balance figures (a run without the health report has none)
    units = [str(k["business_unit"]) for k in load_unit_kpis(out_dir, units)] if units else []
    entry = {
        "status": "ok",
        "errors": [],
        "reports": [],
        "params_file": str(params_file),
        "units": list(units),
    }
    group_dir = out_dir / "group"
    group_dir.mkdir(parents=True, exist_ok=True)
    try:
        cfg = group_config(params_file, as_of, out_dir, units)
    except ArlibError as e:
        return dict(entry, status="failed", errors=[shown_text(str(e), project_root())])
    if not units:  # e.g. a run without the health report: nothing to consolidate, not a failure
        return dict(
            entry, status="skipped", units=[], note="no unit of this run has balance figures"
        )
    nb, exc = _execute(notebook_path(), group_dir / "group.ipynb", dict(cfg), str(project_root()))
    if exc is not None:
        entry.update(
            status="failed", errors=[notebook_failed("group", exc, group_dir, project_root())]
        )
    elif nb is not None:
        section = collect_kpis(nb)
        kpis = dict(section, as_of=as_of, arlib_version=ARLIB_VERSION, run_id=run_id or None)
        kpis.pop("parameters", None)
        kpis["audit"] = audit_stamp(
            kpis, {GROUP_NOTEBOOK: {"parameters": dict(cfg)}}, project_root()
        )
        lang = cfg["report_language"]
        title = f"{t('Group report', lang)}, {t('as of', lang)} {as_of}"
        stamp = notebook_stamp(kpis["audit"], GROUP_NOTEBOOK)
        write_atomic(group_dir / "group.html", to_html(nb, title, lang, stamp=stamp))
        write_json(group_dir / "kpis.json", kpis)
        entry["reports"] = ["group.html"]
    entry["duration_s"] = round(time.perf_counter() - t0, 2)
    return entry
