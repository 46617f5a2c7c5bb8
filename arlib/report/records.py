"""What a report notebook hands to the runner: its recorded figures.

Notebooks record headline figures with :func:`record`; the figures travel inside the executed
notebook as a display output of mime type :data:`KPI_MIME` (invisible in the HTML). The runner
reads each notebook's records as that notebook's *section* (:func:`collect_kpis`) and merges the
sections into the unit's ``kpis.json`` without letting one overwrite another
(:func:`merge_sections`). So the numbers in ``kpis.json`` are exactly the numbers the notebooks
computed and showed, and a plain ``papermill`` run needs no files.
"""

from __future__ import annotations

import json
import math

from arlib.errors import ArlibError

KPI_MIME = "application/vnd.arlib.kpis+json"

#: keys that belong to one notebook and are kept per section only (never merged flat)
SECTION_ONLY = ("parameters", "notes")

#: a unit's status: its reports ran; they ran but the data lacks some figures (the notes say
#: which, :mod:`arlib.report.datanotes`); it failed (no report)
OK, OK_WITH_NOTES, FAILED = "ok", "ok with notes", "failed"


def succeeded(status: str | None) -> bool:
    """True for a unit (or run) whose reports were produced: ``ok`` or ``ok with notes``.

    >>> succeeded("ok with notes"), succeeded("failed")
    (True, False)
    """
    return status in (OK, OK_WITH_NOTES)


def section_notes(sections: dict[str, dict]) -> list[str]:
    """Every note the sections recorded (key ``notes``), in notebook order, each once.

    >>> section_notes({"health": {"notes": ["a", "b"]}, "forecast": {"notes": ["b", "c"]}})
    ['a', 'b', 'c']
    """
    seen: dict[str, None] = {}
    for values in sections.values():
        seen.update(dict.fromkeys(str(n) for n in values.get("notes") or []))
    return list(seen)


def to_jsonable(obj):
    """Numpy/pandas scalars and containers -> plain JSON types; NaN/inf -> None.

    >>> import numpy as np
    >>> to_jsonable({"a": np.float64(1.5), "b": [np.int64(2), float("nan")]})
    {'a': 1.5, 'b': [2, None]}
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "to_dict") and hasattr(obj, "index"):  # a pandas Series
        return to_jsonable(obj.to_dict())
    if hasattr(obj, "item") and not isinstance(obj, list | dict | str):  # a numpy scalar
        obj = obj.item()
    if hasattr(obj, "strftime"):
        return obj.strftime("%Y-%m-%d")
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def record(kpis: dict) -> None:
    """Record figures (a flat, JSON-able mapping) in this notebook's section of ``kpis.json``."""
    from IPython.display import display

    display({KPI_MIME: to_jsonable(kpis)}, raw=True)


def stamp(cfg, ledger) -> dict:
    """The audit stamp of a notebook: unit, close date, currency, input fingerprint, arlib
    version and the notebook's own effective parameters (secrets redacted)."""
    from arlib.config import ARLIB_VERSION as __version__
    from arlib.ledger import fingerprint
    from arlib.redact import redacted

    return {
        "business_unit": cfg.business_unit,
        "as_of": cfg.as_of.strftime("%Y-%m-%d"),
        "currency": cfg.currency,
        # the snapshot's fingerprint, verified when it was read (a unit's data are hashed once
        # per kernel, not twice); a ledger built in the notebook itself is hashed here
        "input_fingerprint": getattr(ledger, "input_fingerprint", None) or fingerprint(ledger),
        "arlib_version": __version__,
        # where the runner puts files and the unit's data is not a choice of the unit: left out
        "parameters": redacted(
            {k: v for k, v in cfg.items() if k not in ("output_dir", "snapshot")}
        ),
    }


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


class SectionConflict(ArlibError):
    """Two notebooks of a unit recorded different values under one key."""


def merge_sections(sections: dict[str, dict]) -> dict:
    """The unit's flat figures from its notebooks' sections, in notebook order. A key recorded by
    several notebooks must carry the same value in each (a figure is never silently replaced);
    per-notebook keys (:data:`SECTION_ONLY`) stay in their section.

    >>> merge_sections({"health": {"open_ar": 10.0, "parameters": {"a": 1}}, "forecast": {"open_ar": 10.0}})
    {'open_ar': 10.0}
    >>> merge_sections({"health": {"open_ar": 10.0}, "forecast": {"open_ar": 11.0}})
    Traceback (most recent call last):
    ...
    arlib.report.records.SectionConflict: 'open_ar' differs between the health and forecast reports (10.0 and 11.0). Fix: record it in one notebook only
    """
    flat: dict = {}
    owner: dict[str, str] = {}
    for name, values in sections.items():
        for key, value in values.items():
            if key in SECTION_ONLY:
                continue
            if key in flat and flat[key] != value:
                raise SectionConflict(
                    f"{key!r} differs between the {owner[key]} and {name} reports "
                    f"({flat[key]!r} and {value!r}). Fix: record it in one notebook only"
                )
            flat.setdefault(key, value)
            owner.setdefault(key, name)
    return flat
