"""Executed notebooks of a unit -> its HTML reports."""

from __future__ import annotations

from pathlib import Path

from arlib.files import write_atomic
from arlib.i18n import t
from arlib.report.html import to_html
from arlib.run.audit import notebook_stamp


def export_reports(executed: list, kpis: dict, out_dir: Path, customers: list = ()) -> list[str]:
    """Write ``<notebook>.html`` for each executed notebook of a unit: the header (unit, close,
    currency, run, links to the other reports and files), title, the report's tiles and
    executive summary from the unit's merged figures, links to its ``customers`` reports,
    contents, the report, the audit stamp."""
    from arlib.report.briefs import top_block
    from arlib.report.header import header
    from arlib.run.customers import links_html

    audit = kpis.get("audit") or {}
    stems = [stem for stem, _ in executed]
    files = sorted(p.name for p in Path(out_dir).iterdir()) if Path(out_dir).is_dir() else []
    names = []
    for stem, nb in executed:
        stamp = notebook_stamp(audit, stem)
        lang = (stamp.get("parameters") or {}).get("report_language", "en")
        top = top_block(kpis, lang, stem) + links_html(customers, lang)
        title = f"{t(stem.capitalize() + ' report', lang)}: {kpis.get('business_unit')}, {t('as of', lang)} {kpis.get('as_of')}"
        head = header(kpis, stem, stems, files, lang)
        write_atomic(
            Path(out_dir) / f"{stem}.html", to_html(nb, title, lang, top, stamp, header=head)
        )
        names.append(f"{stem}.html")
    return names
