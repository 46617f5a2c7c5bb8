"""Accounts-receivable reporting and forecasting: the library behind the report notebooks.

Submodules load on first use (``arlib.health``, ``arlib.forecast`` ...), so ``import arlib`` in
a report kernel stays cheap.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from arlib.config import RunConfig
from arlib.errors import ArlibError, ConfigError, DataError, SourceError
from arlib.ledger import Ledger, aging_table, bucket_labels, month_ends
from arlib.report import record

try:
    __version__ = version("arlib")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

#: the domain modules, imported when first used
SUBMODULES = (
    "breakdown", "config", "credit", "demo", "dso", "excel", "forecast", "group", "health", "i18n", "io",
    "ledger", "narrative", "plots", "provision", "reconcile", "report", "summary",
)

__all__ = [
    "ArlibError", "ConfigError", "DataError", "Ledger", "RunConfig", "SourceError", "__version__",
    "aging_table", "bucket_labels", "month_ends", "record", *SUBMODULES,
]


def __getattr__(name: str):
    if name in SUBMODULES:
        return import_module(f"arlib.{name}")
    raise AttributeError(f"module 'arlib' has no attribute {name!r}")
