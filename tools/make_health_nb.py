"""Writes notebooks/health.ipynb (first version). Kept for the record; edit the notebook itself now."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
params = code('''business_unit: str = "de"  # business unit code, as in the data's business_unit column
as_of: str = "2026-10-31"  # close date of the report (ISO date); nothing dated later is used
currency: str = "EUR"  # the unit's reporting currency (ISO code), shown beside amounts
source: str = "outputs/demo/ar_demo.sqlite"  # data source: SQLite file (relative to the project), SQLAlchemy URL, or data files
source_options: dict = {}  # how to read the source: files or tables, column/value maps, date formats (README "Data contract")
validation_policy: dict = {}  # data problem -> "fail" or "quarantine" (README "Validation")
gl_control_total: float = None  # general-ledger AR balance at as_of to reconcile with open AR (optional)
aging_thresholds: list = [0, 30, 60, 90, 120]  # aging bucket limits in days past due; must start at 0
window_months: int = 3  # calendar months in the KPI window ending at as_of (DSO, CEI, turnover)
trend_months: int = 24  # months of history in the trend charts
output_dir: str = "outputs/scratch"  # folder for files written beside the report (the runner sets it)''')
params.metadata["tags"] = ["parameters"]
cells = [
    md("# Receivables health\n\nOpen receivables of the business unit at the close of the report date: "
       "how much is owed, how late it is, and how the balance has moved."),
    params,
    code("import arlib\nfrom arlib.plots import ledger as ledger_plots\n\narlib.plots.set_theme()"),
    code("cfg = arlib.config.load(globals())"),
    code("ledger = arlib.io.load_ledger(cfg)"),
    code("arlib.record(arlib.report.stamp(cfg, ledger))"),
    md("## Aging\n\nOpen amount per bucket of days past due (days since the due date at the close of the report date; "
       "*current* means not yet due)."),
    code("aging = ledger.aging(cfg.as_of, cfg.aging_thresholds)"),
    code("position = arlib.ledger.aging_summary(aging)"),
    code("arlib.record(position)"),
    code('arlib.report.table(aging, money=["amount"], pct=["share"])'),
    code("ledger_plots.aging_bars(aging, cfg.currency);"),
    md("## Balance history\n\nMonth-end open receivables split by aging bucket."),
    code("history = ledger.history(arlib.ledger.trailing_month_ends(cfg.as_of, cfg.trend_months), cfg.aging_thresholds)"),
    code("ledger_plots.aging_history(history, cfg.currency);"),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
nbf.write(nb, "notebooks/health.ipynb")
