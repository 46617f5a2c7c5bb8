"""Sources -> validated canonical frames: files, databases, mapping, checks, FX, reconciliation."""

from arlib.io.load import (  # noqa: F401  the package's public API
    DEMO_STORE,
    engine_for,
    load_frames,
    load_ledger,
    read_frames,
    resolve_path,
    with_driver,
    write_store,
)
from arlib.io.snapshot import read_snapshot, write_snapshot  # noqa: F401
