"""Executed notebooks of a unit -> its HTML reports."""

from __future__ import annotations

from pathlib import Path

from arlib.files import write_atomic
from arlib.i18n import t
from arlib.report.html import to_html
from arlib.run.audit import notebook_stamp


def export_reports(executed: list, kpis: dict, out_dir: Path, customers: list = ()) -> list[str]:
    """Write ``<notebook>.html`` for each executed notebook of a unit: title, tiles and executive
    summary from the unit's merged figures, links to its ``customers`` reports
    (:mod:`arlib.run.customers`), contents, the report, the audit stamp."""
    from arlib.report.summary import top_block
    from arlib.run.customers import links_html

    audit = kpis.get("audit") or {}
    names = []
    for stem, nb in executed:
        stamp = notebook_stamp(audit, stem)
        lang = (stamp.get("parameters") or {}).get("report_language", "en")
        top = top_block(kpis, lang) + links_html(customers, lang)
        title = f"{t(stem.capitalize() + ' report', lang)}: {kpis.get('business_unit')}, {t('as of', lang)} {kpis.get('as_of')}"
        write_atomic(Path(out_dir) / f"{stem}.html", to_html(nb, title, lang, top, stamp))
        names.append(f"{stem}.html")
    return names
