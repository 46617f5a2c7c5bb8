"""What a report notebook hands to the runner, and how an executed notebook becomes HTML.

Notebooks record headline figures with :func:`record`; the figures travel inside the executed
notebook as a display output of mime type :data:`KPI_MIME` (invisible in the HTML), and the
runner merges them into the unit's ``kpis.json``. So the numbers in ``kpis.json`` are exactly
the numbers the notebook computed and showed, and a plain ``papermill`` run needs no files.
"""

from __future__ import annotations

import html
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from arlib.i18n import t

if TYPE_CHECKING:
    import pandas as pd

KPI_MIME = "application/vnd.arlib.kpis+json"
TEMPLATES = Path(__file__).parent / "templates"


def record(kpis: dict) -> None:
    """Record headline figures (a flat, JSON-able mapping) for the unit's ``kpis.json``."""
    from IPython.display import display

    from arlib.io import to_jsonable

    display({KPI_MIME: to_jsonable(kpis)}, raw=True)


def stamp(cfg, ledger) -> dict:
    """The audit stamp of a run: unit, close date, currency, input fingerprint, arlib version."""
    from arlib import __version__
    from arlib.config import redacted
    from arlib.io import fingerprint

    return {"business_unit": cfg.business_unit, "as_of": cfg.as_of.strftime("%Y-%m-%d"),
            "currency": cfg.currency, "input_fingerprint": fingerprint(ledger),
            "arlib_version": __version__, "parameters": redacted({k: v for k, v in cfg.items() if k != "output_dir"})}


def git_commit(root: str | Path) -> str | None:
    """The project's git commit (with ``+changes`` when the tracked files differ from it)."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def audit_stamp(kpis: dict, root: str | Path) -> dict:
    """The audit stamp of a unit's run: input fingerprint, parameters (secrets redacted), as_of,
    arlib version, git commit, and the run time (the only value that differs between two runs on
    the same inputs)."""
    from datetime import UTC, datetime

    return {"business_unit": kpis.get("business_unit"), "as_of": kpis.get("as_of"),
            "input_fingerprint": kpis.get("input_fingerprint"), "parameters": kpis.get("parameters"),
            "arlib_version": kpis.get("arlib_version"), "git_commit": git_commit(root),
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}


def export_reports(executed: list, kpis: dict, out_dir: Path) -> list[str]:
    """Write ``<notebook>.html`` for each executed notebook of a unit: title, tiles and executive
    summary from the unit's merged figures, contents, the report, the audit stamp."""
    from arlib.summary import top_block

    lang = (kpis.get("parameters") or {}).get("report_language", "en")
    top = top_block(kpis, lang)
    names = []
    for stem, nb in executed:
        title = f'{t(stem.capitalize() + " report", lang)}: {kpis.get("business_unit")}, {t("as of", lang)} {kpis.get("as_of")}'
        (Path(out_dir) / f"{stem}.html").write_text(to_html(nb, title, lang, top, kpis.get("audit")), encoding="utf-8")
        names.append(f"{stem}.html")
    return names


def collect_kpis(nb) -> dict:
    """Merge every recorded mapping of an executed notebook, in cell order, as plain JSON types
    (not nbformat's dict subclass: a result sent from a pool worker then unpickles in the
    client without importing nbformat)."""
    out: dict = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if KPI_MIME in data:
                payload = data[KPI_MIME]
                out.update(json.loads(payload if isinstance(payload, str) else json.dumps(payload)))
    return out


def _exporter():
    from nbconvert import HTMLExporter

    exp = HTMLExporter(template_name="arreport", extra_template_basedirs=[str(TEMPLATES)])
    exp.exclude_input = True
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    exp.embed_images = True
    return exp


def _html_cell(markup: str):
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": markup})]
    return cell


_ANCHOR_SAFE = "".join(chr(c) for c in range(33, 127) if chr(c) not in '"<>`#%')


def _anchor(heading: str) -> str:
    from urllib.parse import quote

    # how nbconvert anchors headings: spaces to "-", non-ASCII percent-encoded, ASCII kept
    return quote(heading.strip().replace(" ", "-"), safe=_ANCHOR_SAFE)


def contents(headings: list[str], lang: str = "en") -> str:
    """A table of contents linking the report's section headings.

    >>> 'href="#Runoff-of-today&#x27;s-open-items"' in contents(["Runoff of today's open items"])
    True
    >>> 'href="#%E6%91%98%E8%A6%81"' in contents(["摘要"], "zh")
    True
    """
    if not headings:
        return ""
    items = "".join(f'<li><a href="#{html.escape(_anchor(h), quote=True)}">{html.escape(h)}</a></li>' for h in headings)
    return f'<nav class="ar-toc"><b>{html.escape(t("Contents", lang))}</b><ol>{items}</ol></nav>'


def to_html(nb, title: str, language: str = "en", top_html: str = "",
            stamp: dict | None = None) -> str:
    """One self-contained HTML page from an executed notebook: no code, images embedded, no
    external scripts or styles. Markdown is translated to ``language``; ``top_html`` (tiles,
    executive summary) and a table of contents go under the title; the audit ``stamp`` closes it.
    """
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a deep copy we may edit
    nb.metadata["title"] = title
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or _visible(c)]  # no blank gaps
    headings = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = t(cell.source, language)
            headings += [ln[3:].strip() for ln in cell.source.splitlines() if ln.startswith("## ")]
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    block = top_html + contents(headings, language)
    if block:
        nb.cells.insert(first_md + 1, _html_cell(block))
    if stamp:
        nb.cells.append(_html_cell(stamp_html(stamp, language)))
    with warnings.catch_warnings():  # the KPI record output is meant to be invisible
        warnings.filterwarnings("ignore", message=".*is not able to be represented", category=UserWarning)
        body, _ = _exporter().from_notebook_node(nb)
    return body


def _visible(cell) -> bool:
    """Whether a code cell shows anything in the HTML (not just a KPI record or nothing)."""
    for o in cell.get("outputs", []):
        if o.get("output_type") in ("stream", "error"):
            return True
        if set(o.get("data", {})) - {KPI_MIME}:
            return True
    return False


def stamp_html(stamp: dict, lang: str = "en") -> str:
    """The audit stamp as a footer: fingerprint, parameters (secrets redacted), versions, run time."""
    e = html.escape
    fp = stamp.get("input_fingerprint") or {}
    rows = [
        (t("Business unit", lang), stamp.get("business_unit")), ("as_of", stamp.get("as_of")),
        (t("Input fingerprint", lang), f"sha256 {fp.get('sha256', 'n/a')}"),
        (t("Rows", lang), ", ".join(f"{k} {v:,}" for k, v in (fp.get("rows") or {}).items())),
        (t("Control totals", lang), ", ".join(f"{k} {v:,.2f}" for k, v in (fp.get("control_totals") or {}).items())),
        (t("arlib version", lang), stamp.get("arlib_version")), (t("Git commit", lang), stamp.get("git_commit")),
        (t("Generated", lang), stamp.get("generated_at")),
        (t("Parameters", lang), json.dumps(stamp.get("parameters", {}), ensure_ascii=False, sort_keys=True)),
    ]
    body = "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows if v not in (None, ""))
    return f'<footer class="ar-stamp"><h4>{e(t("Audit stamp", lang))}</h4><table>{body}</table></footer>'


def tiles(items: list[tuple[str, str, str]]) -> str:
    """KPI tiles: (label, value, note) triples, already formatted; all text escaped. A note that
    starts with "!" is shown as a risk flag."""
    e = html.escape
    out = []
    for label, value, note in items:
        cls = "ar-flag" if note.startswith("!") else "n"
        out.append(f'<div class="ar-tile"><div class="k">{e(label)}</div><div class="v">{e(value)}</div>'
                   f'<div class="{cls}">{e(note.lstrip("!"))}</div></div>')
    return f'<div class="ar-tiles">{"".join(out)}</div>'


#: display names of common columns (English); other snake_case names become "Days past due" style
LABELS = {"open_ar": "Open AR", "current_ar": "Current AR", "past_due_ar": "Past-due AR", "dso": "DSO",
          "dso_countback": "Countback DSO", "bpdso": "Best-possible DSO", "add": "ADD", "cei": "CEI",
          "hhi": "HHI", "customer_id": "Customer", "name": "Name", "invoice_id": "Invoice",
          "ar_window_start": "AR at window start", "yhat": "Forecast", "wape": "WAPE", "mase": "MASE",
          "smape": "sMAPE"}


def column_label(col, lang: str | None = None) -> str:
    """The header shown for a column: a translation if the catalog has one, else a readable name.

    >>> column_label("days_past_due"), column_label("open_ar"), column_label("open_ar", "zh")
    ('Days past due', 'Open AR', '应收账款余额')
    """
    if not isinstance(col, str):
        return col
    label = LABELS.get(col) or (col.replace("_", " ").capitalize() if "_" in col or col.islower() else col)
    translated = t(col, lang)
    return translated if translated != col else t(label, lang)


#: columns whose values are words of ours (not data) and are translated in the report language
WORD_COLUMNS = {"method", "metric", "status", "model", "segment", "step", "next_step", "limit_action", "kind",
                "section", "line", "check", "frame", "problem", "policy"}
#: widest table shown in one piece; wider ones are split into panels that repeat the id columns
MAX_COLUMNS = 10


class Panels:
    """Several tables shown one under the other (a wide table split to fit a laptop screen)."""

    def __init__(self, parts):
        self.parts = parts

    def _repr_html_(self) -> str:
        return "".join(p.to_html() for p in self.parts)


def table(df: pd.DataFrame, money: list[str] | tuple = (), pct: list[str] | tuple = (),
          decimals: int = 2, caption: str | None = None, max_columns: int = MAX_COLUMNS):
    """A display-ready table: readable (translated) headers, thousands separators, negatives in
    red, percentages, dates as YYYY-MM-DD, data escaped. A table wider than ``max_columns`` is
    split into panels that repeat its leading text (identifier) columns.

    Returns an object with ``_repr_html_`` (a pandas Styler with ``escape="html"``, or panels).
    """
    import pandas as pd

    if isinstance(df.index, pd.RangeIndex) or df.index.name is None:
        frame = df.reset_index(drop=isinstance(df.index, pd.RangeIndex))
    else:
        frame = df.reset_index()
    ids = []
    for c in frame.columns[:2]:
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype):
            ids.append(c)
        else:
            break
    rest = [c for c in frame.columns if c not in ids]
    width = max(max_columns - len(ids), 1)
    if len(frame.columns) <= max_columns:
        return _styled(frame, money, pct, decimals, caption)
    chunks = [rest[i:i + width] for i in range(0, len(rest), width)]
    return Panels([_styled(frame[ids + ch], money, pct, decimals, caption if i == 0 else None)
                   for i, ch in enumerate(chunks)])


def _number(v) -> str:
    """Other floats: two decimals, or four significant digits below 1 (rates such as 0.128)."""
    import pandas as pd

    if pd.isna(v):
        return ""
    return f"{v:,.2f}" if abs(v) >= 1 or v == 0 else f"{v:.4g}"


def _styled(df: pd.DataFrame, money, pct, decimals, caption):
    import pandas as pd

    df = df.copy()
    for c in WORD_COLUMNS & set(df.columns):
        df[c] = df[c].map(lambda v: t(v) if isinstance(v, str) else v)
    if "bucket" in df:
        df["bucket"] = df["bucket"].astype(str).map(lambda v: t(v))
    rename = {c: column_label(c) for c in df.columns}
    money = [rename[c] for c in money if c in rename]
    pct = [rename[c] for c in pct if c in rename]
    df = df.rename(columns=rename)
    fmt = {c: (lambda v, d=decimals: "" if pd.isna(v) else f"{v:,.{d}f}") for c in money}
    fmt.update({c: (lambda v: "" if pd.isna(v) else f"{v:.1%}") for c in pct})
    fmt.update({c: (lambda v: "" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d"))
                for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])})
    fmt.update({c: _number for c in df.columns if c not in fmt and pd.api.types.is_float_dtype(df[c])})
    sty = df.style.format(fmt, escape="html", na_rep="")
    sty = sty.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if money:
        sty = sty.map(lambda v: "color: #b2182b" if isinstance(v, int | float) and v < 0 else "", subset=money)
    text = [c for c in df.columns if df[c].dtype == object and c not in money and c not in pct]
    if text:
        sty = sty.set_properties(subset=text, **{"text-align": "left"})
    if caption:
        sty = sty.set_caption(html.escape(caption))
    return sty.hide(axis="index")
