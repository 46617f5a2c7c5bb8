"""Executed notebooks of a unit -> its HTML reports."""

from __future__ import annotations

from pathlib import Path

from arlib.i18n import t
from arlib.report.html import to_html


def export_reports(executed: list, kpis: dict, out_dir: Path) -> list[str]:
    """Write ``<notebook>.html`` for each executed notebook of a unit: title, tiles and executive
    summary from the unit's merged figures, contents, the report, the audit stamp."""
    from arlib.report.summary import top_block

    lang = (kpis.get("parameters") or {}).get("report_language", "en")
    top = top_block(kpis, lang)
    names = []
    for stem, nb in executed:
        title = f"{t(stem.capitalize() + ' report', lang)}: {kpis.get('business_unit')}, {t('as of', lang)} {kpis.get('as_of')}"
        (Path(out_dir) / f"{stem}.html").write_text(
            to_html(nb, title, lang, top, kpis.get("audit")), encoding="utf-8"
        )
        names.append(f"{stem}.html")
    return names
