"""Safe YAML reading that remembers where every value came from (for file:line errors).

YAML is composed with the safe loader, then turned into plain Python by hand so that duplicate keys, alias
bombs, non-string keys in the wrong place and enormous documents are refused before anything else sees them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import yaml

from ntm.errors import NtmInputError

MAX_BYTES = 20 * 1024 * 1024
# libyaml's composer is ~10x faster; both are safe (composing builds nodes, it never constructs objects)
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 500_000
MAX_DEPTH = 64


@dataclass
class Source:
    """A parsed document and a map from value paths to 1-based line numbers."""

    data: object
    lines: dict[tuple, int]
    path: str

    def line_of(self, loc: tuple) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def read_text(path: str) -> str:
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise NtmInputError.single(f"cannot read file: {e.strerror or e}", file=path) from None
    if os.path.isdir(path):
        raise NtmInputError.single("is a folder, not a file", file=path)
    if size > MAX_BYTES:
        raise NtmInputError.single(f"file is too large ({size} bytes; the limit is {MAX_BYTES})", file=path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise NtmInputError.single(f"cannot read file: {e.strerror or e}", file=path) from None
    if b"\x00" in raw:
        raise NtmInputError.single("is a binary file, not YAML or JSON text", file=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise NtmInputError.single(
            f"is not UTF-8 text (bad byte at offset {e.start})", file=path, hint="save the file as UTF-8"
        ) from None
    return text


def load(path: str) -> Source:
    """Read a YAML or JSON file into plain Python values with line numbers."""
    text = read_text(path)
    return parse(text, path)


def parse(text: str, path: str = "<input>") -> Source:
    if path.lower().endswith(".json"):
        _check_json(text, path)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise NtmInputError.single(
            f"not valid YAML/JSON: {e.problem or e.context}",
            file=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as e:
        raise NtmInputError.single(f"not valid YAML/JSON: {e}", file=path) from None
    except RecursionError:
        raise NtmInputError.single("is nested too deeply", file=path) from None
    if node is None:
        raise NtmInputError.single("is empty", file=path, expected="a mapping of fields")
    builder = _Builder(path)
    data = builder.build(node, (), 0)
    return Source(data, builder.lines, path)


def _check_json(text: str, path: str) -> None:
    def pairs(items):
        seen = {}
        for k, v in items:
            if k in seen:
                raise NtmInputError.single(f"duplicate key '{k}'", file=path)
            seen[k] = v
        return seen

    def bad_constant(name):
        raise NtmInputError.single(f"'{name}' is not a number JSON allows", file=path, expected="a finite number")

    try:
        json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)
    except json.JSONDecodeError as e:
        raise NtmInputError.single(f"not valid JSON: {e.msg}", file=path, line=e.lineno) from None
    except RecursionError:
        raise NtmInputError.single("is nested too deeply", file=path) from None


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.lines: dict[tuple, int] = {}
        self.count = 0
        self.ctor = yaml.SafeLoader("")  # used only to construct scalars

    def fail(self, node, msg, **kw):
        raise NtmInputError.single(msg, file=self.path, line=node.start_mark.line + 1, **kw)

    def build(self, node, loc, depth):
        self.count += 1
        if self.count > MAX_NODES:
            self.fail(node, f"has too many values (more than {MAX_NODES}; YAML aliases expanding?)")
        if depth > MAX_DEPTH:
            self.fail(node, f"is nested more than {MAX_DEPTH} levels deep")
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            self.fail(node, f"not valid YAML here: the tag '{node.tag}' is not allowed (nothing in a file is ever executed)")
        if isinstance(node, yaml.MappingNode):
            out = {}
            self.ctor.flatten_mapping(node)
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    self.fail(knode, "a key must be a plain value, not a list or mapping")
                key = self.scalar(knode)
                if isinstance(key, float) and not math.isfinite(key):
                    self.fail(knode, "a key must not be NaN or infinite")
                if key in out:
                    self.fail(knode, f"duplicate key '{key}'", hint="each field may appear once")
                self.lines[loc + (key,)] = knode.start_mark.line + 1
                out[key] = self.build(vnode, loc + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, loc + (i,), depth + 1) for i, v in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node):
        try:
            value = self.ctor.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            self.fail(node, f"not valid YAML here: {problem}")
        if isinstance(value, (bytes, bytearray)):
            self.fail(node, "binary values are not allowed")
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(node, f"'{node.value}' is not a finite number", expected="a finite number")
        return value
