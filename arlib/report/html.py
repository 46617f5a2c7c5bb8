"""An executed notebook as one self-contained HTML page: no code, images embedded, no external
requests; a table of contents and the audit stamp."""

from __future__ import annotations

import html
import json
import warnings
from pathlib import Path

from arlib.i18n import paragraph, t
from arlib.redact import redacted
from arlib.report.records import KPI_MIME

TEMPLATES = Path(__file__).parent / "templates"


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
    items = "".join(
        f'<li><a href="#{html.escape(_anchor(h), quote=True)}">{html.escape(h)}</a></li>'
        for h in headings
    )
    return f'<nav class="ar-toc"><b>{html.escape(t("Contents", lang))}</b><ol>{items}</ol></nav>'


def to_html(
    nb, title: str, language: str = "en", top_html: str = "", stamp: dict | None = None
) -> str:
    """One self-contained HTML page from an executed notebook: no code, images embedded, no
    external scripts or styles. Markdown is translated to ``language``; ``top_html`` (tiles,
    executive summary) and a table of contents go under the title; the audit ``stamp`` closes it.
    """
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a deep copy we may edit
    nb.metadata["title"] = title
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or _visible(c)]  # no blank gaps
    for cell in nb.cells:  # an error shows one line here; its traceback stays in the run's log
        cell["outputs"] = [_error_note(o, language) for o in cell.get("outputs", [])]
    headings = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = paragraph(
                cell.source, language, f"{title}: markdown cell {cell.get('id')}"
            )
            headings += _h2(cell.source)
        else:  # a section written by an arlib call displays its heading as markdown
            for o in cell.get("outputs", []):
                headings += _h2(o.get("data", {}).get("text/markdown", ""))
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    block = top_html + contents(headings, language)
    if block:
        nb.cells.insert(first_md + 1, _html_cell(block))
    if stamp:
        nb.cells.append(_html_cell(stamp_html(stamp, language)))
    with warnings.catch_warnings():  # the KPI record output is meant to be invisible
        warnings.filterwarnings(
            "ignore", message=".*is not able to be represented", category=UserWarning
        )
        body, _ = _exporter().from_notebook_node(nb)
    return body


#: what the reader sees where a cell stopped on an error (no traceback, no server path)
ERROR_NOTE = "This part of the report stopped on an unexpected error ({name}); the details are in the log beside the report."


def _error_note(output, lang: str):
    """An ``error`` output as one translated line; other outputs unchanged."""
    if output.get("output_type") != "error":
        return output
    import nbformat

    name = html.escape(str(output.get("ename", "Error")))
    text = html.escape(t(ERROR_NOTE, lang)).replace("{name}", name)
    return nbformat.v4.new_output(
        "display_data", data={"text/html": f'<p class="ar-error">{text}</p>'}
    )


def _h2(markdown) -> list[str]:
    text = "".join(markdown) if isinstance(markdown, list) else markdown
    return [ln[3:].strip() for ln in text.splitlines() if ln.startswith("## ")]


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
        (t("Run", lang), stamp.get("run_id")),
        (t("Business unit", lang), stamp.get("business_unit")),
        ("as_of", stamp.get("as_of")),
        (t("Input fingerprint", lang), f"sha256 {fp.get('sha256', 'n/a')}"),
        (t("Rows", lang), ", ".join(f"{k} {v:,}" for k, v in (fp.get("rows") or {}).items())),
        (
            t("Control totals", lang),
            ", ".join(f"{k} {v:,.2f}" for k, v in (fp.get("control_totals") or {}).items()),
        ),
        (t("arlib version", lang), stamp.get("arlib_version")),
        (t("Git commit", lang), stamp.get("git_commit")),
        (t("Generated", lang), stamp.get("generated_at")),
        (
            t("Parameters", lang),
            json.dumps(redacted(stamp.get("parameters", {})), ensure_ascii=False, sort_keys=True),
        ),
    ]
    body = "".join(
        f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows if v not in (None, "")
    )
    return f'<footer class="ar-stamp"><h4>{e(t("Audit stamp", lang))}</h4><table>{body}</table></footer>'
