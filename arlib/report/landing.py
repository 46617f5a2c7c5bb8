"""The landing page ``outputs/<as_of>/index.html``: a tile card per unit with headline KPIs and
their movement against the previous run, its status (ok / failed with the reason), links to its
reports and to the group report. Every value from data is escaped; no external resources."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from arlib.i18n import t
from arlib.report.summary import TILES, format_value

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def previous_kpis(out_dir: Path, unit: str) -> tuple[str | None, dict]:
    """The unit's kpis from the latest earlier run (an ``as_of`` folder beside ``out_dir``)."""
    earlier = sorted(
        p
        for p in out_dir.parent.iterdir()
        if p.is_dir() and _DATE.fullmatch(p.name) and p.name < out_dir.name
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
    e = html.escape
    now, before = kpis.get(key), prev.get(key)
    arrow, cls = movement(now, before, better)
    change = (
        f'<div class="d {cls}">{e(arrow)}{e(t("from", lang))} {e(format_value(before, kind))}</div>'
        if arrow
        else ""
    )
    return f'<div class="tile"><div class="k">{e(t(label, lang))}</div><div class="v">{e(format_value(now, kind))}</div>{change}</div>'


def _unit_card(out_dir: Path, unit: dict, lang: str) -> str:
    e = html.escape
    bu = unit["business_unit"]
    path = out_dir / bu / "kpis.json"
    kpis = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    prev_as_of, prev = previous_kpis(out_dir, bu)
    ok = unit["status"] == "ok"
    status = (
        f'<span class="ok">{e(t("ok", lang))}</span>'
        if ok
        else f'<span class="bad">{e(t("failed", lang))}: {e("; ".join(unit.get("errors", [])))}</span>'
    )
    links = " · ".join(
        f'<a href="{e(bu)}/{e(r)}">{e(Path(r).stem)}</a>' for r in unit.get("reports", [])
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


def render_index(out_dir: Path, manifest: dict, lang: str = "en") -> str:
    """HTML for the landing page."""
    e = html.escape
    as_of = e(str(manifest.get("as_of", "")))
    cards = "".join(_unit_card(out_dir, u, lang) for u in manifest["units"])
    group = manifest.get("group")
    group_link = ""
    if group:
        gs = (
            "ok" if group.get("status") == "ok" else f"failed: {'; '.join(group.get('errors', []))}"
        )
        group_link = f'<p class="group"><a href="group/group.html">{e(t("Group report", lang))}</a> ({e(gs)})</p>'
    n_failed = sum(u["status"] != "ok" for u in manifest["units"])
    headline = (
        f"{len(manifest['units'])} {e(t('business units', lang))}, "
        f'<span class="{"bad" if n_failed else "ok"}">{n_failed} {e(t("failed", lang))}</span>'
    )
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
.ok {{ color: #1a7f37; font-weight: 600; }} .muted {{ color: #777; font-size: 13px; font-weight: normal; }}
footer {{ margin-top: 24px; font-size: 12px; color: #666; }}
@media print {{ .unit {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>{e(t("Accounts receivable reports", lang))} — {as_of}</h1>
<p>{headline}</p>{group_link}
{cards}
<footer>arlib {e(str(manifest.get("arlib_version", "")))} · {e(t("amounts in each unit's currency", lang))}</footer>
</body></html>
"""


def write_index(out_dir: Path, manifest: dict, lang: str = "en") -> Path:
    path = out_dir / "index.html"
    path.write_text(render_index(out_dir, manifest, lang), encoding="utf-8")
    return path
