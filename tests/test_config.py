"""Params files -> validated config: errors name the key, the file and the fix."""

from __future__ import annotations

import pytest

from arlib.config import (
    RunConfig,
    parse_parameters_cell,
    read_yaml,
    redacted,
    unit_params,
    validate,
)
from arlib.errors import ConfigError


def test_unknown_key_names_the_nearest_valid_one(tmp_path):
    with pytest.raises(ConfigError) as e:
        validate({"window_month": 3}, "params/x.yaml")
    assert str(e.value) == (
        "params/x.yaml: parameter window_month: is not a parameter of any notebook; "
        "did you mean 'window_months'?"
    )


@pytest.mark.parametrize(
    "key,value,problem",
    [
        ("window_months", "3", "must be int, got str '3'"),
        ("window_months", True, "must be int, got bool True"),
        ("window_months", 0, "must be between 1 and 24, got 0"),
        ("as_of", "31/12/2024", "must be an ISO date like 2024-06-30, got '31/12/2024'"),
        ("as_of", "2024-02-30", "must be an ISO date like 2024-06-30, got '2024-02-30'"),
        (
            "aging_thresholds",
            [30, 60],
            "must start at 0 and increase strictly, e.g. [0, 30, 60, 90, 120]; got [30, 60]",
        ),
    ],
)
def test_bad_values(key, value, problem):
    with pytest.raises(ConfigError) as e:
        validate({key: value}, "u.yaml")
    assert str(e.value) == f"u.yaml: parameter {key}: {problem}"


def test_defaults_filled_frozen_and_dates_as_timestamps():
    cfg = validate({"business_unit": "de", "as_of": "2024-06-30"})
    assert cfg.window_months == 3 and cfg.as_of.strftime("%d.%m.%Y") == "30.06.2024"
    assert cfg["as_of"] == "2024-06-30"
    with pytest.raises(AttributeError):
        cfg.window_months = 4
    assert isinstance(cfg, RunConfig)


def test_yaml_is_loaded_safely(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("business_unit: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(
        ConfigError, match="evil.yaml: parameter \\(file\\): line 1, column 16: is not valid YAML"
    ):
        read_yaml(p)


def test_unit_overrides_defaults_and_name_from_file(tmp_path):
    (tmp_path / "defaults.yaml").write_text("window_months: 6\nas_of: '2024-01-31'\n")
    (tmp_path / "north.yaml").write_text("window_months: 2\n")
    raw = unit_params(tmp_path / "north.yaml", tmp_path / "defaults.yaml", {"as_of": "2024-02-29"})
    assert raw == {"window_months": 2, "as_of": "2024-02-29", "business_unit": "north"}


def test_mapping_in_both_defaults_and_unit_is_an_error(tmp_path):
    (tmp_path / "defaults.yaml").write_text("source_options: {delimiter: ';'}\n")
    (tmp_path / "u.yaml").write_text("source_options: {encoding: gbk}\n")
    with pytest.raises(ConfigError, match="source_options: is a mapping defined both here and in"):
        unit_params(tmp_path / "u.yaml", tmp_path / "defaults.yaml")


def test_parse_parameters_cell_types_defaults_help():
    ps = parse_parameters_cell(
        "a: int = 3  # three\nb: list = [0, 1]  # two\n# a comment\nc: float = None"
    )
    assert [(p.name, p.type, p.default, p.help) for p in ps] == [
        ("a", "int", 3, "three"),
        ("b", "list", [0, 1], "two"),
        ("c", "float", None, ""),
    ]


def test_redacted_hides_secret_values_but_not_env_names():
    assert redacted({"db_password": "s3cret", "password_env": "PGPASS", "as_of": "x"}) == {
        "db_password": "***",
        "password_env": "PGPASS",
        "as_of": "x",
    }


def test_source_checks_run_at_plan_time_and_name_the_file():
    from arlib.io.load import check_params

    def validate(values, source):  # what the planner does with each unit's params
        check_params(values, source)

    with pytest.raises(ConfigError) as e:
        validate({"source": "postgresql://ar:s3cret@db/ar"}, "params/x.yaml")
    assert str(e.value).startswith(
        "params/x.yaml: parameter source: holds a password (user info: postgresql://ar:***@db/ar)"
    )
    assert "s3cret" not in str(e.value)
    with pytest.raises(ConfigError, match=r"params/x.yaml: parameter source_options.delimter"):
        validate({"source_options": {"delimter": ";"}}, "params/x.yaml")
    with pytest.raises(
        ConfigError,
        match=r"params/x.yaml: parameter validation_policy.duplicate_id: must be one of",
    ):
        validate({"validation_policy": {"duplicate_id": "ignore"}}, "params/x.yaml")
