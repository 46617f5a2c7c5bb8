"""Accounts-receivable reporting and forecasting: the library behind the report notebooks.

Submodules and the names below load on first use (``arlib.health``, ``arlib.Ledger`` ...), so
``import arlib`` stays cheap in a report kernel and in the ``arlib`` command.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("arlib")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

#: the domain modules, imported when first used
SUBMODULES = (
    "breakdown", "config", "credit", "demo", "dso", "excel", "forecast", "group", "health", "i18n", "io",
    "ledger", "narrative", "plots", "provision", "reconcile", "report", "summary",
)
#: names re-exported here, each imported from its module when first used (``import arlib`` stays
#: light: the ``arlib`` command starts its process pool before it needs pandas)
EXPORTS = {
    "RunConfig": "config", "ArlibError": "errors", "ConfigError": "errors", "DataError": "errors",
    "SourceError": "errors", "Ledger": "ledger", "aging_table": "ledger", "bucket_labels": "ledger",
    "month_ends": "ledger", "record": "report",
}

__all__ = ["__version__", *sorted(EXPORTS), *SUBMODULES]


def __getattr__(name: str):
    if name in EXPORTS:
        return getattr(import_module(f"arlib.{EXPORTS[name]}"), name)
    if name in SUBMODULES:
        return import_module(f"arlib.{name}")
    raise AttributeError(f"module 'arlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
