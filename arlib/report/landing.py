"""The landing page ``outputs/<as_of>/index.html``: a tile card per unit with headline KPIs and
their movement against the previous run, its status (ok / failed with the reason), links to its
reports and to the group report. Every value from data is escaped; no external resources."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote

from arlib.files import write_atomic
from arlib.i18n import t
from arlib.report.cockpit import value_text
from arlib.report.datanotes import translate
from arlib.report.records import OK, OK_WITH_NOTES, succeeded
from arlib.report.summary import TILES, _period, format_value, with_unit

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def previous_kpis(root: Path, as_of: str, unit: str) -> tuple[str | None, dict]:
    """The unit's kpis from the latest earlier published close (an ``as_of`` folder under the
    output ``root``)."""
    earlier = sorted(
        p for p in Path(root).iterdir() if p.is_dir() and _DATE.fullmatch(p.name) and p.name < as_of
    )
    for d in reversed(earlier):
        path = d / unit / "kpis.json"
        if path.exists():
            return d.name, json.loads(path.read_text(encoding="utf-8"))
    return None, {}


def movement(now, before, higher_better) -> tuple[str, str]:
    """(arrow text, css class): ▲/▼ with the change; green when better, red when worse."""
    if now is None or before is None or now == before:
        return ("", "") if before is None or now is None else ("= ", "flat")
    up = now > before
    cls = "flat" if higher_better is None else ("good" if up == higher_better else "bad")
    return ("▲ " if up else "▼ "), cls


def _tile(key, label, kind, better, kpis, prev, lang) -> str:
    """One KPI tile: the value with its unit (amounts with the unit's currency, days with
    "days") and its move against the previous close."""
    e = html.escape
    now, before = kpis.get(key), prev.get(key)
    cur = str(kpis.get("currency", ""))

    def shown(v):  # a percentage's "%" is in its label, "CEI (%)"
        return format_value(v, kind) if kind == "pct" else with_unit(v, kind, cur, lang)

    arrow, cls = movement(now, before, better)
    change = (
        f'<div class="d {cls}">{e(arrow)}{e(t("from", lang))} {e(shown(before))}</div>'
        if arrow
        else ""
    )
    return f'<div class="tile"><div class="k">{e(t(label, lang))}</div><div class="v">{e(shown(now))}</div>{change}</div>'


def _href(*parts: str) -> str:
    """A relative link from path parts, each URL-encoded, then escaped for the attribute.

    >>> _href("a b", "health.html"), _href("x&y", "r.html")
    ('a%20b/health.html', 'x%26y/r.html')
    """
    return html.escape("/".join(quote(str(p), safe="") for p in parts), quote=True)


def _status(unit: dict, as_of: str, lang: str) -> str:
    e = html.escape
    if unit["status"] == OK:
        return f'<span class="ok">{e(t("ok", lang))}</span>'
    if unit["status"] == OK_WITH_NOTES:  # ran, but the data lacks some figures: said up front
        notes = "".join(f"<li>{e(translate(n, lang))}</li>" for n in unit.get("notes") or [])
        return (
            f'<span class="notes">{e(t(OK_WITH_NOTES, lang))}</span><ul class="notes">{notes}</ul>'
        )
    text = (
        f'<span class="bad">{e(t("failed", lang))}: {e("; ".join(unit.get("errors", [])))}</span>'
    )
    last = unit.get("last_complete")
    if last and last.get("run_id"):  # its earlier reports stay whole in that run's folder
        first = (last.get("reports") or [""])[0]
        href = _href("..", ".runs", as_of, last["run_id"], unit["business_unit"], first)
        label = f"{t('last complete reports', lang)}: {t('run', lang)} {last['run_id']} ({last.get('finished_at') or ''})"
        text += f' <span class="muted"><a href="{href}">{e(label)}</a></span>'
    return text


def _unit_card(out_dir: Path, unit: dict, lang: str, root: Path, as_of: str) -> str:
    e = html.escape
    bu = unit["business_unit"]
    path = out_dir / bu / "kpis.json"
    kpis = (
        json.loads(path.read_text(encoding="utf-8"))
        if succeeded(unit["status"]) and path.exists()
        else {}
    )
    prev_as_of, prev = previous_kpis(root, as_of, bu)
    status = _status(unit, as_of, lang)
    links = " · ".join(
        f'<a href="{_href(bu, r)}">{e(Path(r).stem)}</a>' for r in unit.get("reports", [])
    )
    tiles = "".join(_tile(*h, kpis, prev, lang) for h in TILES if h[0] in kpis)
    since = (
        f' <span class="muted">({e(t("movement against", lang))} {e(prev_as_of)})</span>'
        if prev_as_of
        else ""
    )
    cur = e(str(kpis.get("currency", "")))
    return (
        f'<section class="unit"><h2>{e(bu)} <span class="muted">{cur}</span></h2>'
        f'<div class="status">{e(t("Status", lang))}: {status}{since}</div>'
        f'<div class="tiles">{tiles}</div><div class="links">{e(t("Reports", lang))}: {links}</div></section>'
    )


def _earlier_card(unit: dict, lang: str) -> str:
    """A unit carried over from an earlier run: named with that run, not summed in the group."""
    e = html.escape
    bu = unit["business_unit"]
    links = " · ".join(
        f'<a href="{_href(bu, r)}">{e(Path(r).stem)}</a>' for r in unit.get("reports", [])
    )
    when = f"{t('run', lang)} {unit.get('run_id') or '?'} ({unit.get('finished_at') or '?'})"
    return (
        f'<section class="unit earlier"><h2>{e(bu)} <span class="muted">{e(t("from an earlier run", lang))}: '
        f'{e(when)}</span></h2><div class="links">{e(t("Reports", lang))}: {links}</div></section>'
    )


#: the group totals row of the index: (key, label, kind); amounts to the cent, as in kpis.json
GROUP_TOTALS = (
    ("open_ar", "Open AR", "cents"),
    ("past_due_ar", "Past-due AR", "cents"),
    ("past_due_share", "Past-due share", "share"),
    ("dso", "DSO", "days"),
    ("cei", "CEI", "pct"),
    ("allowance", "Allowance", "cents"),
    ("forecast_collections_next", "Forecast collections", "cents"),
)


def _group_totals(out_dir: Path, group: dict | None, lang: str) -> str:
    """The group totals row: the figures of the group report's ``kpis.json`` (so the index and
    the group report agree to the cent), amounts in the group currency, named."""
    e = html.escape
    path = Path(out_dir) / "group" / "kpis.json"
    if not group or group.get("status") != "ok" or not path.exists():
        return ""
    k = json.loads(path.read_text(encoding="utf-8"))
    cur = str(k.get("currency", ""))
    head, cells = [], []
    for key, label, kind in GROUP_TOTALS:
        v = k.get(key)
        cents = kind == "cents" and v is not None
        text = f"{v:,.2f} {cur}" if cents else value_text(v, kind, cur, lang)
        if key == "forecast_collections_next" and k.get("forecast_period"):
            label = f"{t(label, lang)} ({_period(k['forecast_period'], lang)})"
        why = k.get(f"{key}_note") if v is None else None
        tip = f' title="{e(str(why))}"' if why else ""
        head.append(f"<th>{e(t(label, lang))}</th>")
        cells.append(f'<td data-k="{e(key)}"{tip}>{e(text)}</td>')
    units = ", ".join(str(u) for u in k.get("units", []))
    return (
        f'<section class="unit group-totals"><h2>{e(t("Group totals", lang))} <span class="muted">{e(cur)}: '
        f'{e(units)}</span></h2><div class="scroll"><table><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody><tr>{''.join(cells)}</tr></tbody></table></div></section>"
    )


def render_index(out_dir: Path, manifest: dict, lang: str = "en", root: Path | None = None) -> str:
    """HTML for the landing page of a run folder; ``root`` holds the published closes that the
    movement arrows compare with (default: the folder's parent)."""
    e = html.escape
    as_of_raw = str(manifest.get("as_of", ""))
    as_of = e(as_of_raw)
    root = Path(root) if root is not None else Path(out_dir).parent
    cards = "".join(_unit_card(out_dir, u, lang, root, as_of_raw) for u in manifest["units"])
    earlier = manifest.get("earlier_units") or []
    if earlier:
        note = t("not part of this run, not in the group report", lang)
        cards += (
            f'<h2 class="earlier-head">{e(t("Units from earlier runs", lang))} '
            f'<span class="muted">({e(note)})</span></h2>'
            + "".join(_earlier_card(u, lang) for u in earlier)
        )
    group = manifest.get("group")
    group_link = ""
    if group and group.get("status") == "skipped":
        group_link = f'<p class="group muted">{e(t("no group report: no unit of this run has balance figures", lang))}</p>'
    elif group:
        gs = (
            "ok" if group.get("status") == "ok" else f"failed: {'; '.join(group.get('errors', []))}"
        )
        group_link = f'<p class="group"><a href="group/group.html">{e(t("Group report", lang))}</a> ({e(gs)})</p>'
    n_failed = sum(not succeeded(u["status"]) for u in manifest["units"])
    n_noted = sum(u["status"] == OK_WITH_NOTES for u in manifest["units"])
    headline = (
        f"{len(manifest['units'])} {e(t('business units', lang))}, "
        f'<span class="{"bad" if n_failed else "ok"}">{n_failed} {e(t("failed", lang))}</span>'
    )
    if n_noted:
        headline += f', <span class="notes">{n_noted} {e(t(OK_WITH_NOTES, lang))}</span>'
    return f"""<!DOCTYPE html>
<html lang="{e(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(t("Accounts receivable reports", lang))} {as_of}</title>
<style>
body {{ font-family: "Segoe UI", "Helvetica Neue", Arial, "Noto Sans CJK SC", sans-serif; max-width: 1180px; margin: 24px auto; padding: 0 16px; color: #222; }}
.unit {{ border: 1px solid #ddd; border-radius: 8px; padding: 8px 16px; margin: 12px 0; }}
.unit h2 {{ margin: 4px 0; font-size: 20px; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }}
.tile {{ border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px 12px; min-width: 140px; }}
.tile .k {{ font-size: 12px; color: #555; }} .tile .v {{ font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }}
.d {{ font-size: 12px; }} .good {{ color: #1a7f37; }} .bad {{ color: #b2182b; font-weight: 600; }} .flat {{ color: #666; }}
.ok {{ color: #1a7f37; font-weight: 600; }} .notes {{ color: #8a5a00; font-weight: 600; }}
ul.notes {{ margin: 4px 0; padding-left: 20px; color: #5c4400; font-size: 14px; font-weight: normal; }} .muted {{ color: #777; font-size: 13px; font-weight: normal; }}
.group-totals table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; }}
.group-totals th, .group-totals td {{ padding: 4px 10px; text-align: right; border-bottom: 1px solid #e3e3e3; }}
.scroll {{ overflow-x: auto; max-width: 100%; }}
footer {{ margin-top: 24px; font-size: 12px; color: #666; }}
@media print {{ .unit {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>{e(t("Accounts receivable reports", lang))} — {as_of}</h1>
<p>{headline}</p>{group_link}
{_group_totals(out_dir, group, lang)}
<p class="muted">{e(t("Run", lang))} {e(str(manifest.get("run_id") or ""))} · {e(str(manifest.get("finished_at") or ""))}</p>
{cards}
<footer>arlib {e(str(manifest.get("arlib_version", "")))} · {e(t("amounts in each unit's currency; group totals in the group currency", lang))}</footer>
</body></html>
"""


def write_index(out_dir: Path, manifest: dict, lang: str = "en", root: Path | None = None) -> Path:
    """Write ``index.html`` of a run folder whole (temp file, then rename)."""
    path = Path(out_dir) / "index.html"
    write_atomic(path, render_index(out_dir, manifest, lang, root))
    return path
