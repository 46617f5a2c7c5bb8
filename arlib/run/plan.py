"""From params folders and command-line options to a validated list of unit jobs."""

from __future__ import annotations

from pathlib import Path

from arlib.config import project_root, unit_files, unit_params, validate
from arlib.errors import ConfigError
from arlib.io.load import check_params
from arlib.provision.given import check_loss_rates
from arlib.run.runner import UnitJob, find_notebooks


def plan_jobs(
    params: list[str] | None,
    units: list[str] | None,
    as_of: str | None,
    notebooks: list[str] | None,
) -> tuple[list[UnitJob], Path, dict[str, set[str]]]:
    """Validate every unit's params (all errors before anything runs): the selected units' jobs,
    the project root, and every unit the params define per close date (a run of some units
    carries the others over from their earlier run)."""
    root = project_root()
    files = unit_files([Path(p) for p in params] if params else [root / "params"])
    nbs = tuple(str(p) for p in find_notebooks(root, notebooks))
    overrides = {"as_of": as_of} if as_of else {}
    jobs = []
    for unit_file, defaults in files:
        raw = unit_params(unit_file, defaults, overrides)
        cfg = validate(raw, str(unit_file))
        check_params(cfg, str(unit_file))
        try:  # every aging bucket named (the range is checked with the other bounds)
            check_loss_rates(cfg.get("loss_rates"), cfg["aging_thresholds"])
        except ConfigError as e:
            raise ConfigError(e.key, e.problem, str(unit_file)) from None
        jobs.append(
            UnitJob(cfg["business_unit"], cfg["as_of"], dict(cfg), str(unit_file), nbs, str(root))
        )
    dup = {
        j.business_unit for j in jobs if sum(k.business_unit == j.business_unit for k in jobs) > 1
    }
    if dup:
        raise ConfigError("business_unit", f"defined by more than one params file: {sorted(dup)}")
    defined: dict[str, set[str]] = {}
    for j in jobs:
        defined.setdefault(j.as_of, set()).add(j.business_unit)
    if units:
        known = {j.business_unit for j in jobs}
        unknown = [u for u in units if u not in known]
        if unknown:
            raise ConfigError(
                "--bu", f"unknown business unit(s) {unknown}; params define {sorted(known)}"
            )
        jobs = [j for j in jobs if j.business_unit in units]
    if not jobs:
        raise ConfigError(
            "--params", "no business-unit params files found (add params/<unit>.yaml)"
        )
    return jobs, root, defined
