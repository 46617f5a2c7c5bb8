"""Report language: English text is the message id; catalogs translate it (gettext style).

``arlib/locale/<lang>*.yaml`` (one file per area, merged) maps English strings (labels, headings, chart text, whole markdown
paragraphs of the notebooks) to the target language. Text without a translation stays in
English, so editing a notebook never breaks a report; ``tests/test_i18n.py`` lists what is
missing. The language of a run is the ``report_language`` parameter.

>>> t("Open AR", "zh")
'应收账款余额'
>>> t("No such text", "zh")
'No such text'
>>> t("Open AR", "en")
'Open AR'
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from pathlib import Path

import yaml

from arlib.errors import ConfigError

LANGUAGES = ("en", "zh")
_LOCALE = Path(__file__).parent / "locale"
_current = {"lang": "en"}


def _norm(text: str) -> str:
    return " ".join(str(text).split())


@lru_cache(maxsize=4)
def catalog(lang: str) -> dict[str, str]:
    """The translations of ``lang`` keyed by whitespace-normalised English text."""
    check_language(lang)
    if lang == "en":
        return {}
    out: dict[str, str] = {}
    for path in sorted(_LOCALE.glob(f"{lang}*.yaml")):  # zh.yaml, zh_health.yaml, ...
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out.update({_norm(k): v for k, v in data.items()})
    return out


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ConfigError("report_language", f"must be one of {list(LANGUAGES)}, got {lang!r}")
    return lang


def set_language(lang: str) -> None:
    """Language used by :func:`t` when none is given (set once per notebook by the theme)."""
    _current["lang"] = check_language(lang)


def language() -> str:
    return _current["lang"]


def t(text: str, lang: str | None = None) -> str:
    """``text`` in ``lang`` (default: the current report language), else unchanged."""
    lang = lang or _current["lang"]
    if lang == "en" or not isinstance(text, str):
        return text
    return catalog(lang).get(_norm(text), text)


def t_filled(text: str, template: str, lang: str | None = None) -> str | None:
    """``text`` made from the catalog key ``template`` (``template.format(...)``, placeholders
    ``{name}``) in ``lang``: the translated template with the same values put in; ``None`` when
    ``text`` is not made from ``template`` or the template has no translation. For messages
    stored in English with their figures in them (a unit's notes in ``manifest.json``) and
    shown in the reader's language. Opt-in per template: short templates match too much.

    >>> t_filled("Aging 1-30", "Aging {bucket}", "zh")
    '账龄 1-30'
    >>> t_filled("Aged 1-30", "Aging {bucket}", "zh") is None
    True
    """
    lang = lang or _current["lang"]
    value = catalog(lang).get(_norm(template)) if lang != "en" else template
    m = _pattern(_norm(template)).fullmatch(_norm(text))
    if value is None or m is None:
        return None
    return value.format_map(m.groupdict())


@lru_cache(maxsize=64)
def _pattern(template: str) -> re.Pattern:
    """``template`` as an anchored pattern; a name used twice must hold the same value."""
    parts, seen, rx = re.split(r"\{(\w+)\}", template), set(), []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            rx.append(re.escape(part))
        else:
            rx.append(f"(?P={part})" if part in seen else f"(?P<{part}>.+?)")
            seen.add(part)
    return re.compile("".join(rx))


class UntranslatedWarning(UserWarning):
    """A paragraph of a report has no translation in the report language: shown in English."""


def paragraph(text: str, lang: str, where: str = "") -> str:
    """A whole markdown paragraph (a notebook cell) in ``lang``. An edited paragraph whose new
    text is not in the catalog yet falls back to its English source with an
    :class:`UntranslatedWarning` naming ``where`` (e.g. the notebook cell), never an error.

    >>> paragraph("Open AR", "zh")
    '应收账款余额'
    """
    if lang == "en" or has(text, lang):
        return t(text, lang)
    first = " ".join(str(text).split())[:60]
    warnings.warn(
        f"{where or 'a paragraph'} ({first!r}...) has no {lang} translation: shown in English. "
        f"Fix: add its text to arlib/locale/{lang}_*.yaml",
        UntranslatedWarning,
        stacklevel=2,
    )
    return text


def has(text: str, lang: str) -> bool:
    return lang == "en" or _norm(text) in catalog(lang)


def localize_axes(ax, lang: str | None = None):
    """Translate a finished chart's title, axis labels, legend and categorical tick labels."""
    lang = lang or _current["lang"]
    if lang == "en":
        return ax
    ax.set_title(t(ax.get_title(), lang))
    ax.set_xlabel(t(ax.get_xlabel(), lang))
    ax.set_ylabel(t(ax.get_ylabel(), lang))
    leg = ax.get_legend()
    if leg is not None:
        for txt in leg.get_texts():
            txt.set_text(t(txt.get_text(), lang))
        if leg.get_title() is not None:
            leg.get_title().set_text(t(leg.get_title().get_text(), lang))
    for axis in (ax.xaxis, ax.yaxis):
        labels = axis.get_ticklabels()
        if labels and any(has(lb.get_text(), lang) for lb in labels if lb.get_text()):
            axis.set_ticks(axis.get_ticklocs(), [t(lb.get_text(), lang) for lb in labels])
    return ax


#: display names of common columns (English); other snake_case names become "Days past due" style
LABELS = {
    "open_ar": "Open AR",
    "current_ar": "Current AR",
    "past_due_ar": "Past-due AR",
    "dso": "DSO",
    "dso_countback": "Countback DSO",
    "bpdso": "Best-possible DSO",
    "add": "ADD",
    "cei": "CEI",
    "hhi": "HHI",
    "customer_id": "Customer",
    "name": "Name",
    "invoice_id": "Invoice",
    "ar_window_start": "AR at window start",
    "yhat": "Forecast",
    "wape": "WAPE",
    "mase": "MASE",
    "smape": "sMAPE",
    "unique_id": "Series",
    "ds": "Period",
    "y": "Actual",
    "yhat_lo_80": "Low (80%)",
    "yhat_hi_80": "High (80%)",
    "yhat_lo_95": "Low (95%)",
    "yhat_hi_95": "High (95%)",
    "fitted": "Model used",
    "cutoff": "Cut-off",
    "relative_wape": "WAPE vs seasonal naive",
    "relative_mase": "MASE vs seasonal naive",
    "coverage_80": "Actuals in 80% range",
    "coverage_95": "Actuals in 95% range",
    "p_paid": "Chance paid at all",
    "p_horizon": "Chance paid within 13 weeks",
}


def column_label(col, lang: str | None = None) -> str:
    """The header shown for a column: a translation if the catalog has one, else a readable name.

    >>> column_label("days_past_due"), column_label("open_ar"), column_label("open_ar", "zh")
    ('Days past due', 'Open AR', '应收账款余额')
    """
    if not isinstance(col, str):
        return col
    label = LABELS.get(col) or (
        col.replace("_", " ").capitalize() if "_" in col or col.islower() else col
    )
    translated = t(col, lang)
    return translated if translated != col else t(label, lang)


#: columns whose values are words of ours (not data) and are translated in the report language
WORD_COLUMNS = {
    "method",
    "metric",
    "status",
    "model",
    "segment",
    "step",
    "next_step",
    "limit_action",
    "kind",
    "section",
    "line",
    "check",
    "frame",
    "problem",
    "policy",
}


def display_frame(df, lang: str | None = None):
    """A copy of ``df`` for a reader (Excel, CSV): our words translated in the
    :data:`WORD_COLUMNS` and the aging ``bucket``, headers as :func:`column_label` shows them.

    >>> import pandas as pd
    >>> display_frame(pd.DataFrame({"next_step": ["call"], "open_amount": [1.0]}), "zh").columns.tolist()
    ['下一步', '未结金额']
    """
    out = df.copy()
    for c in [c for c in out.columns if c in WORD_COLUMNS or c == "bucket"]:
        out[c] = out[c].map(lambda v: t(v, lang) if isinstance(v, str) else v)
    return out.rename(columns={c: column_label(c, lang) for c in out.columns})
