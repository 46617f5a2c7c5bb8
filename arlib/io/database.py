"""Databases through SQLAlchemy: the unit's rows with the filter in SQL, and credentials kept secret.

``source`` is a SQLAlchemy URL or an SQLite file; ``source_options.tables`` / ``queries`` say
where each frame is (default: a table named after the frame). The business-unit filter is a
``WHERE <unit column> = :bu`` on tables, and user queries must carry a ``:business_unit`` bind
parameter, so memory is bounded by the unit. Passwords never come from params:
``source_options.password_env`` or ``url_env`` name environment variables, a password written
into ``source`` is refused, and every message from here has the secret values masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from arlib.errors import ConfigError, SourceError
from arlib.io.mapping import resolve_columns
from arlib.io.options import COLLECTOR_NOTES, FX_RATES, SourceOptions
from arlib.io.sources import UNIT_FRAMES, Raw, resolve_path, with_rows
from arlib.redact import check_no_url_secrets, is_secret_query_key, mask_url, mask_urls
from arlib.schemas import C


@dataclass(frozen=True)
class Secrets:
    """Values that must never be shown; :meth:`scrub` masks them in any text."""

    values: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        for v in sorted(self.values, key=len, reverse=True):
            if v:
                text = text.replace(v, "***")
        return mask_urls(text)


def _env(name: str, key: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            key,
            f"environment variable {name} is not set. Fix: export {name}=<{what}> "
            "before running arlib (the value is never written to params or reports)",
        )
    return value


def with_driver(url: sa.URL) -> sa.URL:
    """``postgresql://`` with the driver that is installed: SQLAlchemy 2.1 defaults to psycopg 3,
    the suite ships psycopg2 (``postgresql+psycopg2://``)."""
    if url.drivername == "postgresql":
        import importlib.util

        if (
            importlib.util.find_spec("psycopg") is None
            and importlib.util.find_spec("psycopg2") is not None
        ):
            return url.set(drivername="postgresql+psycopg2")
    return url


def check_source(source: str) -> sa.URL | None:
    """The URL in ``source`` (None for a path); a password written into it is refused, because
    params are recorded in every report. Cheap: config-time validation may call it too.

    >>> check_source("postgresql://ar:s3cret@db/ar")
    Traceback (most recent call last):
    ...
    arlib.errors.ConfigError: parameter source: holds a password (user info: postgresql://ar:***@db/ar); params are recorded in the reports. Fix: remove it from the URL and name an environment variable holding it in source_options.password_env
    """
    if "://" not in source:
        return None
    check_no_url_secrets({"source": source})
    try:
        url = sa.engine.make_url(source)
    except Exception:
        raise ConfigError(
            "source", "is not a SQLAlchemy URL (e.g. postgresql://user@host:5432/db)"
        ) from None
    return url


def database_url(source: str, opts: SourceOptions) -> tuple[sa.URL, Secrets]:
    """The URL to connect to and the secrets to mask. A password written into ``source`` is
    refused: params are recorded in every report."""
    secrets: list[str] = []
    if opts.url_env:
        raw = _env(opts.url_env, "source_options.url_env", "SQLAlchemy URL")
        secrets.append(raw)
        try:
            url = sa.engine.make_url(raw)
        except Exception:
            raise ConfigError(
                "source_options.url_env",
                f"environment variable {opts.url_env} does not hold a "
                "SQLAlchemy URL such as postgresql://user:password@host:5432/db",
            ) from None
    elif "://" in source:
        url = check_source(source)
    else:
        path = resolve_path(source)
        if not path.exists():
            raise SourceError(
                f"{path}: the data store does not exist. Fix: run `arlib demo` to build the demo "
                "store, or set `source` to your database URL or data files"
            )
        url = sa.engine.URL.create("sqlite", database=str(path))
    if opts.password_env:
        password = _env(opts.password_env, "source_options.password_env", "password")
        secrets.append(password)
        url = url.set(password=password)
    if url.password:
        secrets.append(str(url.password))
    for key, value in url.query.items():  # e.g. ?password=... in the URL of url_env
        if is_secret_query_key(key):
            secrets += [value] if isinstance(value, str) else list(value)
    return with_driver(url), Secrets(tuple(secrets))


def shown(url: sa.URL) -> str:
    """The URL as shown in labels and messages: every secret masked (user info and query).

    >>> shown(sa.engine.make_url("postgresql://ar:pw@db/erp?sslpassword=k&sslmode=require"))
    'postgresql://ar:***@db/erp?sslmode=require&sslpassword=***'
    """
    return mask_url(url.render_as_string(hide_password=True))


def db_error(label: str, exc: Exception, secrets: Secrets, fix: str) -> SourceError:
    """A one-line :class:`SourceError` from a driver error, secrets masked."""
    detail = str(getattr(exc, "orig", None) or exc)
    detail = " ".join(
        line.strip() for line in detail.splitlines() if line.strip() and not line.startswith("[")
    )
    return SourceError(secrets.scrub(f"{label}: {detail}. Fix: {fix}"))


def _split_table(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return schema or None, table


def _read_db_frame(
    con, frame: str, opts: SourceOptions, bu: str, label: str, required: bool
) -> Raw | None:
    if frame in opts.queries:
        query = opts.queries[frame]
        params = {}
        if ":business_unit" in query:
            params["business_unit"] = bu
        elif frame in UNIT_FRAMES and not opts.one_unit:
            raise ConfigError(
                f"source_options.queries.{frame}",
                "must filter by business unit with the bind "
                "parameter :business_unit (e.g. WHERE company_code = :business_unit), or set "
                "source_options.one_unit: true when it returns one unit's rows only",
            )
        df = pd.read_sql(sa.text(query), con, params=params)
        return Raw(frame, f"{label} query {frame}", with_rows(df))
    schema, name = _split_table(opts.tables.get(frame, frame))
    insp = sa.inspect(con)
    if not insp.has_table(name, schema=schema):
        if required or frame in opts.tables:
            known = ", ".join(sorted(insp.get_table_names(schema=schema))) or "none"
            raise SourceError(
                f"{label}: no table {opts.tables.get(frame, frame)!r} for {frame} (tables: {known}). "
                f"Fix: set source_options.tables.{frame} or source_options.queries.{frame}"
            )
        return None
    cols = [c["name"] for c in insp.get_columns(name, schema=schema)]
    rename, _, _ = resolve_columns(
        frame, cols, opts.columns.get(frame, {}), opts.soft_columns.get(frame)
    )
    bu_col = next((s for s, t in rename.items() if t == C.business_unit), None)
    table = sa.table(name, *[sa.column(c) for c in cols], schema=schema)
    stmt = sa.select(table)
    units = None
    if frame != FX_RATES and not opts.one_unit:
        if bu_col is not None:
            stmt = stmt.where(table.c[bu_col] == sa.bindparam("bu", bu))
        elif frame in UNIT_FRAMES:
            stmt = stmt.limit(0)  # the missing business_unit column is reported with the others
    df = pd.read_sql(stmt, con)
    if frame == "invoices" and df.empty and bu_col is not None and not opts.one_unit:
        found = con.execute(sa.select(table.c[bu_col]).distinct().limit(50)).scalars()
        units = sorted(str(u) for u in found)
    return Raw(
        frame, f"{label} table {opts.tables.get(frame, frame)}", with_rows(df), units_found=units
    )


def _plan(opts: SourceOptions) -> list[tuple[str, bool]]:
    """(frame, required) pairs to read; customers, FX rates and collector notes are optional
    unless configured."""
    plan = [("invoices", True)]
    if opts.frames["transactions"] == "read":
        plan.append(("transactions", True))
    if opts.frames["customers"] in ("auto", "read"):
        plan.append(("customers", opts.frames["customers"] == "read"))
    return [*plan, (FX_RATES, False), (COLLECTOR_NOTES, False)]


def read_database(source: str, opts: SourceOptions, bu: str) -> tuple[dict[str, Raw], str]:
    """Raw frames of unit ``bu`` from a database; the label has the password masked."""
    url, secrets = database_url(source, opts)
    label = shown(url)
    frames: dict[str, Raw] = {}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            for frame, required in _plan(opts):
                raw = _read_db_frame(con, frame, opts, bu, label, required)
                if raw is not None:
                    frames[frame] = raw
    except (ConfigError, SourceError):
        raise
    except sa.exc.SQLAlchemyError as e:
        raise db_error(
            label,
            e,
            secrets,
            "check `source`, the server, the tables or queries in "
            "source_options and the credentials in the environment variable(s) it names",
        ) from None
    finally:
        engine.dispose()
    return frames, label
