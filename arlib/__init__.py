"""Accounts-receivable reporting and forecasting: the library behind the report notebooks.

The layers are packages, imported where they are used: ``arlib.io`` (sources -> validated
frames), ``arlib.health``, ``arlib.forecast``, ``arlib.provision`` (the computations),
``arlib.report`` (what a reader sees) and ``arlib.run`` (a run of the notebooks). The contract
and core sit here: ``errors``, ``schemas``, ``config``, ``ledger``, ``dso``, ``demo``, ``i18n``.
"""

from arlib.config import ARLIB_VERSION as __version__
from arlib.config import RunConfig
from arlib.errors import ArlibError, ConfigError, DataError, SourceError
from arlib.ledger import Ledger, aging_table, bucket_labels, month_ends
from arlib.report.records import record

__all__ = [
    "ArlibError",
    "ConfigError",
    "DataError",
    "Ledger",
    "RunConfig",
    "SourceError",
    "__version__",
    "aging_table",
    "bucket_labels",
    "month_ends",
    "record",
]
