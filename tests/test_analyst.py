"""Safe to edit: what an analyst who edits and reruns a notebook can rely on.

A notebook reads exactly its own parameters; the report language follows the parameter, not a
cell; an edited paragraph still renders (in English, with a warning naming it); files go under
the project's ``outputs/`` whatever the working folder; cells are calls with keywords past two
arguments and take their defaults from the config.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from arlib import config, i18n
from arlib.i18n import UntranslatedWarning, set_language
from arlib.report.html import to_html

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(autouse=True)
def english_after():
    yield
    set_language("en")


def test_a_stray_global_of_another_notebook_is_not_read():
    """JupyterLab keeps globals between runs: a variable named like the forecast's or the group's
    parameter (or a mistyped value of one) must not reach the health report's config."""
    own = {"business_unit": "de", "as_of": "2026-10-31", "window_months": 3}
    stray = {"forecast_horizon": "twelve", "fx_rates": [1], "provision_method": 7, "units": "x"}
    cfg = config.load(own | stray, "health")
    assert cfg == config.load(own, "health")
    assert not set(stray) & set(cfg)
    assert set(cfg) == set(config.notebook_declared(ROOT / "notebooks" / "health.ipynb"))


def test_the_report_language_is_set_by_the_parameter_not_by_a_cell():
    from arlib.health.measures import fmt
    from arlib.report.tables import column_label

    config.load({"report_language": "zh"}, "health")
    assert i18n.language() == "zh"
    assert column_label("open_ar") == "应收账款余额" and fmt(3.0, "days") != "3.0 days"
    config.load({"report_language": "en"}, "provision")  # the next notebook in the same kernel
    assert column_label("open_ar") == "Open AR"


def test_charts_take_the_theme_of_the_report_language_without_a_theme_cell():
    import matplotlib.pyplot as plt

    from arlib.report import plots

    config.load({"report_language": "zh"}, "health")
    ax = plots.new_axes()
    family = plt.rcParams["font.family"]
    plt.close(ax.figure)
    assert any("CJK" in f or "Hei" in f or "Noto" in f for f in family), family


def test_folders_written_are_under_the_project_whatever_the_working_folder(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    monkeypatch.delenv("ARLIB_HOME", raising=False)
    cfg = config.load({}, "health")
    assert Path(cfg.output_dir) == ROOT / "outputs" / "scratch"
    group = config.load({}, "group")
    assert Path(group.reports_dir) == ROOT / "outputs" / "2026-10-31"
    runner_set = config.load({"output_dir": "/elsewhere/run/de"}, "health")
    assert runner_set.output_dir == "/elsewhere/run/de"


def _executed(source_cells: list[str]):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) for s in source_cells]
    for i, c in enumerate(nb.cells):
        c.id = f"cell-{i}"
    return nb


def test_an_edited_paragraph_falls_back_to_english_with_a_warning_naming_it():
    health = nbformat.read(ROOT / "notebooks" / "health.ipynb", as_version=4)
    intro = next(c.source for c in health.cells if c.cell_type == "markdown")
    edited = intro.replace("how late it is", "how late it is (typo fixed)")
    nb = _executed([intro, edited])
    with pytest.warns(UntranslatedWarning, match=r"markdown cell cell-1 .*no zh translation"):
        page = to_html(nb, "Health report", "zh")
    assert "应收账款健康状况" in page  # the untouched paragraph is translated
    assert "how late it is (typo fixed)" in page  # the edited one shows, in English
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_html(_executed([intro]), "Health report", "zh")  # nothing edited: no warning
        to_html(nb, "Health report", "en")  # English: nothing to translate


def _calls(nb_path: Path):
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    for c in cells:
        if c["cell_type"] != "code" or "parameters" in c.get("metadata", {}).get("tags", []):
            continue
        src = "".join(c["source"])
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Call):
                yield c.get("id"), src, node


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_calls_use_keywords_past_two_arguments(nb):
    crowded = [(cid, src) for cid, src, call in _calls(nb) if len(call.args) > 2]
    assert not crowded, crowded


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_number_literal_where_a_parameter_belongs(nb):
    """Counts, horizons and sizes come from the config (``top_customers(customers, 10)`` ignored
    ``cfg.top_customers``); a step of one month back (``step_back(as_of, 1)``) is no default."""
    literal = [
        (cid, src)
        for cid, src, call in _calls(nb)
        for arg in [*call.args, *(k.value for k in call.keywords if k.arg != "decimals")]
        if isinstance(arg, ast.Constant)
        and isinstance(arg.value, int | float)
        and not isinstance(arg.value, bool)
        and arg.value not in (0, 1)
    ]
    assert not literal, literal


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_plumbing_is_one_call_per_section(nb):
    """Records, Excel sheets and exports sit behind one call per section: no section (between
    two headings) has more than two plumbing cells, and no notebook more than one in eight."""
    cells = nbformat.read(nb, as_version=4).cells
    plumbing = ("arlib.record(", "excel.add_sheet(", "export_worklist(", "save_forecast(")
    sections, count, total = [], 0, 0
    for c in cells:
        if c.cell_type == "markdown" and c.source.lstrip().startswith("## "):
            sections.append(count)
            count = 0
        elif c.cell_type == "code" and c.source.startswith(plumbing):
            count, total = count + 1, total + 1
    sections.append(count)
    code = sum(c.cell_type == "code" for c in cells)
    assert max(sections) <= 2 and total <= code / 8 + 1, (sections, total, code)


def test_make_lab_builds_the_demo_registers_the_kernel_and_opens_the_notebooks(tmp_path):
    import os
    import subprocess

    # a make of its own, not a sub-make of `make test` (whose flags it would inherit)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    make = ["make", "--no-print-directory"]
    plan = subprocess.run(
        [*make, "-n", "-W", "pyproject.toml", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert "arlib demo" in plan  # the demo store is built when missing (forced here by -W)
    assert "ipykernel install --user --name arlib" in plan
    assert plan.rstrip().splitlines()[-1] == ".venv/bin/jupyter lab notebooks/"
    subprocess.run(
        [*make, "kernel", f"KERNEL_DEST=--prefix {tmp_path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env=env,
    )
    spec = json.loads((tmp_path / "share/jupyter/kernels/arlib/kernel.json").read_text())
    assert spec["display_name"] == "Python (arlib)"
    assert spec["argv"][0].endswith(".venv/bin/python")  # the project venv, wherever it is
