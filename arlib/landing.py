"""The landing page ``outputs/<as_of>/index.html``: every unit, its status, reports and headline KPIs."""

from __future__ import annotations

import html
import json
from pathlib import Path

#: (kpis.json key, column heading, format)
HEADLINE = (
    ("open_ar", "Open AR", "{:,.0f}"),
    ("past_due_share", "Past due", "{:.1%}"),
    ("dso", "DSO (days)", "{:.1f}"),
    ("cei", "CEI (%)", "{:.1f}"),
    ("allowance", "Allowance", "{:,.0f}"),
)


def _fmt(value, fmt: str) -> str:
    if value is None:
        return "n/a"
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return html.escape(str(value))


def render_index(out_dir: Path, manifest: dict) -> str:
    """HTML for the landing page; every value from data is escaped."""
    e = html.escape
    rows = []
    for unit in manifest["units"]:
        bu = unit["business_unit"]
        kpis_path = out_dir / bu / "kpis.json"
        kpis = json.loads(kpis_path.read_text(encoding="utf-8")) if kpis_path.exists() else {}
        ok = unit["status"] == "ok"
        status = '<span class="ok">ok</span>' if ok else f'<span class="bad">failed</span>: {e("; ".join(unit["errors"]))}'
        links = " · ".join(f'<a href="{e(bu)}/{e(r)}">{e(Path(r).stem)}</a>' for r in unit["reports"])
        cells = "".join(f'<td class="num">{_fmt(kpis.get(k), f)}</td>' for k, _, f in HEADLINE)
        cur = e(str(kpis.get("currency", "")))
        rows.append(f"<tr><td><b>{e(bu)}</b></td><td>{cur}</td>{cells}<td>{links}</td><td>{status}</td></tr>")
    heads = "".join(f"<th>{e(h)}</th>" for _, h, _ in HEADLINE)
    as_of = e(str(manifest.get("as_of", "")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>AR reports as of {as_of}</title>
<style>
body {{ font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; max-width: 1180px; margin: 24px auto; padding: 0 16px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.ok {{ color: #1a7f37; }} .bad {{ color: #b2182b; font-weight: 600; }}
footer {{ margin-top: 24px; font-size: 12px; color: #666; }}
</style></head><body>
<h1>Accounts receivable reports as of {as_of}</h1>
<table><thead><tr><th>Business unit</th><th>Currency</th>{heads}<th>Reports</th><th>Status</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<footer>arlib {e(str(manifest.get("arlib_version", "")))} · {len(manifest["units"])} business units · amounts in each unit's currency</footer>
</body></html>
"""


def write_index(out_dir: Path, manifest: dict) -> Path:
    path = out_dir / "index.html"
    path.write_text(render_index(out_dir, manifest), encoding="utf-8")
    return path
