"""An executed notebook as one self-contained HTML page: no code, images embedded, no external
requests; a table of contents and the audit stamp."""

from __future__ import annotations

import html
import json
import re
import threading
import warnings
from pathlib import Path

from arlib.i18n import LABELS, column_label, paragraph, t
from arlib.numbers import fmt
from arlib.redact import redacted
from arlib.report.images import compress_outputs
from arlib.report.records import KPI_MIME

TEMPLATES = Path(__file__).parent / "templates"


#: one exporter per page language and process: a new one compiles its Jinja templates again
#: (~0.3 s a report), and one keeps the language it first wrote (``<html lang>``); one thread
#: at a time uses them
_EXPORTERS: dict[str, object] = {}
_EXPORT_LOCK = threading.Lock()


def _exporter(language_code: str = "en"):
    """The process's HTML exporter for ``language_code`` (made once); use it under
    ``_EXPORT_LOCK``."""
    if language_code not in _EXPORTERS:
        _EXPORTERS[language_code] = _new_exporter(language_code)
    return _EXPORTERS[language_code]


def _new_exporter(language_code: str):
    from nbconvert import HTMLExporter

    exp = HTMLExporter(template_name="arreport", extra_template_basedirs=[str(TEMPLATES)])
    exp.exclude_input = True
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    exp.embed_images = True
    exp.language_code = language_code
    return exp


def _html_cell(markup: str, cell_id: str):
    """A cell showing ``markup``, with a fixed id (a random one would differ run to run)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.id = cell_id
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
    nb,
    title: str,
    language: str = "en",
    top_html: str = "",
    stamp: dict | None = None,
    header: str = "",
) -> str:
    """One self-contained HTML page from an executed notebook: no code, images embedded, no
    external scripts or styles. ``header`` (unit, close, currency, run, links) opens the page;
    markdown is translated to ``language``; ``top_html`` (tiles, executive summary) and a table
    of contents go under the title; the audit ``stamp`` closes it. Warnings the notebook
    printed become plain notes ("Note: ..."); other library messages are left out.
    """
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a deep copy we may edit
    nb.metadata["title"] = title
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_plain_note(language), cell.outputs) if o is not None]
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or _visible(c)]  # no blank gaps
    for cell in nb.cells:  # an error shows one line here; its traceback stays in the run's log
        cell["outputs"] = [_error_note(o, language) for o in cell.get("outputs", [])]
    compress_outputs(nb)
    headings = []
    params = (stamp or {}).get("parameters") or {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = plain_names(
                paragraph(cell.source, language, f"{title}: markdown cell {cell.get('id')}"),
                params,
                language,
            )
            headings += _h2(cell.source)
        else:  # a section written by an arlib call displays its heading as markdown
            for o in cell.get("outputs", []):
                md = o.get("data", {}).get("text/markdown")
                if md:
                    o["data"]["text/markdown"] = plain_names("".join(md), params, language)
                    headings += _h2(o["data"]["text/markdown"])
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    block = top_html + contents(headings, language)
    if block:
        nb.cells.insert(first_md + 1, _html_cell(block, "arlib-summary"))
    if header:
        nb.cells.insert(0, _html_cell(header, "arlib-header"))
    if stamp:
        nb.cells.append(_html_cell(stamp_html(stamp, language), "arlib-stamp"))
    with _EXPORT_LOCK, warnings.catch_warnings():  # the KPI record output is meant to be invisible
        warnings.filterwarnings(
            "ignore", message=".*is not able to be represented", category=UserWarning
        )
        exporter = _exporter("zh-CN" if language == "zh" else "en")
        body, _ = exporter.from_notebook_node(nb)
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


_CODE_NAME = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+|as_of)`")


def plain_names(markdown: str, params: dict, lang: str = "en") -> str:
    """Prose without code names: a parameter in backticks becomes its value when that is a
    number or a word (``window_months`` -> 3), else its name in words; a column name its
    header. File names and other code stay as they are.

    >>> plain_names("the `window_months` months; if `discount_take_up` is set; `relative_wape`",
    ...             {"window_months": 3, "discount_take_up": None})
    'the 3 months; if discount take up is set; WAPE vs seasonal naive'
    >>> plain_names("(`base_loss_rate` is before it), see `collection_worklist.csv`", {})
    '(base loss rate is before it), see `collection_worklist.csv`'
    """

    def name(m: re.Match) -> str:
        key = m.group(1)
        if key in params:
            v = params[key]
            plain = isinstance(v, int | float | str) and not isinstance(v, bool)
            plain = plain and not (isinstance(v, str) and ("/" in v or "\\" in v))  # no paths
            return str(v) if plain else t(key.replace("_", " "), lang)
        if key in LABELS:
            return column_label(key, lang)
        words = column_label(key, lang)  # a column or method: its header, in the sentence's case
        return words.lower() if words == key.replace("_", " ").capitalize() else words

    return _CODE_NAME.sub(name, markdown)


def _h2(markdown) -> list[str]:
    text = "".join(markdown) if isinstance(markdown, list) else markdown
    return [ln[3:].strip() for ln in text.splitlines() if ln.startswith("## ")]


NOTE_PREFIX = re.compile(r"^Note \((\w+)\): ")


def _plain_note(lang: str):
    """An output mapper: a stderr stream becomes its warnings as notes (what the reader needs
    to know), without the warning class; other stderr text (library chatter) is dropped."""

    def convert(output):
        if output.get("output_type") != "stream" or output.get("name") != "stderr":
            return output
        import nbformat

        text = "".join(output.get("text", ""))
        notes = [NOTE_PREFIX.sub("", ln) for ln in text.splitlines() if NOTE_PREFIX.match(ln)]
        if not notes:
            return None
        label = html.escape(t("Note", lang))
        markup = "".join(f'<p class="ar-note">{label}: {html.escape(n)}</p>' for n in notes)
        return nbformat.v4.new_output("display_data", data={"text/html": markup})

    return convert


def _visible(cell) -> bool:
    """Whether a code cell shows anything in the HTML (not just a KPI record or nothing)."""
    for o in cell.get("outputs", []):
        if o.get("output_type") in ("stream", "error"):
            return True
        if set(o.get("data", {})) - {KPI_MIME}:
            return True
    return False


def stamp_html(stamp: dict, lang: str = "en") -> str:
    """The audit stamp as a footer: run, fingerprint, versions, run time, and the parameters
    used (secrets redacted, machine paths shortened) as a collapsed table."""
    e = html.escape
    fp = stamp.get("input_fingerprint") or {}
    rows = [
        (t("Run", lang), stamp.get("run_id")),
        (t("Business unit", lang), stamp.get("business_unit")),
        (t("Close date", lang), stamp.get("as_of")),
        (t("Input fingerprint", lang), f"sha256 {fp.get('sha256', 'n/a')}"),
        (
            t("Rows", lang),
            ", ".join(f"{t(k, lang)} {v:,}" for k, v in (fp.get("rows") or {}).items()),
        ),
        (
            t("Control totals", lang),
            ", ".join(
                f"{t(k, lang)} {fmt(v, 'amount', 2)}"
                for k, v in (fp.get("control_totals") or {}).items()
            ),
        ),
        (t("arlib version", lang), stamp.get("arlib_version")),
        (t("Git commit", lang), stamp.get("git_commit")),
        (t("Generated", lang), stamp.get("generated_at")),
    ]
    body = "".join(
        f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows if v not in (None, "")
    )
    return (
        f'<footer class="ar-stamp"><h4>{e(t("Audit stamp", lang))}</h4><table>{body}</table>'
        f"{parameters_html(redacted(stamp.get('parameters') or {}), lang)}</footer>"
    )


def parameters_html(params: dict, lang: str = "en") -> str:
    """The parameters of the run as a collapsed two-column table (one row per parameter).

    >>> out = parameters_html({"source": "sqlite:////tmp/x/ar.sqlite", "window_months": 3})
    >>> "/tmp" in out, "<td>sqlite:///…/ar.sqlite</td>" in out, "<details>" in out
    (False, True, True)
    """
    if not params:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><th>{e(k)}</th><td>{e(_param_text(v))}</td></tr>" for k, v in sorted(params.items())
    )
    return (
        f"<details><summary>{e(t('Parameters used', lang))}</summary><table>"
        f"<thead><tr><th>{e(t('Parameter', lang))}</th><th>{e(t('Value', lang))}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details>"
    )


_ABSOLUTE = re.compile(r"^(?P<scheme>[a-z][\w+]*:///)?(?P<path>/|[A-Za-z]:[\\/])")


def _param_text(v) -> str:
    """A parameter value as text; an absolute path (or file URL) shows only its last part."""
    if isinstance(v, str):
        m = _ABSOLUTE.match(v)
        if m:
            name = re.split(r"[\\/]", v.rstrip("/\\"))[-1]
            return f"{m.group('scheme') or ''}…/{name}"
        return v
    return json.dumps(v, ensure_ascii=False)
