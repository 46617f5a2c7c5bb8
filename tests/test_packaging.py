"""Install metadata: environment.yml and pyproject.toml list the same packages; the public API."""

from __future__ import annotations

import tomllib

import yaml
from conftest import ROOT

import arlib


def test_environment_yml_matches_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    want = set(meta["dependencies"]) | set(extras["test"]) | set(extras["bench"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip) - {"-e ."} == want
    assert "python=3.11" in env["dependencies"]


def test_public_api_is_pinned():
    assert sorted(arlib.__all__) == sorted(
        [
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
    )
    for name in arlib.__all__:
        assert getattr(arlib, name) is not None, name
