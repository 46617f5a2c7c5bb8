"""Bad params files and values: one clear message each, naming the file, key and line, before any
unit runs (issue 17, "Security": params robustness). Each test asserts the exact message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from arlib import paramfile
from arlib.bounds import BOUNDS, readme_rows
from arlib.cli import main
from arlib.config import declared_parameters, read_yaml, unit_files, unit_params, validate
from arlib.errors import ConfigError


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as e:
        validate(unit_params(path, None), str(path))
    return str(e.value)


def _dry_run(capsys, *args: str) -> tuple[int, str]:
    code = main(["run", "--dry-run", "--no-progress", *args])
    return code, capsys.readouterr().err


# --- the file itself -------------------------------------------------------------------------


def test_duplicate_key_names_the_key_and_both_lines(tmp_path):
    p = _write(tmp_path / "de.yaml", "currency: EUR\nwindow_months: 3\n\ncurrency: USD\n")
    assert _error(p) == (
        f"{p}: parameter currency: is written twice, on lines 1 and 4 (the last would silently "
        "win). Fix: keep one of them"
    )


def test_duplicate_key_inside_a_mapping_parameter(tmp_path):
    p = _write(
        tmp_path / "de.yaml",
        "source_options:\n  columns:\n    invoices:\n      Betrag: amount\n"
        "      Datum: invoice_date\n      Betrag: due_date\n",
    )
    assert _error(p) == (
        f"{p}: parameter Betrag: is written twice, on lines 4 and 6 (the last would silently "
        "win). Fix: keep one of them"
    )


def _alias_bomb(levels: int = 9, width: int = 10) -> tuple[str, int]:
    """A list parameter whose aliases stand for width**levels values, and that count worked
    out level by level (a level is a list of ``width`` copies of the level below)."""
    rows = [f"  - &l0 [{', '.join(['auto'] * width)}]"]
    size = [1 + width]  # the list and its scalars
    for k in range(1, levels):
        rows.append(f"  - &l{k} [{', '.join([f'*l{k - 1}'] * width)}]")
        size.append(1 + width * size[-1])
    return "forecast_methods:\n" + "\n".join(rows) + "\n", 1 + sum(size)


def test_alias_bomb_in_a_list_parameter_fails_with_the_count(tmp_path):
    text, values = _alias_bomb()
    # by hand: scalars 10 + 100 + ... + 10**9 = 1,111,111,110; lists 1 + 11 + 111 + ... +
    # 111,111,111 = 123,456,789; and the parameter's own list
    assert values == 1_111_111_110 + 123_456_789 + 1
    p = _write(tmp_path / "de.yaml", text)
    # counted on the parsed graph (each anchored list once): refused before anything expands
    assert _error(p) == (
        f"{p}: parameter forecast_methods: line 2: stands for {values:,} values once its YAML "
        "aliases (*name) are expanded (at most 100,000). Fix: write the values out without aliases"
    )


def test_a_few_aliases_within_the_limit_are_read(tmp_path):
    p = _write(tmp_path / "de.yaml", "x: &m [ets, theta]\n")
    assert read_yaml(p) == {"x": ["ets", "theta"]}
    text, values = _alias_bomb(levels=3, width=10)  # 1 + 11 + 111 + 1111 = 1,234 values
    assert values == 1_234 and len(paramfile.parse(text, "t")["forecast_methods"][2]) == 10


def test_alias_that_contains_itself_is_refused(tmp_path):
    p = _write(tmp_path / "de.yaml", "dunning_ladder: &loop [[1, reminder], *loop]\n")
    assert _error(p) == (
        f"{p}: parameter (file): line 1: an alias refers to the value that contains it. "
        "Fix: remove the alias"
    )


def test_params_file_in_cp1252_names_file_line_and_byte(tmp_path):
    text = "currency: EUR\nsource_options:\n  columns: {invoices: {Währung: currency}}\n"
    p = _write(tmp_path / "de.yaml", text, "cp1252")
    assert _error(p) == (
        f"{p}: parameter (file): line 3: is not UTF-8 text (byte 0xE4). Fix: save the file as "
        "UTF-8 (in most editors: Save As, encoding UTF-8)"
    )


def test_utf8_with_bom_is_read(tmp_path):
    p = _write(tmp_path / "de.yaml", "\ufeffcurrency: EUR\n")
    assert read_yaml(p) == {"currency": "EUR"}


_YAML_FIX = "Fix: check the indentation, colons and quotes there (quote text holding ': ' or ' #')"


@pytest.mark.parametrize(
    "text,problem",
    [
        (
            "window_months: 3\n  trend_months: 4\n",
            "line 2, column 15: is not valid YAML: mapping values are not allowed here",
        ),
        (  # an unclosed quote: where it started, too
            "as_of: '2026-10-31\nwindow_months: 3\n",
            "line 3, column 1: is not valid YAML: while scanning a quoted scalar (line 1), found "
            "unexpected end of stream",
        ),
    ],
)
def test_yaml_syntax_error_names_line_and_column(tmp_path, text, problem):
    p = _write(tmp_path / "de.yaml", text)
    assert _error(p) == f"{p}: parameter (file): {problem}. {_YAML_FIX}"


def test_unquoted_impossible_date_is_one_message(tmp_path):
    p = _write(tmp_path / "de.yaml", "as_of: 2026-13-01\n")
    assert _error(p) == (
        f"{p}: parameter as_of: must be an ISO date like 2024-06-30, got '2026-13-01'"
    )


def test_unquoted_date_is_kept_as_iso_text(tmp_path):
    p = _write(tmp_path / "de.yaml", "as_of: 2026-10-31\n")
    assert read_yaml(p) == {"as_of": "2026-10-31"}
    assert validate(unit_params(p, None), str(p))["as_of"] == "2026-10-31"


# --- values: one table of bounds, checked by the dry run ------------------------------------


def _params(tmp_path: Path, unit: str, group: str | None = None) -> Path:
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "defaults.yaml").write_text('as_of: "2026-10-31"\n')
    (folder / "de.yaml").write_text(unit)
    if group is not None:
        (folder / "group.yaml").write_text(group)
    return folder


@pytest.mark.parametrize(
    "line,message",
    [
        ("trend_months: 100000", "parameter trend_months: must be between 1 and 240, got 100000"),
        ("top_customers: -5", "parameter top_customers: must be between 1 and 1000, got -5"),
        ("discount: 5.0", "parameter discount: must be between 0 and 0.5, got 5.0"),
        (
            "forward_adjustment: .nan",
            "parameter forward_adjustment: must be a finite number, got nan",
        ),
        ("gl_control_total: .inf", "parameter gl_control_total: must be a finite number, got inf"),
        ("backtest_step: 0", "parameter backtest_step: must be between 1 and 52, got 0"),
    ],
)
def test_dry_run_refuses_out_of_range_values_naming_key_and_file(tmp_path, capsys, line, message):
    folder = _params(tmp_path, f"currency: EUR\n{line}\n")
    code, err = _dry_run(capsys, "--params", str(folder))
    assert (code, err) == (2, f"arlib: error: {folder / 'de.yaml'}: {message}\n")


def test_jobs_must_be_at_least_one(capsys):
    code, err = _dry_run(capsys, "--jobs", "0")
    assert (code, err) == (2, "arlib: error: parameter --jobs: must be at least 1, got 0\n")


def test_dry_run_validates_group_yaml(tmp_path, capsys):
    folder = _params(tmp_path, "currency: USD\n", "group_currency: EUR\nfx_rates: {USD: -0.9}\n")
    code, err = _dry_run(capsys, "--params", str(folder))
    assert (code, err) == (
        2,
        f"arlib: error: {folder / 'group.yaml'}: parameter fx_rates.USD: must be > 0, got -0.9\n",
    )


def test_dry_run_refuses_a_duplicate_key_in_group_yaml(tmp_path, capsys):
    group = "group_currency: EUR\nfx_rates: {USD: 0.9}\ngroup_currency: USD\n"
    folder = _params(tmp_path, "currency: USD\n", group)
    code, err = _dry_run(capsys, "--params", str(folder))
    assert (code, err) == (
        2,
        f"arlib: error: {folder / 'group.yaml'}: parameter group_currency: is written twice, "
        "on lines 1 and 3 (the last would silently win). Fix: keep one of them\n",
    )


def test_dry_run_of_a_valid_folder_passes(tmp_path, capsys):
    folder = _params(
        tmp_path, "currency: USD\ntrend_months: 240\ndiscount: 0.5\n", "fx_rates: {USD: 0.9}\n"
    )
    assert main(["run", "--dry-run", "--params", str(folder)]) == 0
    assert capsys.readouterr().out.endswith("dry run: 1 business unit(s), nothing executed\n")


def test_every_bound_names_a_declared_parameter_and_every_shipped_params_file_passes():
    declared = declared_parameters()
    assert set(BOUNDS) <= set(declared)
    for name, bound in BOUNDS.items():  # the declared defaults are within their own bounds
        default = declared[name].default
        if default is not None and not bound.each:
            assert bound.holds(default), name
    files = unit_files([ROOT / "params", ROOT / "params" / "ibm"])
    assert len(files) >= 5
    for unit_file, defaults in files:
        validate(unit_params(unit_file, defaults), str(unit_file))


def test_readme_parameter_ranges_table_is_the_bounds_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Parameter ranges", 1)[1].split("\n\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if re.match(r"\| `", ln)]
    assert rows == readme_rows()


def test_dry_run_refuses_a_unit_currency_without_a_group_rate(tmp_path, capsys):
    folder = _params(tmp_path, "currency: CNY\n", "group_currency: EUR\nfx_rates: {USD: 0.9}\n")
    (folder / "us.yaml").write_text("currency: CNY\n")
    (folder / "fr.yaml").write_text("currency: EUR\n")
    code, err = _dry_run(capsys, "--params", str(folder))
    assert (code, err) == (
        2,
        f"arlib: error: {folder / 'group.yaml'}: parameter fx_rates: has no rate for CNY -> EUR; "
        "add e.g. CNY: 0.92 (units of EUR per CNY at as_of); needed by unit(s) ['de', 'us']\n",
    )
