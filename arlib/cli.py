"""The ``arlib`` command: ``arlib demo`` builds the demo store, ``arlib run`` makes the reports."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from arlib.errors import ArlibError, ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="arlib", description="Accounts-receivable reports per business unit."
    )
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="build the embedded demo ledger store")
    d.add_argument("--out", default=None, help="store path (default: outputs/demo/ar_demo.sqlite)")
    d.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    r = sub.add_parser("run", help="run the report notebooks for every business unit")
    r.add_argument("--bu", nargs="+", metavar="UNIT", help="only these business units")
    r.add_argument(
        "--params",
        nargs="+",
        metavar="DIR_OR_FILE",
        help="params folders or files (default: params/)",
    )
    r.add_argument("--as-of", dest="as_of", help="close date, ISO (overrides params)")
    r.add_argument("--jobs", type=int, default=1, help="units run side by side (default 1)")
    r.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the units on a Dask cluster, e.g. tcp://host:8786 (outputs still written here)",
    )
    r.add_argument(
        "--notebooks", nargs="+", metavar="NAME", help="only these notebooks (e.g. health)"
    )
    r.add_argument("--out-dir", default="outputs", help="output root (default: outputs)")
    r.add_argument(
        "--dry-run", action="store_true", help="validate params and show the plan; run nothing"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to PDF beside its HTML (needs headless Chromium; "
        "without it, a note and HTML only)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        return _run(args)
    except ArlibError as e:
        print(f"arlib: error: {_shown(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the run folder is unpublished; the next run of the close removes it
        print("arlib: interrupted; the published runs are unchanged", file=sys.stderr)
        return 130


def _shown(message: str) -> str:
    """An error as the user reads it: URL secrets masked, and files under the project named
    relative to it (``params/de.yaml``, not the server's absolute path); others as given."""
    from arlib.config import project_root
    from arlib.redact import mask_urls

    root = str(project_root()).rstrip("/\\") + os.sep
    return mask_urls(message.replace(root, ""))


def _demo(args) -> int:
    from arlib import demo, io
    from arlib.config import project_root

    path = Path(args.out) if args.out else project_root() / io.DEMO_STORE
    frames = demo.generate(seed=args.seed)
    io.write_store(frames, path)
    n = {k: len(v) for k, v in frames.items()}
    print(
        f"demo store: {path} ({n['invoices']:,} invoices, {n['transactions']:,} transactions, "
        f"{n['customers']:,} customers, units {', '.join(sorted(frames['customers']['business_unit'].unique()))})"
    )
    return 0


def _run(args) -> int:
    from arlib.run.pool import prestart_pool
    from arlib.run.runner import light_imports

    light_imports()  # nbformat, loaded later here too, would otherwise compile a grammar (~2 s)
    if args.jobs < 1:
        raise ConfigError("--jobs", f"must be at least 1, got {args.jobs}")
    if not (args.dry_run or args.scheduler):
        prestart_pool(args.jobs)  # warms up beside the imports and the planning below
    from arlib.run.close import run_closes
    from arlib.run.grouprun import check_group_rates, group_config, group_params_file
    from arlib.run.plan import plan_jobs

    jobs, root, defined = plan_jobs(args.params, args.bu, args.as_of, args.notebooks)
    out_root = Path(args.out_dir)
    if not out_root.is_absolute():
        out_root = Path.cwd() / out_root
    group_file = group_params_file(args.params, root)
    for as_of in sorted({j.as_of for j in jobs}) if group_file else ():
        cfg = group_config(group_file, as_of, out_root / as_of, [])  # errors before any unit runs
        currencies = {j.business_unit: j.params["currency"] for j in jobs if j.as_of == as_of}
        check_group_rates(cfg, group_file, currencies)
    if args.dry_run:
        for j in jobs:
            nbs = ", ".join(Path(n).stem for n in j.notebooks)
            print(
                f"{j.business_unit}: as of {j.as_of}, params {j.params_file}, notebooks {nbs} -> "
                f"{out_root / j.as_of / j.business_unit}"
            )
        print(f"dry run: {len(jobs)} business unit(s), nothing executed")
        return 0
    outcome = run_closes(jobs, out_root, defined, _executor(args), group_file, pdf=args.pdf)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    n_dates = len(outcome.indexes)
    print(
        f"run {outcome.run_id}: {len(jobs)} unit(s), {n_dates} close date(s) in {outcome.seconds:.1f} s"
    )
    for r in outcome.noted_units:
        print(f"ok with notes {r.business_unit}: {' '.join(r.notes)}")
    for r in outcome.failed_units:
        print(f"FAILED {r.business_unit}: {'; '.join(r.errors)}", file=sys.stderr)
    for err in outcome.group_errors:
        print(f"FAILED group report: {err}", file=sys.stderr)
    for index in outcome.indexes:
        print(f"open the reports: {index}")
    return 1 if outcome.failed_units or outcome.group_errors else 0


def _executor(args):
    """How the units run: locally (``--jobs`` side by side) or on a Dask cluster."""
    progress = not args.no_progress
    if args.scheduler:
        from arlib.run.distributed import run_jobs as run_on_cluster

        return lambda jobs, out_root: run_on_cluster(
            jobs, out_root, args.scheduler, progress=progress
        )
    from arlib.run.pool import run_jobs

    return lambda jobs, out_root: run_jobs(jobs, out_root, args.jobs, progress=progress)


if __name__ == "__main__":
    sys.exit(main())
