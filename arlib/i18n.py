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
