"""A small exception tree whose messages say what is wrong and how to fix it.

Every user-facing error names *where* (file, key or column), *how much* (row counts) and
*the fix*. The CLI and the notebooks print ``str(error)`` only, never a traceback, for any
:class:`ArlibError`.
"""

from __future__ import annotations


class ArlibError(Exception):
    """Base class: a problem the user can fix (bad params, bad data, missing input)."""


class ConfigError(ArlibError):
    """A params file or parameter value is invalid.

    >>> str(ConfigError("window_months", "must be >= 1, got 0", source="params/de.yaml"))
    'params/de.yaml: parameter window_months: must be >= 1, got 0'
    """

    def __init__(self, key: str, problem: str, source: str | None = None):
        self.key, self.problem, self.source = key, problem, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}parameter {key}: {problem}")


class DataError(ArlibError):
    """Input data breaks the contract.

    >>> str(DataError("invoices.csv", "due_date", 3, "is before invoice_date", "fix the dates"))
    'invoices.csv: column due_date: 3 rows is before invoice_date. Fix: fix the dates'
    """

    def __init__(self, source: str, column: str | None, rows: int, problem: str, fix: str):
        self.source, self.column, self.rows, self.problem, self.fix = (
            source,
            column,
            rows,
            problem,
            fix,
        )
        col = f"column {column}: " if column else ""
        noun = "row" if rows == 1 else "rows"
        super().__init__(f"{source}: {col}{rows} {noun} {problem}. Fix: {fix}")


class SourceError(ArlibError):
    """An input source (file, database, table) cannot be reached or read."""
