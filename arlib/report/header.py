"""The header every unit report opens with: which unit, which close, which currency, which run,
and links to the unit's other reports, its Excel pack and worklist, and back to the run's index.

Links are relative, so they work wherever the published run folder is opened or copied
(``<close>/<unit>/health.html`` links ``forecast.html``, ``excel_pack.xlsx`` and
``../index.html``). Only files that exist in the unit's folder are linked.

>>> h = header({"business_unit": "de", "as_of": "2026-10-31", "currency": "EUR",
...             "run_id": "R1"}, "health", ["health", "forecast"], ["excel_pack.xlsx"])
>>> 'href="forecast.html"' in h, 'href="../index.html"' in h, 'href="health.html"' in h
(True, True, False)
>>> "2026-10-31" in h and "EUR" in h and "R1" in h
True
"""

from __future__ import annotations

import html
from urllib.parse import quote

from arlib.i18n import t
from arlib.report.datanotes import translate

#: the title of each unit report, as the header's links name it
REPORT_TITLES = {
    "health": "Receivables health",
    "forecast": "Cash-collection forecast",
    "provision": "Bad-debt provisions",
    "customer": "Customer report",
}

#: files beside the reports that the header links, in this order, when they exist
FILES = (
    ("excel_pack.xlsx", "Excel pack"),
    ("collection_worklist.xlsx", "Collection worklist (Excel)"),
    ("collection_worklist.csv", "Collection worklist (CSV)"),
)


def header(
    k: dict,
    current: str,
    reports: list[str],
    files: list[str] | tuple = (),
    lang: str = "en",
    prefix: str = "",
) -> str:
    """The header of report ``current``: unit, close date, currency and run id from the unit's
    figures ``k``; links to the other ``reports`` (notebook stems), to those of :data:`FILES`
    listed in ``files``, and to the run's index. ``prefix`` leads from the page's folder to the
    unit's (``"../"`` for a customer report). All text escaped."""
    e = html.escape
    who = (
        f"<b>{e(t('Business unit', lang))} {e(str(k.get('business_unit', '')))}</b>"
        f" · {e(t('close', lang))} {e(str(k.get('as_of', '')))}"
        f" · {e(t('amounts in', lang))} {e(str(k.get('currency', '')))}"
    )
    run = f"{e(t('Run', lang))} {e(str(k.get('run_id') or 'n/a'))}"
    links = []
    for stem in reports:
        name = e(t(REPORT_TITLES.get(stem, stem.capitalize()), lang))
        links.append(
            f'<span class="here">{name}</span>'
            if stem == current
            else f'<a href="{prefix}{_href(stem + ".html")}">{name}</a>'
        )
    links += [
        f'<a href="{prefix}{_href(f)}">{e(t(label, lang))}</a>' for f, label in FILES if f in files
    ]
    links.append(f'<a href="{prefix}../index.html">{e(t("All units (index)", lang))}</a>')
    return (
        f'<header class="ar-header"><div class="who">{who}</div><div class="run">{run}</div>'
        f"<nav>{''.join(links)}</nav>{notes_box(k, lang)}</header>"
    )


#: the box of an "ok with notes" unit (inline style: the header must stand out in any report)
_NOTES_STYLE = "border-left:4px solid #b58900;background:#fff8e1;padding:4px 10px;margin:6px 0"


def notes_box(k: dict, lang: str = "en") -> str:
    """The unit's status "ok with notes" and its notes (``data_notes`` of its figures: what the
    data lacks, :mod:`arlib.report.datanotes`); nothing for a plain "ok" unit.

    >>> notes_box({"data_notes": ["No <limits>."]})
    '<div class="ar-notes" style="border-left:4px solid #b58900;background:#fff8e1;padding:4px 10px;margin:6px 0"><b>Status: ok with notes</b><ul><li>No &lt;limits&gt;.</li></ul></div>'
    """
    notes = k.get("data_notes") or []
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(translate(str(n), lang))}</li>" for n in notes)
    head = f"{t('Status', lang)}: {t('ok with notes', lang)}"
    return f'<div class="ar-notes" style="{_NOTES_STYLE}"><b>{html.escape(head)}</b><ul>{items}</ul></div>'


def _href(name: str) -> str:
    return html.escape(quote(name), quote=True)
