"""What frames every unit report: tables in one number style, empty sections in one sentence,
stable HTML, the header, the parameters appendix, Excel in the same style."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd

from arlib.i18n import set_language
from arlib.numbers import fmt
from arlib.report import excel
from arlib.report.header import header
from arlib.report.html import parameters_html, plain_names, stamp_html
from arlib.report.tables import table


def test_one_style_per_kind_and_no_negative_zero():
    # worked by hand: -0.04 days rounds to 0.0; 1.23456 as a ratio 1.23; 0.1234 as a share 12.3%
    assert [fmt(-0.04, "days"), fmt(1.23456, "ratio"), fmt(0.1234, "share")] == [
        "0.0",
        "1.23",
        "12.3%",
    ]
    assert fmt(-1234.567, "amount", 2) == "-1,234.57" and fmt(-0.001, "amount", 2) == "0.00"


def test_table_formats_by_kind_and_translates_forecast_columns():
    df = pd.DataFrame(
        {
            "unique_id": ["de", "de"],
            "ds": pd.to_datetime(["2026-11-01", "2026-12-01"]),
            "yhat": [1202905.491, 1000.0],
            "yhat_lo_80": [1067858.0, -0.001],
            "dso": [62.347, -0.02],
            "mase": [0.81234, 1.0],
        }
    )
    html = table(df, money=["yhat", "yhat_lo_80"])._repr_html_()
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    assert heads == ["Series", "Period", "Forecast", "Low (80%)", "DSO", "MASE"]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells[:6] == ["de", "2026-11-01", "1,202,905.49", "1,067,858.00", "62.3", "0.81"]
    assert cells[6:] == ["de", "2026-12-01", "1,000.00", "0.00", "0.0", "1.00"]  # no "-0.0"
    assert "color: #b2182b" not in html  # a rounded -0.001 is not a red negative


def test_a_table_without_rows_is_one_sentence():
    out = table(pd.DataFrame(columns=["problem", "rows"]), empty="No data problems.")
    assert out._repr_html_() == '<p class="ar-empty">No data problems.</p>'


def test_the_same_table_gives_the_same_html_and_long_tables_sort():
    df = pd.DataFrame({"customer_id": [f"C{i}" for i in range(9)], "open_ar": range(9)})
    a, b = table(df)._repr_html_(), table(df.copy())._repr_html_()
    assert a == b and 'class="ar-table ar-sortable"' in a
    assert 'class="ar-table"' in table(df.head(3))._repr_html_()  # short: no sort bar


def test_header_names_unit_close_currency_run_and_links_only_existing_files():
    k = {"business_unit": "cn", "as_of": "2026-10-31", "currency": "CNY", "run_id": "R<1>"}
    h = header(k, "provision", ["health", "forecast", "provision"], ["excel_pack.xlsx"], "zh")
    assert "业务单元 cn" in h and "2026-10-31" in h and "CNY" in h and "R&lt;1&gt;" in h
    assert 'href="health.html"' in h and 'href="forecast.html"' in h
    assert 'href="provision.html"' not in h and "坏账准备" in h  # the page itself, not a link
    assert 'href="excel_pack.xlsx"' in h and "collection_worklist" not in h


def test_parameters_appendix_is_a_collapsed_table_without_machine_paths():
    params = {
        "source": "sqlite:////tmp/abc/ar_demo.sqlite",
        "forecast_store": "/work/x/outputs",
        "dunning_ladder": [[1, "reminder"]],
        "cost_of_capital": 0.08,
    }
    html = stamp_html({"run_id": "R1", "as_of": "2026-10-31", "parameters": params})
    assert "/tmp/" not in html and "/work/" not in html
    assert "<details><summary>Parameters used</summary>" in html
    assert "<th>cost_of_capital</th><td>0.08</td>" in html
    assert "<th>dunning_ladder</th><td>[[1, &quot;reminder&quot;]]</td>" in html
    assert "<td>…/outputs</td>" in parameters_html(params)


def test_prose_names_no_code():
    text = "over the last `runoff_history_days` days; `relative_wape` below 1; `gl_control_total`"
    out = plain_names(text, {"runoff_history_days": 730, "gl_control_total": None})
    assert out == "over the last 730 days; WAPE vs seasonal naive below 1; gl control total"


def test_excel_sheet_in_the_report_language_and_number_style(tmp_path):
    df = pd.DataFrame({"next_step": ["call"], "open_amount": [1234.5], "dso": [61.26]})
    set_language("zh")
    try:
        path = excel.add_sheet(tmp_path, "Collection worklist", df, money=["open_amount"])
    finally:
        set_language("en")
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert [c.value for c in ws[1]] == ["下一步", "未结金额", "应收账款周转天数 (DSO)"]
    assert ws["A2"].value == "电话催收" and ws["B2"].number_format == "#,##0.00;[Red]-#,##0.00"
    assert ws["C2"].number_format == "#,##0.0"


def test_two_exports_differ_only_in_run_id_and_time():
    import nbformat

    from arlib.report.html import to_html

    df = pd.DataFrame({"customer_id": [f"C{i}" for i in range(9)], "open_ar": range(9)})
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell("# Receivables health\n\nLead.")
    code = nbformat.v4.new_code_cell("report.table(df)")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": table(df)._repr_html_()})
    ]
    nb.cells = [md, code]
    pages = []
    for run, when in (("RUN-A", "2026-11-01 10:00:00 UTC"), ("RUN-B", "2026-11-02 11:11:11 UTC")):
        k = {"business_unit": "de", "as_of": "2026-10-31", "currency": "EUR", "run_id": run}
        stamp = {"run_id": run, "generated_at": when, "parameters": {"window_months": 3}}
        page = to_html(nb, "t", "en", "<p>top</p>", stamp, header=header(k, "health", ["health"]))
        pages.append(page.replace(run, "RUN").replace(when, "TIME"))
    assert pages[0] == pages[1]
    head = pages[0].split("<body")[0]
    assert 'id="cell-id=arlib-header"' in pages[0] and "--jp-" not in head  # no theme CSS


def test_a_reused_exporter_writes_what_a_new_one_writes_in_each_language(monkeypatch):
    """Exporters are made once per language (their templates compiled once); pages in English,
    Chinese, then English again are those of an exporter made for each page (second method)."""
    import nbformat

    from arlib.report import html

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Receivables health\n\nLead.")]
    langs = ("en", "zh", "en")
    monkeypatch.setattr(html, "_EXPORTERS", {})
    reused = [html.to_html(nb, "t", lang, "<p>top</p>") for lang in langs]
    assert len(html._EXPORTERS) == 2
    fresh = []
    for lang in langs:
        monkeypatch.setattr(html, "_EXPORTERS", {})
        fresh.append(html.to_html(nb, "t", lang, "<p>top</p>"))
    assert reused == fresh
    assert '<html lang="zh-CN">' in reused[1] and '<html lang="en">' in reused[2]
