"""What may be shown: secrets masked in URLs and params, machine paths taken out of messages.

A *URL secret* is a password in a URL's user info (``postgresql://ar:PW@host/db``), or the
value of a query key that names a password, secret, token or key (``?password=PW``,
``&sslpassword=PW``, ``?api_key=PW``), or a ``PWD=``/``Password=`` inside an ODBC connection
string passed as a query value (``?odbc_connect=...PWD%3DPW``). Params holding one are refused
(:func:`url_secrets` says where); anything shown passes :func:`mask_urls` anyway.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from arlib.errors import ConfigError

MASK = "***"
#: a URL inside any text: scheme://rest up to a blank or a quote
URL_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`()]*[^\s'\"<>`().,;:!?]")
#: query keys whose value is a secret (names compared without case)
_SECRET_QUERY_KEY = re.compile(
    r"(?i)(.*password|.*passwd|pwd|pass|.*secret|.*token|api_?key|.*access_?key|sas|sig)"
)
#: PWD=... / Password=... inside an ODBC or ADO connection string
_CONN_PASSWORD = re.compile(r"(?i)(\b(?:pwd|password)\s*=\s*)(\{[^}]*\}|[^;]*)")
#: params keys whose value is a secret (``*_env`` keys hold only variable names)
_SECRET_PARAM = re.compile(r"(password|secret|token|credential|api_key)", re.I)
SECRET_SUFFIX = "_env"


def is_secret_query_key(name: str) -> bool:
    """Whether a URL query key names a secret (``password``, ``sslpassword``, ``api_key``, ...)."""
    return bool(_SECRET_QUERY_KEY.fullmatch(name.strip()))


def _split_url(url: str) -> tuple[str, str, str, str]:
    """(scheme://, user info incl. '@' or '', rest before '?', query) of one URL, as written."""
    scheme, _, rest = url.partition("://")
    head, _, query = rest.partition("?")
    netloc, slash, path = head.partition("/")
    user, at, host = netloc.rpartition("@")
    return f"{scheme}://", f"{user}{at}", f"{host}{slash}{path}", query


def url_secrets(url: str) -> list[str]:
    """Where a URL holds a secret: ``"user info"``, ``"query key 'password'"``, ...; empty
    when it holds none.

    >>> url_secrets("postgresql://ar@db/erp?sslmode=require&password=x")
    ["query key 'password'"]
    >>> url_secrets("postgresql://ar:pw@db/erp"), url_secrets("sqlite:///ar.sqlite")
    (['user info'], [])
    """
    _, user, _, query = _split_url(url)
    found = ["user info"] if ":" in user else []
    for part in re.split(r"[&;]", query):
        key, eq, value = part.partition("=")
        if eq and _SECRET_QUERY_KEY.fullmatch(unquote(key).strip()):
            found.append(f"query key {unquote(key).strip()!r}")
        elif eq and _CONN_PASSWORD.search(unquote(value)):
            found.append(f"query key {unquote(key).strip()!r} (its PWD=)")
    return found


def mask_url(url: str) -> str:
    """The URL with every secret replaced by ``***`` (see :func:`url_secrets`).

    >>> mask_url("postgresql://ar:pw@db:5432/erp?sslmode=require&sslpassword=k%26y")
    'postgresql://ar:***@db:5432/erp?sslmode=require&sslpassword=***'
    """
    scheme, user, rest, query = _split_url(url)
    if ":" in user:
        user = user.split(":", 1)[0] + f":{MASK}@"
    parts = re.split(r"([&;])", query)
    for i, part in enumerate(parts):
        key, eq, value = part.partition("=")
        if not eq:
            continue
        if _SECRET_QUERY_KEY.fullmatch(unquote(key).strip()):
            parts[i] = f"{key}={MASK}"
        elif _CONN_PASSWORD.search(unquote(value)):
            masked = _CONN_PASSWORD.sub(lambda m: m.group(1) + MASK, unquote(value))
            parts[i] = f"{key}={quote(masked, safe='=;*{} ')}"
    return f"{scheme}{user}{rest}{'?' if query or url.endswith('?') else ''}{''.join(parts)}"


def check_no_url_secrets(values: Any, source: str | None = None, key: str = "") -> None:
    """Refuse a password anywhere in a URL in the params (user info or query, at any depth):
    params are recorded in the executed notebooks and reports. The error shows it masked.

    >>> check_no_url_secrets({"source": "postgresql://ar@db/erp?password=pw"}, "de.yaml")
    Traceback (most recent call last):
    ...
    arlib.errors.ConfigError: de.yaml: parameter source: holds a password (query key 'password': postgresql://ar@db/erp?password=***); params are recorded in the reports. Fix: remove it from the URL and name an environment variable holding it in source_options.password_env
    """
    if isinstance(values, Mapping):
        for k, v in values.items():
            check_no_url_secrets(v, source, f"{key}.{k}" if key else str(k))
    elif isinstance(values, list | tuple):
        for v in values:
            check_no_url_secrets(v, source, key)
    elif isinstance(values, str) and "://" in values:
        for url in URL_PATTERN.findall(values):
            found = url_secrets(url)
            if found:
                raise ConfigError(
                    key,
                    f"holds a password ({', '.join(found)}: {mask_url(url)}); params are "
                    "recorded in the reports. Fix: remove it from the URL and name an "
                    "environment variable holding it in source_options.password_env",
                    source,
                )


def mask_urls(text: str) -> str:
    """``text`` with the secrets of every URL in it masked.

    >>> mask_urls("cannot connect to mysql://u:pw@h/db: refused")
    'cannot connect to mysql://u:***@h/db: refused'
    >>> mask_urls("(pg://h/d?password=***); and (pg://h/d?pwd=x).")
    '(pg://h/d?password=***); and (pg://h/d?pwd=***).'
    """
    return URL_PATTERN.sub(lambda m: mask_url(m.group(0)), text) if "://" in text else text


def redacted(values: Any) -> Any:
    """Params safe to show: values of keys that look secret become ``***`` (``*_env`` keys hold
    only variable names and are kept) and URL secrets in any text are masked, at any depth.

    >>> redacted({"api_key": "k", "password_env": "PG_PW", "source": "pg://a:b@h/d"})
    {'api_key': '***', 'password_env': 'PG_PW', 'source': 'pg://a:***@h/d'}
    """
    if isinstance(values, Mapping):
        return {
            k: MASK
            if _SECRET_PARAM.search(str(k)) and not str(k).endswith(SECRET_SUFFIX)
            else redacted(v)
            for k, v in values.items()
        }
    if isinstance(values, list | tuple):
        return [redacted(v) for v in values]
    return mask_urls(values) if isinstance(values, str) else values


#: an absolute POSIX or Windows path inside a message (up to a blank, quote or bracket)
_ABS_PATH = re.compile(
    r"(?<![\w.:/\\~-])(?:/|[A-Za-z]:\\)[^\s'\"<>`()\[\],;/\\]+[/\\][^\s'\"<>`()\[\],;]*"
)


def strip_paths(text: str, root: str | Path | None = None) -> str:
    """``text`` without absolute machine paths: a path under ``root`` (default: the working
    folder) becomes relative to it, any other keeps only its last two parts after ``…/``.

    >>> strip_paths("read /srv/ar/params/de.yaml: no", "/srv/ar")
    'read params/de.yaml: no'
    >>> strip_paths('File "/usr/lib/python3.11/site-packages/pandas/core/frame.py", line 3', "/srv")
    'File "…/core/frame.py", line 3'
    >>> strip_paths("value '=cmd| /C calc' and 1/2", "/srv")  # one part: not a machine path
    "value '=cmd| /C calc' and 1/2"
    """
    base = os.path.abspath(root or os.getcwd())

    def short(m: re.Match) -> str:
        path = m.group(0).rstrip(".:")
        tail = m.group(0)[len(path) :]
        if path in ("/", ""):
            return m.group(0)
        if path == base or path.startswith(base.rstrip("/\\") + os.sep):
            rel = os.path.relpath(path, base)
            return (rel if rel != "." else ".") + tail
        parts = [p for p in re.split(r"[/\\]", path) if p]
        return "…/" + "/".join(parts[-2:]) + tail

    return _ABS_PATH.sub(short, text)


def shown_text(text: str, root: str | Path | None = None) -> str:
    """A message as shown in manifests, indexes and on stderr: one line, no absolute machine
    paths (:func:`strip_paths`), URL secrets masked.

    >>> shown_text("/srv/ar/data/x.csv: 3 rows" + chr(10) + "bad", "/srv/ar")
    'data/x.csv: 3 rows bad'
    """
    return mask_urls(strip_paths(" ".join(str(text).split()), root))
