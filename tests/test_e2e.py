"""End to end: the CLI runs the notebooks through papermill on a small demo store."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT, demo_params, reader_problems, sort_and_filter

from arlib.i18n import column_label, t

pytestmark = pytest.mark.slow
AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_demo):
    tmp = tmp_path_factory.mktemp("e2e")
    # zz: no such unit in the data, must fail alone; group.yaml adds the group report
    params = demo_params(
        tmp,
        small_demo,
        {
            "aa": "currency: EUR\n",
            # non-default values the audit stamp must show, per notebook; a GL total to reconcile
            "bb": "currency: CNY\ntrend_months: 12\nreport_language: zh\nwindow_months: 6\n"
            "forecast_horizon: 9\ngl_control_total: 1000.0\n",
            "zz": "currency: EUR\n",
            "group": "group_currency: EUR\nfx_rates: {CNY: 0.128}\n"
            "targets: {dso: 45, cei: 80, past_due_share: 0.25}\n",
        },
        AS_OF,
    )
    proc = subprocess.run(
        [
            str(ROOT / ".venv/bin/arlib") if (ROOT / ".venv/bin/arlib").exists() else "arlib",
            "run",
            "--params",
            str(params),
            "--out-dir",
            str(tmp / "out"),
            "--jobs",
            "2",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, tmp / "out" / AS_OF, small_demo


def test_exit_code_and_one_line_error_for_the_failing_unit(run):
    proc, out, _ = run
    assert proc.returncode == 1, proc.stderr
    assert (
        "Traceback" not in proc.stderr and "WARNING" not in proc.stderr
    )  # kernels log errors only
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("FAILED"))
    # the unit's data is loaded once, before its notebooks: none ran, no report or figure is left
    assert line.startswith("FAILED zz: data: ") and "business unit 'zz'" in line
    assert sorted(p.name for p in (out / "zz").iterdir()) == ["FAILED.txt"]
    assert str(out / "index.html") in proc.stdout


def test_manifest_and_index(run):
    _, out, _ = run
    manifest = json.loads((out / "manifest.json").read_text())
    status = {u["business_unit"]: u["status"] for u in manifest["units"]}
    assert status == {"aa": "ok", "bb": "ok", "zz": "failed"}
    aa = next(u for u in manifest["units"] if u["business_unit"] == "aa")
    assert (
        aa["input_fingerprint"]["rows"]["invoices"] > 0
        and len(aa["input_fingerprint"]["sha256"]) == 64
    )
    # the seconds outside the notebooks by phase (benchmarks): each counted once, within the unit's
    phases = aa["phase_seconds"]
    assert {"load", "snapshot", "pack", "export", "kpis"} <= set(phases)
    outside = sum(v for k, v in phases.items() if k != "kernel_start")  # kernel starts: inside
    assert min(phases.values()) >= 0 and phases["load"] > 0
    assert outside + sum(aa["notebook_seconds"].values()) <= aa["duration_s"] + 0.1
    index = (out / "index.html").read_text()
    assert (
        'href="aa/health.html"' in index and 'href="bb/health.html"' in index and "failed" in index
    )


def test_group_report_consolidates_the_units(run):
    _, out, _ = run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["group"]["status"] == "ok", manifest["group"]
    group = json.loads((out / "group" / "kpis.json").read_text())
    aa, bb = (json.loads((out / u / "kpis.json").read_text()) for u in ("aa", "bb"))
    assert group["units"] == ["aa", "bb"]  # zz failed before writing figures
    assert group["open_ar"] == pytest.approx(aa["open_ar"] + 0.128 * bb["open_ar"], abs=0.01)
    assert group["past_due_share"] == pytest.approx(
        (aa["past_due_ar"] + 0.128 * bb["past_due_ar"]) / (aa["open_ar"] + 0.128 * bb["open_ar"])
    )
    html = (out / "group" / "group.html").read_text()
    assert 'href="../aa/health.html"' in html and "Group receivables report" in html
    assert 'href="group/group.html"' in (out / "index.html").read_text()


def test_index_group_totals_agree_with_the_units_to_the_cent(run):
    """The index's group row, recomputed by hand from the units' kpis.json and the FX rate."""
    _, out, _ = run
    aa, bb = (json.loads((out / u / "kpis.json").read_text()) for u in ("aa", "bb"))
    index = (out / "index.html").read_text()
    cells = dict(re.findall(r'<td data-k="(\w+)"[^>]*>([^<]+)</td>', index))
    for key in ("open_ar", "past_due_ar", "allowance", "forecast_collections_next"):
        by_hand = round(aa[key] + 0.128 * bb[key], 2)
        assert cells[key] == f"{by_hand:,.2f} EUR", key
    # DSO from each unit's daily billings (aa has a 3-month window, bb a 6-month one)
    daily = (
        aa["billings_window"] / aa["window_days"]
        + 0.128 * bb["billings_window"] / bb["window_days"]
    )
    dso = (aa["open_ar"] + 0.128 * bb["open_ar"]) / daily
    assert cells["dso"] == f"{dso:.1f} days"
    assert cells["cei"] == "n/a"  # windows of different lengths: no group CEI
    group = (out / "group" / "group.html").read_text()
    assert f"{dso:.1f} days" in group and "units use KPI windows of different lengths" in group


def test_index_tiles_carry_their_units(run):
    """Each unit card's tiles: amounts with the unit's currency, DSO in days, read from kpis.json."""
    _, out, _ = run
    index = (out / "index.html").read_text()
    for unit in ("aa", "bb"):  # the index speaks the group language, English here
        kpis = json.loads((out / unit / "kpis.json").read_text())
        card = index.split(f"<h2>{unit} ")[1].split("</section>")[0]
        tiles = re.findall(r'<div class="v">([^<]+)</div>', card)
        cur = kpis["currency"]
        assert f"{round(kpis['open_ar']):,} {cur}" in tiles
        assert f"{kpis['dso']:.1f} days" in tiles
        bare = [v for v in tiles if re.fullmatch(r"[\d,.]+", v)]
        assert bare == [f"{kpis['cei']:.1f}"], tiles  # only CEI, whose label says "(%)"
        assert "CEI (%)" in card


def test_group_cockpit_ranks_by_performance_against_the_targets(run):
    _, out, _ = run
    aa, bb = (json.loads((out / u / "kpis.json").read_text()) for u in ("aa", "bb"))
    html = (out / "group" / "group.html").read_text()
    for bu, k in (("aa", aa), ("bb", bb)):
        row = html.split(f'<td class="u">{bu}</td>')[1].split("</tr>")[0]
        assert ('<td class="dso on">' in row) == (k["dso"] <= 45), row
        assert ('<td class="past_due_share on">' in row) == (k["past_due_share"] <= 0.25), row
        assert '<td class="coverage_ratio">' in row  # never judged
    # overall rank: mean of the ranks on DSO, past-due share, CEI and ADD, worked out here
    ranks = {"aa": 0.0, "bb": 0.0}
    for kpi, higher in (("dso", False), ("past_due_share", False), ("cei", True), ("add", False)):
        better = max if higher else min
        best = better(("aa", "bb"), key=lambda u: (aa, bb)[u == "bb"][kpi])
        ranks["bb" if best == "aa" else "aa"] += 1
    first = min(ranks, key=lambda u: (ranks[u], u))
    assert re.findall(r'<td class="u">(\w+)</td>', html)[0] == first
    assert "<svg" in html and "Twelve-month trend" in html


def test_unit_report_opens_with_summary_and_ends_with_audit_stamp(run):
    _, out, _ = run
    kpis = json.loads((out / "aa" / "kpis.json").read_text())
    audit = kpis["audit"]
    assert audit["input_fingerprint"] == kpis["input_fingerprint"] and audit["as_of"] == AS_OF
    assert audit["generated_at"] and audit["run_id"] == kpis["run_id"]
    assert sorted(audit["notebooks"]) == ["forecast", "health", "provision"]
    for name in ("health", "forecast", "provision"):
        html = (out / "aa" / f"{name}.html").read_text()
        assert (
            html.index("<b>Executive summary</b>")
            < html.index("<b>Contents</b>")
            < html.index("<h4>Audit stamp</h4>")
        )
        assert audit["input_fingerprint"]["sha256"] in html
    bb = (out / "bb" / "health.html").read_text()  # report_language: zh
    assert bb.index("<b>管理摘要</b>") < bb.index("<b>目录</b>") < bb.index("<h4>审计信息</h4>")
    assert "Executive summary" not in bb


def _open_ar_by_hand(frames, bu):
    """Second method: pandas group-by, not the ledger's bincount."""
    inv = frames["invoices"][frames["invoices"]["business_unit"] == bu]
    txn = frames["transactions"]
    txn = txn[
        (txn["business_unit"] == bu)
        & (txn["date"] <= AS_OF)
        & txn["kind"].isin(["payment", "credit_note", "write_off"])
    ]
    settled = txn.groupby("invoice_id")["amount"].sum()
    inv = inv[inv["invoice_date"] <= AS_OF]
    open_amt = inv["amount"] - inv["invoice_id"].map(settled).fillna(0.0)
    return round(open_amt[open_amt > 0.005].sum(), 2)


def test_audit_shows_each_notebooks_own_parameters_as_used(run):
    """bb sets window_months 6 and forecast_horizon 9: each notebook's stamp shows its own
    values, and no notebook's stamp carries another's parameters or defaults."""
    _, out, _ = run
    kpis = json.loads((out / "bb" / "kpis.json").read_text())
    nbs = kpis["audit"]["notebooks"]
    assert nbs["health"]["parameters"]["window_months"] == 6
    assert nbs["forecast"]["parameters"]["forecast_horizon"] == 9
    assert "forecast_horizon" not in nbs["health"]["parameters"]
    assert "window_months" not in nbs["forecast"]["parameters"]
    assert kpis["window_days"] == 184  # the KPIs used 6 months: (2026-04-30, 2026-10-31]
    assert kpis["forecast_horizon"] == 9
    health = (out / "bb" / "health.html").read_text()
    forecast = (out / "bb" / "forecast.html").read_text()
    footer = {
        name: page.split("审计信息")[-1]
        for name, page in (("health", health), ("forecast", forecast))
    }
    # the parameters are a collapsed table, one row each
    assert "<th>window_months</th><td>6</td>" in footer["health"]
    assert "forecast_horizon" not in footer["health"]
    assert "<th>forecast_horizon</th><td>9</td>" in footer["forecast"]
    assert "window_months" not in footer["forecast"]
    for page in (health, forecast):
        assert kpis["run_id"] in page


def test_the_gl_difference_survives_into_kpis(run):
    """All three notebooks show the same reconciliation with the GL line; none drops it."""
    _, out, _ = run
    kpis = json.loads((out / "bb" / "kpis.json").read_text())
    rec = kpis["reconciliation"]
    assert rec["gl_control_total"] == 1000.0
    assert rec["gl_difference"] == pytest.approx(round(kpis["open_ar"] - 1000.0, 2))
    assert all("reconciliation" in keys for keys in kpis["sections"].values())


@pytest.mark.parametrize("bu", ["aa", "bb"])
def test_kpis_reconcile_and_match_the_html(run, bu):
    _, out, frames = run
    kpis = json.loads((out / bu / "kpis.json").read_text())
    assert kpis["business_unit"] == bu and kpis["as_of"] == AS_OF
    assert round(sum(kpis["aging"].values()), 2) == kpis["open_ar"] == _open_ar_by_hand(frames, bu)
    assert kpis["open_ar"] == round(kpis["current_ar"] + kpis["past_due_ar"], 2)
    html = (out / bu / "health.html").read_text()
    lang = "zh" if bu == "bb" else "en"
    for bucket, amount in kpis["aging"].items():
        assert f"{amount:,.2f}" in html and t(bucket, lang) in html
    if "dso" in kpis and kpis["dso"] is not None:
        assert f"{kpis['dso']:.1f}" in html


@pytest.mark.parametrize("notebook", ["health", "forecast", "provision"])
def test_every_unit_report_shows_its_reconciliation(run, notebook):
    _, out, _ = run
    html = (out / "aa" / f"{notebook}.html").read_text()
    assert "Every amount is accounted for to the cent." in html
    assert "Invoices read" in html and "Open AR (ledger)" in html


@pytest.mark.parametrize("bu", ["aa", "bb"])
def test_html_is_self_contained_and_shows_no_code(run, bu):
    _, out, _ = run
    html = (out / bu / "health.html").read_text()
    assert "cfg = arlib.config.load" not in html and "aging_thresholds: list" not in html
    assert not re.search(r'class="[^"]*(jp-InputArea-editor|cm-editor|highlight)', html), (
        "code input in the report"
    )
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert not re.search(r'(src|href)="(https?:)?//', html), "external resource in the report"
    assert "<script src=" not in html


def test_plain_papermill_run_works(tmp_path, run):
    """`papermill notebooks/health.ipynb out.ipynb -f params.yaml` from the project folder."""
    _, out, _ = run
    audit = json.loads((out / "aa" / "kpis.json").read_text())["audit"]
    source = audit["notebooks"]["health"]["parameters"]["source"]
    (tmp_path / "aa.yaml").write_text(f'business_unit: aa\nas_of: "{AS_OF}"\nsource: "{source}"\n')
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        "notebooks/health.ipynb",
        str(tmp_path / "o.ipynb"),
        "-f",
        str(tmp_path / "aa.yaml"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    nb = json.loads((tmp_path / "o.ipynb").read_text())
    kpis = [
        o["data"]["application/vnd.arlib.kpis+json"]
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if "application/vnd.arlib.kpis+json" in o.get("data", {})
    ]
    assert any(
        k.get("open_ar") == json.loads((out / "aa" / "kpis.json").read_text())["open_ar"]
        for k in kpis
    )


# --- the reports in a real browser (headless Chromium) ------------------------------------------
SCREENSHOTS = ROOT / "outputs" / "test-artifacts" / "screenshots"


def _pages(out):
    """Every report of the run: units', customers' (``<unit>/customers/``), group, index."""
    return (
        sorted(out.glob("*/*.html")) + sorted(out.glob("*/customers/*.html")) + [out / "index.html"]
    )


def test_reports_in_headless_chromium(run, browser):
    _, out, _ = run
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for path in _pages(out):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors, failed, external = [], [], []
        page.on(
            "console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.on("requestfailed", lambda r, failed=failed: failed.append(r.url))
        page.on(
            "request",
            lambda r, external=external: (
                external.append(r.url) if not r.url.startswith(("file:", "data:")) else None
            ),
        )
        page.goto(path.as_uri(), wait_until="load")
        state = page.evaluate("""() => ({
            images: document.images.length,
            undecoded: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length,
            code: document.querySelectorAll('.jp-InputArea-editor, .cm-editor, .highlight').length,
            wide: Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().width > 1280)
                       .map(e => e.tagName + '.' + e.className).slice(0, 3),
            scroll: document.documentElement.scrollWidth,
            deadLinks: Array.from(document.querySelectorAll('.ar-toc a'))
                .filter(a => !document.getElementById(a.hash.slice(1))).map(a => a.textContent),
        })""")
        rel = path.relative_to(out).with_suffix("")
        name = "_".join(rel.parts) + ".png"  # aa_health.png, aa_customers_AA-C000.png, index.png
        page.screenshot(path=str(SCREENSHOTS / name))
        page.close()
        if (
            errors
            or failed
            or external
            or state["undecoded"]
            or state["code"]
            or state["wide"]
            or state["scroll"] > 1280
            or state["deadLinks"]
        ):
            problems.append((path.relative_to(out), errors, failed, external, state))
        if path.name != "index.html" and path.parent.name != "zz":
            assert state["images"] > 0, f"{path}: no images"
    assert not problems, problems


def test_excel_pack_has_one_formatted_sheet_per_table(run):
    import openpyxl

    _, out, _ = run
    wb = openpyxl.load_workbook(out / "aa" / "excel_pack.xlsx")
    assert {
        "Aging by customer",
        "Collection worklist",
        "Collections forecast",
        "Provision matrix",
        "Allowance roll-forward",
        "Write-off candidates",
    } <= set(wb.sheetnames)
    ws = wb["Aging by customer"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold


def test_forecast_report_shows_the_calibrated_range_and_its_track_record(run):
    _, out, _ = run
    kpis = json.loads((out / "aa" / "kpis.json").read_text())
    html = (out / "aa" / "forecast.html").read_text()
    cov = kpis["forecast_range_coverage_80"]
    assert 0 < cov <= 1 and f"{cov:.1%}" in html
    assert f"{kpis['forecast_model_range_coverage_80']:.1%}" in html
    # the evidence behind it: distinct months checked and the sampling margin worked from them
    months = kpis["forecast_range_months_checked_80"]
    assert months > 4 and f"{1.96 * (0.8 * 0.2 / months) ** 0.5:.1%}" in html
    # the range in the forecast table is the calibrated one recorded in kpis.json
    lo, hi = kpis["forecast_collections_next_lo_80"], kpis["forecast_collections_next_hi_80"]
    assert f"{lo:,.2f}" in html and f"{hi:,.2f}" in html
    assert "How sure: the calibrated range" in html


def test_invoice_payment_dates_and_13_weeks_reach_the_excel_pack(run):
    import openpyxl

    _, out, frames = run
    kpis = json.loads((out / "aa" / "kpis.json").read_text())
    wb = openpyxl.load_workbook(out / "aa" / "excel_pack.xlsx")
    rows = list(wb["Invoice payment dates"].values)
    head, body = rows[0], rows[1:]  # friendly headers, as the reader sees them
    col = {c: head.index(column_label(c)) for c in ("open_amount", "p_horizon", "p_paid")}
    amount = [r[col["open_amount"]] for r in body]
    # one row per open invoice: together they are open AR, computed by hand
    assert round(sum(amount), 2) == _open_ar_by_hand(frames, "aa") == kpis["open_ar"]
    assert all(0 <= r[col["p_horizon"]] <= r[col["p_paid"]] + 1e-9 for r in body)
    weeks = list(wb["13 weeks"].values)
    wh = [str(h) for h in weeks[0]]
    assert len(weeks) == 14
    for r in weeks[1:]:
        total = r[wh.index(column_label("open_items"))] + r[wh.index(column_label("new_invoicing"))]
        assert r[wh.index(column_label("yhat"))] == pytest.approx(total)
    html = (out / "aa" / "forecast.html").read_text()
    # days are shown with one decimal (arlib.numbers: one style per kind)
    assert f"{kpis['paydate_mae_days']:,.1f}" in html and kpis["paydate_invoices_scored"] > 0


def test_the_13_week_range_and_its_coverage_reach_the_reader(run):
    import openpyxl

    _, out, _ = run
    kpis = json.loads((out / "aa" / "kpis.json").read_text())
    c80, c95 = kpis["week_range_coverage_80"], kpis["week_range_coverage_95"]
    assert 0 < c80 <= 1 and 0 < c95 <= 1
    html = (out / "aa" / "forecast.html").read_text()
    assert "How sure: the 13-week range" in html
    assert f"range held {c80:.1%} of actual weeks out of sample, its 95% range {c95:.1%}" in html
    wb = openpyxl.load_workbook(out / "aa" / "excel_pack.xlsx")
    cov = list(wb["13-week range coverage"].values)
    level, share = (
        cov[0].index(column_label("level")),
        cov[0].index(column_label("calibrated_coverage")),
    )
    assert {r[level]: round(r[share], 4) for r in cov[1:]} == {80: c80, 95: c95}
    weeks = list(wb["13 weeks"].values)
    col = {
        c: weeks[0].index(column_label(c))
        for c in ("yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95")
    }
    rows = [{c: r[i] for c, i in col.items()} for r in weeks[1:]]
    for r in rows:  # nested ranges, never below zero
        assert 0 <= r["yhat_lo_95"] <= r["yhat_lo_80"] <= r["yhat_hi_80"] <= r["yhat_hi_95"]
    # one factor per block of weeks ahead (1-4, 5-8, 9-13): hi / yhat is the same within a block
    for first, last in ((1, 4), (5, 8), (9, 13)):
        ratio = {round(r["yhat_hi_80"] / r["yhat"], 4) for r in rows[first - 1 : last] if r["yhat"]}
        assert len(ratio) == 1, ratio


WORKLIST_COLUMNS = (
    "customer_id",
    "open_amount",
    "expected_loss",
    "priority",
    "score",
    "grade",
    "next_step",
)


def _worklist_order(work) -> list[str]:
    """The worklist's customers, highest summed priority first (worked out from the exported
    items, independently of arlib.health.credit.actions)."""
    per = work.groupby("customer_id", sort=False)["priority"].sum()
    return list(per.sort_values(ascending=False, kind="stable").index)


def test_customer_reports_are_the_unit_reports_rows_for_each_customer(run):
    import pandas as pd

    from arlib.health.measures import fmt
    from arlib.run.customers import file_name

    _, out, frames = run
    behaviour = frames["customers"].set_index("customer_id")["behaviour"]
    seen = set()
    for unit in ("aa", "bb"):
        folder = out / unit
        lang = "zh" if unit == "bb" else "en"
        work = pd.read_csv(folder / "collection_worklist.csv", encoding="utf-8-sig", dtype=str)
        work = work.rename(columns={column_label(c, lang): c for c in WORKLIST_COLUMNS})
        for c in ("open_amount", "expected_loss", "priority", "score"):
            work[c] = work[c].astype(float)
        aging = pd.read_excel(
            folder / "excel_pack.xlsx", sheet_name=t("Aging by customer", lang), dtype={0: str}
        )
        aging = aging.rename(columns={column_label(c, lang): c for c in ("customer_id", "amount")})
        index = json.loads((folder / "customers" / "index.json").read_text())["customers"]
        ids = [c["customer_id"] for c in index]
        assert ids == _worklist_order(work)[:5]  # customer_reports: 5 by default
        health = (folder / "health.html").read_text()
        for c in index:
            cid, f = c["customer_id"], c["figures"]
            rows = work.loc[work["customer_id"] == cid]
            assert f["past_due"] == pytest.approx(rows["open_amount"].sum(), abs=0.01)
            assert f["expected_loss"] == pytest.approx(rows["expected_loss"].sum(), abs=0.01)
            assert (f["grade"], t(f["next_step"], lang)) == (  # steps in the report language
                rows["grade"].iloc[0],
                rows["next_step"].iloc[0],
            )
            assert f["score"] == pytest.approx(rows["score"].iloc[0])
            own = aging.loc[aging["customer_id"].astype(str) == cid, "amount"].sum()
            assert f["open_ar"] == pytest.approx(own, abs=0.01)
            page = (folder / "customers" / c["file"]).read_text()
            assert (
                c["file"] == f"{file_name(cid)}.html" and f'href="customers/{c["file"]}"' in health
            )
            assert cid in page and fmt(f["past_due"], "amount") in page and "<h4>" in page
            assert "Traceback" not in page and c["seconds"] > 0
            seen.add(behaviour[cid])
        if unit == "bb":  # report_language: zh
            assert "催收步骤" in page and "Statement of account" not in page
    # the reports cover a prompt payer (with a disputed item), a late and a defaulting customer
    assert {"prompt", "chronic_late", "defaulting"} <= seen, seen


@pytest.mark.parametrize("width", [1400, 390])
def test_unit_reports_as_a_reader_sees_them(run, browser, width):
    """Desktop and phone: the header names unit, close and currency; no header-only table; no
    internals; the page is as wide as the screen (wide tables scroll in their own box)."""
    _, out, _ = run
    problems = []
    for bu, currency in (("aa", "EUR"), ("bb", "CNY")):
        run_id = json.loads((out / bu / "kpis.json").read_text())["run_id"]
        for name in ("health", "forecast", "provision"):
            shot = None
            if width == 390 and bu == "aa" and name == "health":
                shot = SCREENSHOTS / f"aa_health_{width}.png"
            problems += reader_problems(
                browser,
                out / bu / f"{name}.html",
                width,
                header=(bu, AS_OF, currency),
                run_id=run_id,
                screenshot=shot,
            )
    assert not problems, problems


def test_unit_report_header_links_its_reports_files_and_index(run):
    _, out, _ = run
    html = (out / "aa" / "forecast.html").read_text()
    head = html[html.index('<header class="ar-header">') : html.index("</header>")]
    for link in ("health.html", "provision.html", "excel_pack.xlsx", "../index.html"):
        assert f'href="{link}"' in head, link
        assert (out / "aa" / link).exists(), link  # relative links that work in the run folder
    assert 'href="forecast.html"' not in head  # the page it is on is not a link


def test_sorting_a_table_in_the_browser(run, browser):
    _, out, _ = run
    first, second, shown = sort_and_filter(browser, out / "aa" / "health.html")
    key = [x.lower() for x in first]
    assert key == sorted(key) and len(first) >= 8
    assert [x.lower() for x in second] == sorted(key, reverse=True)
    assert 1 <= shown < len(first)


def test_unit_reports_are_light_and_identical_apart_from_run_and_time(run):
    """Each unit HTML <= 450 KB with its charts; the tables carry ids from their content, so the
    same inputs give the same page (the run id and the time aside)."""
    _, out, _ = run
    sizes = {p.name: p.stat().st_size for p in (out / "aa").glob("*.html")}
    assert len(sizes) == 3 and max(sizes.values()) <= 450_000, sizes
    html = (out / "aa" / "health.html").read_text()
    assert "--jp-" not in html.split("<body")[0]  # no JupyterLab theme CSS
    ids = re.findall(r'id="T_([0-9a-f]+)', html)
    assert ids and all(len(i) == 8 for i in ids)


def test_csv_has_a_bom_and_the_chinese_worklist_is_in_chinese(run):
    _, out, _ = run
    raw = (out / "bb" / "collection_worklist.csv").read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"
    header = raw[3:].decode("utf-8").splitlines()[0]
    assert "下一步" in header and "next_step" not in header


@pytest.mark.parametrize("width", [1400, 390])
def test_group_cockpit_and_index_fit_desktop_and_phone(run, browser, width):
    """The cockpit's tiles and unit x KPI table render, and neither page scrolls sideways: a wide
    table scrolls in its own box."""
    _, out, _ = run
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path in (out / "group" / "group.html", out / "index.html"):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri(), wait_until="load")
        state = page.evaluate("""() => ({
            scroll: document.documentElement.scrollWidth,
            tiles: Array.from(document.querySelectorAll('.gc-tile'))
                .filter(e => e.getBoundingClientRect().width > 0).length,
            cells: document.querySelectorAll('.gc-table td.dso').length,
            sparks: document.querySelectorAll('.gc-table svg').length,
            totals: document.querySelectorAll('.group-totals td').length,
        })""")
        page.screenshot(path=str(SCREENSHOTS / f"{path.stem}_{width}.png"), full_page=True)
        page.close()
        assert state["scroll"] <= width, (path.name, state)
        if path.name == "group.html":
            assert state["tiles"] == 6 and state["cells"] == 3 and state["sparks"] >= 8, state
        else:
            assert state["totals"] == 7, state


def test_a_customer_report_names_its_unit_and_links_back(run):
    _, out, _ = run
    index = json.loads((out / "aa" / "customers" / "index.json").read_text())["customers"]
    page = out / "aa" / "customers" / index[0]["file"]
    html = page.read_text()
    head = html[html.index('<header class="ar-header">') : html.index("</header>")]
    assert "Business unit aa" in head and AS_OF in head and "EUR" in head
    for link in ("../health.html", "../forecast.html", "../provision.html", "../../index.html"):
        assert f'href="{link}"' in head, link
        assert (page.parent / link).exists(), link  # relative links that work in the run folder


def test_health_report_shows_promises_and_disputes_by_collector(run):
    """The demo's collector notes reach the worklist section: the broken promises worked out
    here with a merge of notes and payments (a second route) are the report's."""
    _, out, frames = run
    notes = frames["collector_notes"]
    notes = notes[(notes["business_unit"] == "aa") & notes["promise_amount"].notna()]
    pay = frames["transactions"]
    pay = pay[(pay["kind"] == "payment") & (pay["date"] <= AS_OF)]
    m = notes.reset_index().merge(
        pay, on=["customer_id", "invoice_id"], how="left", suffixes=("", "_p")
    )
    inside = (m["date_p"] >= m["date"]) & (m["date_p"] <= m["promise_date"])
    got = (
        m["amount"].where(inside, 0.0).groupby(m["index"]).sum().reindex(notes.index, fill_value=0)
    )
    short = (notes["promise_amount"] - got).round(2)
    broken = notes[(notes["promise_date"] <= AS_OF) & (short > 0)]
    assert len(broken) > 0  # the demo has broken promises to show
    kpis = json.loads((out / "aa" / "kpis.json").read_text())
    assert kpis["promises"] == len(notes)
    assert kpis["promises_broken"] == len(broken)
    assert kpis["promises_broken_amount"] == round(float(short[broken.index].sum()), 2)
    html = (out / "aa" / "health.html").read_text()
    assert "Promises and disputes by collector" in html
    assert all(f"{v:,.2f}" in html for v in short[broken.index])  # each broken promise's shortfall
    assert all(owner in html for owner in set(notes["owner"]))


def test_definitions_name_the_window_by_its_dates(run):
    """The health report's definitions give this close's window as dates, in English and
    Chinese (bb: 6 months), and no formula text or parameter name before the audit appendix."""
    _, out, _ = run
    aa = (out / "aa" / "health.html").read_text().split('class="ar-stamp"')[0]
    bb = (out / "bb" / "health.html").read_text().split('class="ar-stamp"')[0]
    assert "the 3 calendar months from 2026-08-01 to 2026-10-31, 92 days." in aa
    assert "open AR at the close of 2026-07-31, the day before the window" in aa
    assert "从 2026-05-01 到 2026-10-31 的 6 个自然月，共 184 天。" in bb
    for page in (aa, bb):
        assert "window_months" not in page and "(as_of" not in page
