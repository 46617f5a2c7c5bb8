"""Report language: every notebook paragraph, KPI text, table header, narrative sentence and chart
of a zh report is in Chinese (data and numbers aside), English output is unchanged, and Chinese
chart text renders with a font that has the glyphs."""

from __future__ import annotations

import ast
import io
import re
import string
import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from arlib import health, i18n
from arlib.health import breakdown, credit
from arlib.i18n import has, set_language, t
from arlib.ledger import Ledger
from arlib.report import narrative
from arlib.schemas import C

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CATALOGS = sorted((ROOT / "arlib" / "locale").glob("zh*.yaml"))
#: common English words that must not survive in a Chinese sentence (data aside)
ENGLISH = re.compile(
    r"\b(the|is|are|was|of|to|from|in|on|for|and|with|by|days?|points?|rose|fell|customers?|"
    r"items?|invoices?|paid|late|grade|score|window|open|AR|data|offer|cost|limit|credit|"
    r"not defined|unchanged|average|share|amount|months?|status|pts|a year)\b",
    re.I,
)
NAMES = ("Alpha <Foods>", "Beta Trading")


@pytest.fixture(autouse=True)
def english_after():
    """Every test leaves the report language as it found it: English."""
    yield
    set_language("en")


def _markdown_cells():
    for nb in NOTEBOOKS:
        for i, cell in enumerate(nbformat.read(nb, as_version=4).cells):
            if cell.cell_type == "markdown":
                yield pytest.param(cell.source, id=f"{nb.stem}-{i}")


@pytest.mark.parametrize("source", list(_markdown_cells()))
def test_every_markdown_cell_has_a_chinese_translation(source):
    assert has(source, "zh"), (
        f"no zh translation for the cell starting {source[:80]!r}; add it to arlib/locale/zh_*.yaml"
    )


def _fields(text: str) -> list[str]:
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_catalog_entries_keep_placeholders_and_markdown_structure(path: Path):
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    for en, zh in entries.items():
        assert isinstance(zh, str) and zh.strip(), en
        assert _fields(en) == _fields(zh), f"{path.name}: placeholders differ in {en!r}"
        heads = lambda s: re.findall(r"^(#+) ", s, re.M)  # noqa: E731  markdown headings, level by level
        assert heads(en) == heads(zh), f"{path.name}: headings differ in {en[:60]!r}"
        code = lambda s: set(re.findall(r"`[^`]+`", s))  # noqa: E731  parameter and file names stay as they are
        assert code(en) <= code(zh), (
            f"{path.name}: code spans {code(en) - code(zh)} lost in {en[:60]!r}"
        )


def test_no_key_is_translated_twice_differently():
    seen: dict[str, tuple[str, str]] = {}
    for path in CATALOGS:
        for en, zh in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            key = " ".join(en.split())
            assert key not in seen or seen[key][0] == zh, (
                f"{key!r} in {seen[key][1]} and {path.name}"
            )
            seen[key] = (zh, path.name)


def test_kpi_texts_and_view_headers_have_translations():
    texts = [s for label, _, meaning in health.MEANINGS.values() for s in (label, meaning)]
    texts += [header for header, _ in breakdown.COLUMNS.values()] + list(narrative.MOVES.values())
    texts += ["figure", "now", "a month earlier", "change", "meaning"]  # health.compare's columns
    texts += [step for _, step in credit.DEFAULT_LADDER] + [credit.DISPUTE_STEP]
    texts += [
        "keep",
        "raise",
        "cut",
        "set limit",
        "secure or cash only",
    ]  # credit.recommend's limit_action
    missing = [x for x in texts if not has(x, "zh")]
    assert not missing, missing


def test_every_message_id_written_in_arlib_has_a_translation():
    """Each ``t("...")`` with a literal English text in the library is in the zh catalogs."""
    missing = []
    for path in sorted((ROOT / "arlib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args:
                arg = node.args[0]
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and not has(arg.value, "zh")
                ):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {arg.value!r}")
    assert not missing, missing


def test_display_helpers_switch_language_and_keep_english():
    k = health.kpis(_ledger(), "2024-06-30")
    before = health.kpis(_ledger(), "2024-05-31")
    english = health.compare(k, before)
    set_language("zh")
    chinese = health.compare(k, before)
    assert list(chinese.columns) == list(english.columns)  # headers are translated where shown
    assert chinese.loc[0, "figure"] == "应收账款余额" and "days" not in " ".join(chinese["now"])
    assert not any(ENGLISH.search(v) for v in chinese[["figure", "meaning"]].to_numpy().ravel()), (
        chinese
    )
    assert health.fmt(54.146, "days") == "54.1 天" and health.fmt(None, "%") == "不适用"
    v = breakdown.view(breakdown.customer_kpis(_ledger(), "2024-06-30"), breakdown.CUSTOMER_VIEW)
    assert list(v.columns[:3]) == ["客户", "客户类别", "应收账款余额"] and set(v["客户类别"]) == {
        "小型企业"
    }
    set_language("en")
    assert health.compare(k, before).equals(english)


def _ledger() -> Ledger:
    """Two customers (one with a name to escape), paid, late, disputed and open items, a limit
    breached, an unapplied payment: every narrative function has something to say."""
    inv = pd.DataFrame(
        {
            C.invoice_id: ["A", "B", "C", "D", "E"],
            C.business_unit: "X",
            C.customer_id: ["c1", "c2", "c1", "c2", "c1"],
            C.invoice_date: pd.to_datetime(
                ["2024-03-05", "2024-04-01", "2024-04-15", "2024-05-10", "2024-06-10"]
            ),
            C.due_date: pd.to_datetime(
                ["2024-04-04", "2024-05-01", "2024-05-15", "2024-06-09", "2024-07-10"]
            ),
            C.amount: [700.0, 1000.0, 500.0, 900.0, 800.0],
            C.currency: "EUR",
            C.disputed: [False, False, True, False, False],
        }
    )
    txn = pd.DataFrame(
        {
            C.txn_id: ["t1", "t2", "t3"],
            C.business_unit: "X",
            C.customer_id: ["c1", "c2", "c1"],
            C.invoice_id: ["A", "B", None],
            C.date: pd.to_datetime(["2024-04-20", "2024-06-20", "2024-06-25"]),
            C.amount: [700.0, 1000.0, 100.0],
            C.kind: "payment",
        }
    )
    cust = pd.DataFrame(
        {
            C.customer_id: ["c1", "c2"],
            C.business_unit: "X",
            C.name: list(NAMES),
            C.segment: "small",
            C.credit_limit: [500.0, 5000.0],
            C.terms_days: 30,
            C.status: ["active", "legal"],
        }
    )
    return Ledger(inv, txn, cust)


def _all_sentences(led: Ledger) -> list[str]:
    as_of = "2024-06-30"
    k, k0 = health.kpis(led, as_of), health.kpis(led, "2024-05-31")
    out = list(narrative.explain_kpis(k, k0, breakdown.drivers(led, as_of)))
    out += list(
        narrative.explain_kpis(
            {
                "dso": None,
                "dso_note": "not defined: nothing was invoiced in the window (billings = 0)",
                "cei": 50.0,
                "turnover": 4.0,
            },
            {"cei": None, "turnover": 4.0},
        )
    )
    out += list(narrative.explain_position(k)) + list(narrative.explain_coverage(led, as_of))
    settled = Ledger(
        led.invoices.iloc[:2],
        led.transactions.iloc[:2],
        led.customers.assign(credit_limit=float("nan")),
    )
    out += list(narrative.explain_coverage(settled, as_of))  # settled-only source, no credit limits
    trend = breakdown.trend(led, as_of, months=3)
    out += list(narrative.explain_trend(trend, "dso")) + list(
        narrative.explain_trend(trend, "cei_month")
    )
    out += list(narrative.explain_trend(trend.iloc[:0], "dso"))
    card = credit.recommend(credit.scorecard(led, as_of))
    out += list(narrative.explain_credit(card))
    work = credit.worklist(led, as_of, card)
    out += list(narrative.explain_worklist(work, credit.actions(work))) + list(
        narrative.explain_worklist(work.iloc[:0], None)
    )
    for take_up in (None, 0.5):
        out += list(
            narrative.explain_discount(
                credit.discount_whatif(led, as_of, take_up=take_up), 0.02, 10, 30, 0.08
            )
        )
    out += list(
        narrative.explain_discount(
            {"invoices_observed": 0, "note": "not defined: no invoice was paid in the lookback"},
            0.02,
            10,
            30,
            0.08,
        )
    )
    return out


def test_narrative_in_chinese_has_no_english_left_and_english_is_unchanged():
    led = _ledger()
    english = _all_sentences(led)
    set_language("zh")
    chinese = _all_sentences(led)
    assert len(chinese) == len(english) >= 20
    for s in chinese:
        text = s.replace("&lt;", "<").replace("&gt;", ">")
        for name in NAMES:
            text = text.replace(name, "")
        text = re.sub(
            r"\b(DSO|CEI|HHI)\b", "", text
        )  # the KPI abbreviations are kept, as in Chinese finance
        assert not ENGLISH.search(text), s
        assert re.search(r"[\u4e00-\u9fff]", s), s
    assert any("Alpha &lt;Foods&gt;" in s for s in chinese)  # data is escaped, not translated
    set_language("en")
    assert _all_sentences(led) == english  # English is the message id: byte for byte as before


def test_score_drivers_follow_the_language():
    led = _ledger()
    set_language("zh")
    card = credit.scorecard(led, "2024-06-30")
    legal = card.loc[card[C.customer_id] == "c2", "top_drivers"].item()
    assert legal.startswith("状态：法律程序") and not ENGLISH.search(legal), legal


def _render(ax) -> list[str]:
    """Draw the figure to PNG; the warnings emitted while drawing."""
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax.figure.savefig(io.BytesIO(), format="png")
    plt.close(ax.figure)
    return [str(w.message) for w in caught]


def test_cjk_font_is_available_to_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    from arlib.report.plots import CJK_FONTS, set_theme

    set_theme("zh")
    path = font_manager.findfont(FontProperties(family=CJK_FONTS), fallback_to_default=False)
    assert re.search(r"NotoSans(CJK|SC)", Path(path).name, re.I), path


def test_chinese_charts_render_without_missing_glyphs():
    import matplotlib

    matplotlib.use("Agg")
    from arlib.report.plots import health as hp
    from arlib.report.plots import ledger as lp
    from arlib.report.plots import set_theme

    set_theme("zh")
    led = _ledger()
    ax = hp.dso_trend(breakdown.trend(led, "2024-06-30", months=3))
    assert ax.get_title() == t("Days sales outstanding") != "Days sales outstanding"
    assert [text.get_text() for text in ax.get_legend().get_texts()][1:] == [
        "应收账款周转天数 (DSO)",
        "倒推法 DSO",
        "最佳可能 DSO",
    ]
    bars = lp.aging_bars(led.aging("2024-06-30"), "EUR")
    assert bars.get_ylabel() == "未结金额（EUR）" and "未到期" in [
        x.get_text() for x in bars.get_xticklabels()
    ]
    missing = [m for a in (ax, bars) for m in _render(a) if "missing from font" in m]
    assert not missing, missing[:3]


def test_catalog_is_merged_from_every_area_file():
    i18n.catalog.cache_clear()
    merged = i18n.catalog("zh")
    for path in CATALOGS:
        keys = {" ".join(k.split()) for k in yaml.safe_load(path.read_text(encoding="utf-8"))}
        assert keys <= set(merged), path.name


def test_reconciliation_section_in_chinese(tmp_path):
    """The reconciliation table, its verdict and the load report of a zh report: every line,
    section, header and check word translated, amounts unchanged; English unchanged."""
    from test_io_helpers import BASE, load, write_files

    from arlib import report
    from arlib.io import reconcile

    ledger = load(write_files(tmp_path / "src", BASE))
    rec = reconcile.reconciliation(ledger, "2024-06-30", gl_control_total=1.0)
    try:
        set_language("zh")
        html = report.table(rec, money=["amount"])._repr_html_() + ledger.load_report._repr_html_()
        verdict = str(reconcile.summary(rec, "EUR"))
    finally:
        set_language("en")
    for english in [
        *rec["line"],
        *rec["section"],
        "Section",
        "Line",
        "Check",
        "DIFFERS",
        " loaded",
    ]:
        assert f">{english}<" not in html and english not in verdict, english
    assert "应收账款余额（台账）" in html and "总账控制数" in html and "已加载" in html
    open_ar = rec.set_index("line").at["Open AR (ledger)", "amount"]
    assert f"{open_ar:,.2f}" in html and f"应收账款余额 {open_ar:,.2f} EUR" in verdict
    assert "不符，差额" in verdict  # the GL total of 1.00 differs
    assert str(reconcile.summary(rec, "EUR")).startswith("Invoices read ")


def test_house_theme_is_seaborns_whitegrid_theme_with_the_house_palette():
    import matplotlib
    from matplotlib import colors

    from arlib.report.plots import PALETTE, set_theme

    set_theme("en")
    cycle = [colors.to_hex(c["color"]) for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == [c.lower() for c in PALETTE]
    assert matplotlib.rcParams["axes.grid"] and matplotlib.rcParams["axes.edgecolor"] == ".8"
    assert matplotlib.rcParams["font.size"] == 12 and list(
        matplotlib.rcParams["figure.figsize"]
    ) == [9, 3.6]


def _latin_only(texts: list[str]) -> list[str]:
    """Texts with an English word and no Chinese character (codes such as WAPE or ETS and
    numbers and dates aside)."""
    return [s for s in texts if re.search(r"[a-z]{3,}", s) and not re.search(r"[\u4e00-\u9fff]", s)]


def test_forecast_charts_are_in_chinese():
    """Every title, axis label and legend entry of the forecast charts of a zh report is
    Chinese (the chart text walked as matplotlib holds it)."""
    import matplotlib

    matplotlib.use("Agg")
    from arlib.report.plots import forecast as fp

    ds = pd.date_range("2026-01-01", periods=6, freq="MS")
    hist = pd.DataFrame({"unique_id": "x", "ds": ds, "y": [5.0, 6, 7, 6, 5, 6]})
    fc = pd.DataFrame(
        {"unique_id": "x", "ds": ds + pd.DateOffset(months=6), "model": "auto", "yhat": 6.0}
        | {f"yhat_{s}_{lv}": v for lv in (80, 95) for s, v in (("lo", 5.0), ("hi", 7.0))}
    )
    bt = fc.assign(cutoff=ds[0], y=6.0)
    runoff = fc.assign(unique_id="small", write_off=0.1)
    acc = pd.DataFrame({"model": ["auto", "snaive"], "wape": [0.1, 0.2]})
    set_language("zh")
    try:
        axes = [
            fp.forecast_fan(hist, fc, currency="CNY"),
            fp.runoff_bars(runoff, "CNY"),
            fp.backtest_chart(bt, "auto", hist),
            fp.accuracy_bars(acc, "wape", "auto"),
        ]
    finally:
        set_language("en")
    texts = []
    for ax in axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        texts += [x.get_text() for x in ax.get_legend().get_texts()] if ax.get_legend() else []
        texts += [x.get_text() for x in ax.get_yticklabels()]
    assert not _latin_only([x for x in texts if x]), _latin_only(texts)
