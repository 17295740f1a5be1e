"""Read a study file's text and YAML with limits: UTF-8 only, bounded size, depth and aliases,
no duplicate keys; merge keys (``<<: *defaults``) as YAML defines them.

A study file is small and flat. A file that is not UTF-8, a key given twice (YAML keeps the last
one silently), nesting deep enough to exhaust the parser's recursion, or aliases that expand
exponentially ("billion laughs": a few hundred bytes that stand for gigabytes once every
reference is followed) are refused with the line where they happen, before anything else
reads the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_STUDY_FILE_BYTES", "MAX_DEPTH", "MAX_NODES", "StudyFileError", "read_text",
           "load_yaml"]

MAX_STUDY_FILE_BYTES = 1_000_000  # a real study file is a few kB
MAX_DEPTH = 32  # nesting levels of mappings and lists (a study file needs about 6)
MAX_NODES = 100_000  # values once every alias is followed


class StudyFileError(ValueError):
    """The file cannot be read as a study file; ``args[0]`` is the problem line."""


def read_text(path: str | Path) -> str:
    """The file's text, decoded as UTF-8 (a byte-order mark allowed).

    Raises:
        StudyFileError: Over :data:`MAX_STUDY_FILE_BYTES`, or not UTF-8 (where it fails).
        OSError: The file cannot be read.
    """
    with open(path, "rb") as handle:
        raw = handle.read(MAX_STUDY_FILE_BYTES + 1)
    if len(raw) > MAX_STUDY_FILE_BYTES:
        raise StudyFileError(f"(file): larger than {MAX_STUDY_FILE_BYTES:,} bytes; a study file "
                             f"is a few kB of YAML")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise StudyFileError(f"line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                             f"{exc.start}); save the file as UTF-8") from None


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text`` within the limits above.

    Raises:
        StudyFileError: A duplicate key, too deep a nesting, too many values after aliases.
        yaml.YAMLError: Not valid YAML.

    Example:
        >>> load_yaml("a: 1\\nb: [2, 3]\\n")
        {'a': 1, 'b': [2, 3]}
        >>> load_yaml("a: 1\\na: 2\\n")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lrsearch.config._yaml.StudyFileError: line 2: key 'a' given twice (first on line 1)...
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and counts nesting while composing."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise StudyFileError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} "
                                     f"levels deep; a study file needs about 6")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *defaults`: its keys may be overridden here
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader says so itself
                break
            if first is not None:
                raise StudyFileError(f"line {key_node.start_mark.line + 1}: key {_short(key)} "
                                     f"given twice (first on line {first}); keep one")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: _Loader, node: Any) -> int:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # Python's limit on the digits of an int read from text
        raise StudyFileError(f"line {node.start_mark.line + 1}: a number {len(node.value):,} "
                             f"characters long; no setting needs one") from None


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _check_size(root: Any) -> None:
    """Refuse a document that, every alias followed, holds over :data:`MAX_NODES` values or
    nests over :data:`MAX_DEPTH` levels (aliases can nest what each anchor alone does not).

    Walked without recursion, each node once (its size and depth kept by node); a node met
    again inside itself (a recursive alias) counts once.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in size:
            continue
        children = _children(node)
        if not expanded:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children
                         if id(c) not in size and id(c) not in open_nodes)
            continue
        open_nodes.discard(key)
        size[key] = 1 + sum(size.get(id(c), 1) for c in children)
        depth[key] = 1 + max((depth.get(id(c), 1) for c in children), default=0)
        if size[key] > MAX_NODES:
            raise StudyFileError(f"(file): over {MAX_NODES:,} values once its aliases are "
                                 f"followed; a study file needs a few hundred")
        if depth[key] > MAX_DEPTH:
            raise StudyFileError(f"(file): nested more than {MAX_DEPTH} levels deep once its "
                                 f"aliases are followed; a study file needs about 6")


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
