"""Params YAML -> one frozen, validated run configuration.

Parameters are declared once, in the ``parameters`` cell of each report notebook, one per line
as ``name: type = default  # help``: papermill reads the same lines for ``--help-notebook``.
The set of valid keys is the union over ``notebooks/*.ipynb``; a key no notebook declares is an
error naming the nearest valid key. Params files are flat YAML (JSON types, dates as ISO
strings), loaded safely; ``params/defaults.yaml`` holds shared defaults and every other file
there is one business unit.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from arlib.errors import ConfigError
from arlib.ledger import check_thresholds

try:
    #: the installed arlib's version, shown in every audit stamp
    ARLIB_VERSION = version("arlib")
except PackageNotFoundError:  # running from a source tree without install
    ARLIB_VERSION = "0.0.0+src"
DEFAULTS_FILE = "defaults.yaml"
GROUP_FILE = "group.yaml"  # parameters of the group report, not a business unit
_DECL = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>[^=]+?)\s*=\s*(?P<value>.+?)\s*(?:#\s*(?P<help>.*))?$"
)
_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}
#: parameters whose value is an environment-variable *name*; their values are never read here
SECRET_SUFFIX = "_env"


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    help: str
    notebook: str


def project_root(start: Path | None = None) -> Path:
    """The project folder: ``$ARLIB_HOME``, else the nearest parent of ``start`` (default: the
    working directory) holding ``notebooks/`` and ``params/``, else the folder above ``arlib``."""
    if os.environ.get("ARLIB_HOME"):
        return Path(os.environ["ARLIB_HOME"]).resolve()
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "notebooks").is_dir() and (d / "params").is_dir():
            return d
    return Path(__file__).resolve().parents[1]


def parse_parameters_cell(source: str, notebook: str = "") -> list[Param]:
    """Declarations ``name: type = default  # help`` of a parameters cell.

    >>> [p.name for p in parse_parameters_cell('as_of: str = "2024-01-31"  # close date')]
    ['as_of']
    """
    out = []
    for line in source.splitlines():
        m = _DECL.match(line.strip())
        if m:
            value = ast.literal_eval(m["value"])
            out.append(
                Param(m["name"], m["type"].strip(), value, (m["help"] or "").strip(), notebook)
            )
    return out


@lru_cache(maxsize=8)
def _declared(notebooks_dir: str, stamp: tuple) -> dict[str, Param]:
    params: dict[str, Param] = {}
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                for p in parse_parameters_cell("".join(cell["source"]), path.stem):
                    params.setdefault(p.name, p)
    return params


def declared_parameters(notebooks_dir: Path | None = None) -> dict[str, Param]:
    """Every parameter declared by the report notebooks, by name (first declaration wins)."""
    d = notebooks_dir or project_root() / "notebooks"
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(Path(d).glob("*.ipynb")))
    return _declared(str(d), stamp)


def notebook_declared(notebook: Path) -> dict[str, Param]:
    """The parameters one notebook declares in its parameters cell, by name."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    params = [
        p for c in cells for p in parse_parameters_cell("".join(c["source"]), Path(notebook).stem)
    ]
    return {p.name: p for p in params}


def notebook_parameters(notebook: Path) -> list[str]:
    """Names declared in one notebook's parameters cell."""
    return list(notebook_declared(notebook))


#: a business-unit code names a folder of the run: letters, digits, "-", "_", "." (not first)
_UNIT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: names a run uses itself beside the unit folders
RESERVED_NAMES = frozenset(
    {"group", "index.html", "manifest.json", "forecast_store", "scratch", "demo", "bench"}
)


def check_unit_code(code: Any, source: str | None = None) -> str:
    """A business-unit code that is safe as a folder name in the run, else a ConfigError.

    >>> check_unit_code("391"), check_unit_code("de-01")
    ('391', 'de-01')
    >>> check_unit_code("../x")
    Traceback (most recent call last):
    ...
    arlib.errors.ConfigError: parameter business_unit: '../x' is not a safe unit code: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit (no path separators, no '..')
    """
    text = str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None
    if text is None or not _UNIT_CODE.fullmatch(text) or ".." in text:
        raise ConfigError(
            "business_unit",
            f"{code!r} is not a safe unit code: use 1-64 letters, digits, '-', "
            "'_' or '.', starting with a letter or digit (no path separators, no '..')",
            source,
        )
    if text.lower() in RESERVED_NAMES:
        raise ConfigError(
            "business_unit",
            f"{text!r} is a name the run uses itself ({', '.join(sorted(RESERVED_NAMES))}); "
            "choose another unit code",
            source,
        )
    return text


def _is_date_key(name: str) -> bool:
    return name == "as_of" or name.endswith("_date")


def _check_value(p: Param, value: Any, source: str | None) -> Any:
    base = p.type.split("[")[0].strip()
    want = _TYPES.get(base)
    if value is None and p.default is None:
        return None
    if want is not None and (
        not isinstance(value, want) or (base in ("int", "float") and isinstance(value, bool))
    ):
        raise ConfigError(p.name, f"must be {base}, got {type(value).__name__} {value!r}", source)
    if _is_date_key(p.name) and value is not None:
        try:  # a real calendar date written YYYY-MM-DD (YAML may already have made it a date)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                raise ValueError
            day = date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                p.name, f"must be an ISO date like 2024-06-30, got {value!r}", source
            ) from None
        return day.isoformat()
    return value


class RunConfig(Mapping):
    """Frozen, validated parameters of one run; attribute access, dates as ``pd.Timestamp``.

    >>> cfg = RunConfig({"as_of": "2024-06-30", "window_months": 3})
    >>> cfg.as_of, cfg.window_months
    (Timestamp('2024-06-30 00:00:00'), 3)
    """

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __getattr__(self, name):
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}") from None
        if _is_date_key(name) and value is not None:
            import pandas as pd  # loaded on first use: planning a run needs no pandas

            return pd.Timestamp(value)
        return value

    def __setattr__(self, name, value):
        raise AttributeError("RunConfig is frozen")

    def __repr__(self):
        return f"RunConfig({dict(redacted(self._values))})"


def redacted(values: Mapping[str, Any]) -> dict[str, Any]:
    """Params safe to show: values of keys that look secret are replaced (``*_env`` keys hold only
    variable names and are kept)."""
    secret = re.compile(r"(password|secret|token|credential|api_key)", re.I)
    return {
        k: ("***" if secret.search(k) and not k.endswith(SECRET_SUFFIX) else v)
        for k, v in values.items()
    }


#: group targets: KPI -> (unit in words, lowest, highest allowed value)
TARGET_KPIS = {
    "dso": ("days, e.g. 45", 0.0, 3650.0),
    "add": ("days past the terms, e.g. 10", 0.0, 3650.0),
    "cei": ("percent as in the reports, e.g. 80 for 80%", 1.0, 100.0),
    "past_due_share": ("a fraction of open AR, e.g. 0.25 for 25%", 0.0, 1.0),
}


def check_targets(targets: Mapping[str, Any], source: str | None = None) -> None:
    """The group's ``targets``: known KPIs with numbers in range. CEI is in percent like the
    reports, so 0.8 is refused rather than read as 0.8% (a target no unit could miss).

    >>> check_targets({"dso": 45, "cei": 0.8})
    Traceback (most recent call last):
    ...
    arlib.errors.ConfigError: parameter targets: cei must be percent as in the reports, e.g. 80 for 80% (between 1.0 and 100.0), got 0.8
    """
    for kpi, value in targets.items():
        if kpi not in TARGET_KPIS:
            raise ConfigError(
                "targets",
                f"{kpi!r} is not a KPI with a target; use {', '.join(TARGET_KPIS)}",
                source,
            )
        unit, lo, hi = TARGET_KPIS[kpi]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi
        if not ok or (kpi == "cei" and value <= 1):
            raise ConfigError(
                "targets", f"{kpi} must be {unit} (between {lo} and {hi}), got {value!r}", source
            )


def validate(
    values: Mapping[str, Any],
    source: str | None = None,
    declared: Mapping[str, Param] | None = None,
) -> RunConfig:
    """Check keys and types against the declared parameters; fill defaults; freeze."""
    declared = declared if declared is not None else declared_parameters()
    for key in values:
        if key not in declared:
            near = difflib.get_close_matches(key, list(declared), n=1, cutoff=0.5)
            hint = (
                f"; did you mean {near[0]!r}?"
                if near
                else f"; valid keys: {', '.join(sorted(declared))}"
            )
            raise ConfigError(key, f"is not a parameter of any notebook{hint}", source)
    merged = {name: p.default for name, p in declared.items()}
    merged.update(values)
    checked = {name: _check_value(declared[name], v, source) for name, v in merged.items()}
    if "aging_thresholds" in checked:
        try:
            check_thresholds(checked["aging_thresholds"])
        except ConfigError as e:
            raise ConfigError(e.key, e.problem, source) from None
    if "report_language" in checked:
        from arlib.i18n import LANGUAGES

        if checked["report_language"] not in LANGUAGES:
            raise ConfigError(
                "report_language",
                f"must be one of {list(LANGUAGES)}, got {checked['report_language']!r}",
                source,
            )
    if checked.get("targets"):
        check_targets(checked["targets"], source)
    for key in ("window_months", "trend_months"):
        if key in checked and checked[key] < 1:
            raise ConfigError(key, f"must be >= 1, got {checked[key]}", source)
    if "business_unit" in values:
        check_unit_code(checked["business_unit"], source)
    return RunConfig(checked)


def load(namespace: Mapping[str, Any], notebook: str | None = None) -> RunConfig:
    """The run config of one notebook from its globals: exactly the parameters that notebook
    declares (``notebooks/<notebook>.ipynb``), validated, with that notebook's defaults; a global
    that merely shares a name with another notebook's parameter is not read.

    Used as ``cfg = arlib.config.load(globals(), "health")`` right after the parameters cell.
    Without ``notebook``, every notebook's parameters are read (a scratch notebook). Inside a
    kernel it also makes :class:`~arlib.errors.ArlibError` show as one line, not a traceback.
    """
    _short_errors_in_kernel()
    if notebook:
        declared = notebook_declared(project_root() / "notebooks" / f"{notebook}.ipynb")
    else:
        declared = declared_parameters()
    values = {k: namespace[k] for k in declared if k in namespace}
    return validate(values, f"{notebook or 'notebook'} parameters", declared)


def _short_errors_in_kernel() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return
    shell = get_ipython()
    if shell is None:
        return
    from arlib.errors import ArlibError

    def handler(self, etype, value, tb, tb_offset=None):
        stb = [f"{etype.__name__}: {value}"]
        self._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((ArlibError,), handler)
    # soft problems stay visible in the report, as one plain line (no file path, no code line)
    warnings.formatwarning = lambda message, category, *args, **kwargs: (
        f"Note ({category.__name__}): {message}\n"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """A flat params file, loaded safely (no object construction)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError("(file)", f"is not valid YAML: {e}", str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("(file)", "must be a mapping of parameter: value", str(path))
    return data


def unit_files(paths: list[Path]) -> list[tuple[Path, Path | None]]:
    """(unit file, defaults file) pairs from directories and/or files."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            d = p / DEFAULTS_FILE
            out += [
                (f, d if d.exists() else None)
                for f in sorted(p.glob("*.yaml"))
                if f.name not in (DEFAULTS_FILE, GROUP_FILE)
            ]
        elif p.is_file():
            d = p.parent / DEFAULTS_FILE
            out.append((p, d if d.exists() and d != p else None))
        else:
            raise ConfigError("--params", f"{p} is neither a params file nor a folder")
    return out


def unit_params(
    unit_file: Path, defaults_file: Path | None, overrides: Mapping[str, Any] | None = None
) -> dict:
    """Merged raw params of one unit: defaults < unit file < overrides (e.g. ``--as-of``)."""
    values = read_yaml(defaults_file) if defaults_file else {}
    unit = read_yaml(unit_file)
    for key in unit:
        if isinstance(unit[key], dict) and isinstance(values.get(key), dict):
            # papermill merges shallowly: a unit's mapping would silently replace the default's
            raise ConfigError(
                key,
                f"is a mapping defined both here and in {defaults_file}; define it in "
                "one file only (a unit's mapping would replace the default's entirely)",
                str(unit_file),
            )
    values.update(unit)
    values.setdefault("business_unit", unit_file.stem)
    values.update(overrides or {})
    return values
