"""A params file read strictly: UTF-8 text, safe YAML, no duplicate keys, bounded aliases.

Every problem is one :class:`~arlib.errors.ConfigError` naming the file, the line and the fix:
text that is not UTF-8 (with or without BOM), a YAML syntax error, a key written twice in one
mapping (both lines named; the last would silently win), and aliases (``&a`` / ``*a``) that
expand to more than :data:`MAX_VALUES` values (an "alias bomb": a few lines that stand for
billions of values) or refer to themselves. The expansion is counted on the parsed node graph,
where each anchored node is counted once, so the check itself stays fast.

Dates are not turned into date objects: ``as_of: 2026-10-31`` is the text ``"2026-10-31"``
and is checked as a date with the other parameters (``2026-13-01`` is a clear error there, not
a traceback here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from arlib.errors import ConfigError

#: values (scalars, lists and mappings) a params file may stand for once its aliases are expanded
MAX_VALUES = 100_000
FILE_KEY = "(file)"


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps (dates stay ISO text, as papermill passes them)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_duplicates(node: yaml.MappingNode, source: str) -> None:
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if key.value in seen:
            raise ConfigError(
                key.value,
                f"is written twice, on lines {seen[key.value]} and {_line(key)} (the last "
                "would silently win). Fix: keep one of them",
                source,
            )
        seen[key.value] = _line(key)


def _expanded(node: yaml.Node, source: str, memo: dict[int, int], open_: set[int]) -> int:
    """Values ``node`` stands for with its aliases expanded; duplicate keys and self-reference
    are refused on the way. Each node is visited once (``memo``)."""
    if id(node) in memo:
        return memo[id(node)]
    if id(node) in open_:
        raise ConfigError(
            FILE_KEY,
            f"line {_line(node)}: an alias refers to the value that contains it. Fix: remove "
            "the alias",
            source,
        )
    open_.add(id(node))
    if isinstance(node, yaml.MappingNode):
        _check_duplicates(node, source)
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        children = []
    total = 1 + sum(_expanded(c, source, memo, open_) for c in children)
    open_.discard(id(node))
    memo[id(node)] = total
    return total


def _check_size(root: yaml.Node, source: str) -> None:
    memo: dict[int, int] = {}
    if isinstance(root, yaml.MappingNode):
        _check_duplicates(root, source)
    pairs = root.value if isinstance(root, yaml.MappingNode) else [(None, root)]
    for key, value in pairs:
        n = _expanded(value, source, memo, set())
        if n > MAX_VALUES:
            name = key.value if isinstance(key, yaml.ScalarNode) else FILE_KEY
            raise ConfigError(
                name,
                f"line {_line(value)}: stands for {n:,} values once its YAML aliases (*name) are "
                f"expanded (at most {MAX_VALUES:,}). Fix: write the values out without aliases",
                source,
            )


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(
            FILE_KEY,
            f"line {line}: is not UTF-8 text (byte 0x{data[e.start]:02X}). Fix: save the file as "
            "UTF-8 (in most editors: Save As, encoding UTF-8)",
            str(path),
        ) from None


def parse(text: str, source: str) -> Any:
    """The value of one YAML document, checked as the module docstring says."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_size(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = e.context
        if context and e.context_mark and e.problem_mark:
            context += f" (line {e.context_mark.line + 1})"
        problem = ", ".join(str(x) for x in (context, e.problem) if x)
        fix = (
            "params hold plain values (text, numbers, true/false, lists, mappings); remove the tag"
            if isinstance(e, yaml.constructor.ConstructorError)
            else "check the indentation, colons and quotes there (quote text holding ': ' or ' #')"
        )
        raise ConfigError(
            FILE_KEY, f"{where}is not valid YAML: {problem}. Fix: {fix}", source
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError(FILE_KEY, f"is not valid YAML: {e}", source) from None
    except RecursionError:
        raise ConfigError(
            FILE_KEY, "nests lists or mappings too deeply. Fix: flatten it", source
        ) from None


def read(path: str | Path) -> Any:
    """The value of a params (or other YAML) file, read and checked as the module says."""
    path = Path(path)
    return parse(_text(path), str(path))
