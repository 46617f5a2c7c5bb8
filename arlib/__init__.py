"""Accounts-receivable reporting and forecasting: the library behind the report notebooks."""

from importlib.metadata import PackageNotFoundError, version

from arlib import config, io, ledger, report
from arlib.config import RunConfig
from arlib.errors import ArlibError, ConfigError, DataError, SourceError
from arlib.ledger import Ledger, aging_table, bucket_labels, month_ends
from arlib.report import record

try:
    __version__ = version("arlib")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

__all__ = [
    "ArlibError", "ConfigError", "DataError", "Ledger", "RunConfig", "SourceError", "__version__",
    "aging_table", "bucket_labels", "config", "io", "ledger", "month_ends", "record", "report",
]
