"""Presentation: recorded figures, tables, HTML, summaries, narrative, Excel, landing page, charts."""

from arlib.report.html import contents, stamp_html, to_html  # noqa: F401
from arlib.report.records import KPI_MIME, collect_kpis, merge_sections, record, stamp  # noqa: F401
from arlib.report.tables import LABELS, Panels, column_label, table, tiles  # noqa: F401
