"""The group report of a run: ``notebooks/group.ipynb`` once per ``as_of``, after the units.

It runs on the machine that writes the outputs (also after a Dask run), reads the units'
``kpis.json`` there, and writes ``outputs/<as_of>/group/``. Its parameters come from
``group.yaml`` in the params folder (group currency, FX rates, language); without that file
there is no group report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from arlib.config import GROUP_FILE, read_yaml, validate
from arlib.errors import ArlibError

GROUP_NOTEBOOK = "group"


def group_params_file(params: list[str] | None, root: Path) -> Path | None:
    """``group.yaml`` of the first params folder given (default ``params/``), if it exists."""
    first = Path(params[0]) if params else root / "params"
    folder = first if first.is_dir() else first.parent
    path = folder / GROUP_FILE
    return path if path.exists() else None


def run_group(params_file: Path, as_of: str, out_dir: Path, root: Path) -> dict:
    """Execute and export the group report; returns its manifest entry (status, errors, reports)."""
    from arlib.report.html import to_html
    from arlib.report.records import collect_kpis
    from arlib.run.audit import audit_stamp
    from arlib.run.runner import _error_line, _execute

    t0 = time.perf_counter()
    entry = {"status": "ok", "errors": [], "reports": [], "params_file": str(params_file)}
    group_dir = out_dir / "group"
    group_dir.mkdir(parents=True, exist_ok=True)
    try:
        raw = dict(
            read_yaml(params_file), as_of=as_of, reports_dir=str(out_dir), output_dir=str(group_dir)
        )
        cfg = validate(raw, str(params_file))
    except ArlibError as e:
        return dict(entry, status="failed", errors=[str(e)])
    nb, exc = _execute(
        root / "notebooks" / f"{GROUP_NOTEBOOK}.ipynb",
        group_dir / "group.ipynb",
        dict(cfg),
        str(root),
    )
    if exc is not None:
        entry.update(status="failed", errors=[f"group: {_error_line(exc)}"])
    if nb is not None:
        kpis = collect_kpis(nb)
        from arlib.config import ARLIB_VERSION as __version__
        from arlib.config import notebook_parameters

        own = {
            k: cfg[k] for k in notebook_parameters(root / "notebooks" / f"{GROUP_NOTEBOOK}.ipynb")
        }
        kpis.update(as_of=as_of, arlib_version=__version__, parameters=own)
        kpis["audit"] = audit_stamp(kpis, root)
        from arlib.i18n import t

        lang = cfg["report_language"]
        title = f"{t('Group report', lang)}, {t('as of', lang)} {as_of}"
        (group_dir / "group.html").write_text(
            to_html(nb, title, lang, stamp=kpis["audit"]), encoding="utf-8"
        )
        (group_dir / "kpis.json").write_text(
            json.dumps(kpis, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8"
        )
        entry["reports"] = ["group.html"]
    entry["duration_s"] = round(time.perf_counter() - t0, 2)
    return entry
