"""Safe YAML reading that remembers where every value came from (for file:line errors).

YAML is composed with the safe loader, then turned into plain Python by hand so that duplicate keys, alias
bombs, non-string keys in the wrong place and enormous documents are refused before anything else sees them.
"""

from __future__ import annotations

import json
import math
import os
import re
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


STDIN = "-"


def read_text(path: str) -> str:
    """A file's text (UTF-8, bounded); "-" reads standard input (a dossier piped in)."""
    if path == STDIN:
        return decode(_read_stdin(), path)
    size = regular_file(path).st_size
    if size > MAX_BYTES:
        raise NtmInputError.single(f"file is too large ({size} bytes; the limit is {MAX_BYTES})", file=path)
    return decode(_read_bounded(path), path)


def regular_file(path: str, field: str | None = None, what: str = "file") -> os.stat_result:
    """Checked before opening: a FIFO, device or socket would block the open or the read forever (standard
    input is read only where a command documents "-")."""
    import stat

    try:
        st = os.stat(path)
    except OSError as e:
        raise NtmInputError.single(f"cannot read {what}: {e.strerror or e}", file=path, field=field) from None
    if stat.S_ISDIR(st.st_mode):
        raise NtmInputError.single("is a folder, not a file", file=path, field=field)
    if not stat.S_ISREG(st.st_mode):
        raise NtmInputError.single("is not a regular file (a pipe, device or socket); it is not read", file=path,
                                   field=field, hint="give a file (standard input is '-' where a command takes it)")
    return st


def _read_stdin() -> bytes:
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    raw = stream.read(MAX_BYTES + 1) if stream is not None else sys.stdin.read(MAX_BYTES + 1).encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise NtmInputError.single(f"standard input is too large (more than {MAX_BYTES} bytes)", file="-")
    if not raw.strip():
        raise NtmInputError.single("standard input is empty", file="-",
                                   hint="pipe a dossier in (… | ntm evaluate -), or give a file name")
    return raw


def decode(raw: bytes, path: str) -> str:
    """File bytes -> text, with the checks every reader applies (size, binary, UTF-8; a BOM is dropped)."""
    if len(raw) > MAX_BYTES:
        raise NtmInputError.single(f"file is too large ({len(raw)} bytes; the limit is {MAX_BYTES})", file=path)
    if b"\x00" in raw:
        raise NtmInputError.single("is a binary file, not YAML or JSON text", file=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise NtmInputError.single(
            f"is not UTF-8 text (bad byte at offset {e.start})", file=path, hint="save the file as UTF-8"
        ) from None
    return text


def _read_bounded(path: str) -> bytes:
    """Read at most MAX_BYTES: a pipe or device (/dev/zero, a FIFO nobody writes to) must neither hang nor
    fill memory; the size on disk says nothing about those."""
    nonblock = getattr(os, "O_NONBLOCK", 0)  # POSIX: opening a FIFO must not wait for a writer
    try:
        fd = os.open(path, os.O_RDONLY | nonblock)
        with os.fdopen(fd, "rb") as fh:
            if nonblock:
                os.set_blocking(fd, True)  # then read normally: a pipe with a writer delivers all it has
            raw = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise NtmInputError.single(f"cannot read file: {e.strerror or e}", file=path) from None
    if len(raw) > MAX_BYTES:
        raise NtmInputError.single(f"file is too large (more than {MAX_BYTES} bytes)", file=path)
    return raw


def load(path: str) -> Source:
    """Read a YAML or JSON file into plain Python values with line numbers."""
    text = read_text(path)
    return parse(text, path)


def parse(text: str, path: str = "<input>") -> Source:
    """JSON files mean what JSON says: their values come from the JSON parser; YAML only supplies line numbers
    (YAML reads some valid JSON differently: "\\ud83d\\ude00" escapes, a raw U+0085 or DEL, 1e5)."""
    if path.lower().endswith(".json"):
        data = _check_json(text, path)
        try:
            node = yaml.compose(text, Loader=_COMPOSER)
        except (yaml.YAMLError, RecursionError):
            node = None
        lines: dict[tuple, int] = {(): 1}
        if node is not None:
            builder = _Builder(path)
            builder.build(node, (), 0)  # the same limits (depth, size) as YAML
            lines = builder.lines
        if data is None:
            raise NtmInputError.single("is empty", file=path, expected="a mapping of fields")
        return Source(data, lines, path)
    try:
        _check_count(text, path)
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
    _check_expansion(node, path)
    builder = _Builder(path)
    data = builder.build(node, (), 0)
    return Source(data, builder.lines, path)


def _check_count(text: str, path: str) -> None:
    """Refuse a document of more than MAX_NODES values *before* composing it: composing builds every node in
    memory (a 19 MB `[1,1,1,...]` is ten million nodes, minutes and gigabytes). Streaming the parser's events
    costs constant memory and stops at the limit."""
    if 2 * (text.count(",") + text.count("\n") + text.count(":") + text.count("-")) + 2 < MAX_NODES:
        return  # cannot hold that many values
    count = 0
    for event in yaml.parse(text, Loader=_COMPOSER):
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
            count += 1
            if count > MAX_NODES:
                raise NtmInputError.single(f"has too many values (more than {MAX_NODES})", file=path,
                                           line=event.start_mark.line + 1)


def _check_expansion(root, path: str) -> None:
    """Refuse alias bombs ("billion laughs") and self-referring aliases before expanding anything: the size of
    the expanded document is summed over the node graph, each shared node counted once per use."""
    size: dict[int, int] = {}
    open_ = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        kids = [] if isinstance(node, yaml.ScalarNode) else (
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value))
        if done:
            open_.discard(id(node))
            size[id(node)] = min(MAX_NODES + 1, 1 + sum(size[id(k)] for k in kids))
            continue
        if id(node) in open_:
            raise NtmInputError.single("an alias refers to the value that contains it", file=path,
                                       line=node.start_mark.line + 1)
        open_.add(id(node))
        stack.append((node, True))
        for k in kids:
            if id(k) in open_:
                raise NtmInputError.single("an alias refers to the value that contains it", file=path,
                                           line=k.start_mark.line + 1)
            if id(k) not in size:
                stack.append((k, False))
    if size[id(root)] > MAX_NODES:
        raise NtmInputError.single(f"has too many values (more than {MAX_NODES}; YAML aliases expanding?)",
                                   file=path, line=root.start_mark.line + 1)


def _check_json(text: str, path: str) -> object:
    def pairs(items):
        seen = {}
        for k, v in items:
            if k in seen:
                raise NtmInputError.single(f"duplicate key '{k}'", file=path)
            seen[k] = v
        return seen

    def bad_constant(name):
        raise NtmInputError.single(f"'{name}' is not a number JSON allows", file=path, expected="a finite number")

    def finite(literal):
        value = float(literal)
        if not math.isfinite(value):  # 1e400 overflows to infinity
            raise NtmInputError.single(f"'{literal[:40]}' is not a finite number", file=path,
                                       expected="a finite number")
        return value

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant, parse_float=finite)
    except json.JSONDecodeError as e:
        raise NtmInputError.single(f"not valid JSON: {e.msg}", file=path, line=e.lineno) from None
    except ValueError as e:  # e.g. an integer with more digits than Python converts (int_max_str_digits)
        raise NtmInputError.single(f"not valid JSON: {e}", file=path) from None
    except RecursionError:
        raise NtmInputError.single("is nested too deeply", file=path) from None
    _check_shape(data, path)
    return data


def _check_shape(data, path: str) -> None:
    """The YAML limits (depth, number of values) for JSON data the YAML composer could not read."""
    stack, count = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise NtmInputError.single(f"has too many values (more than {MAX_NODES})", file=path)
        if depth > MAX_DEPTH:
            raise NtmInputError.single(f"is nested more than {MAX_DEPTH} levels deep", file=path)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
            stack.extend((k, depth + 1) for k in value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # "\ud800": valid JSON escape, but no character; nothing could print it
                raise NtmInputError.single(f"the text {value[:40]!r} holds a lone surrogate escape (\\ud800-\\udfff)",
                                           file=path, expected="real characters") from None
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.lines: dict[tuple, int] = {}
        self.count = 0
        self.ctor = yaml.SafeLoader("")  # used only to construct scalars

    def fail(self, node, msg, loc: tuple | None = None, **kw):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc or ()).lstrip(".") or None
        raise NtmInputError.single(msg, file=self.path, line=node.start_mark.line + 1, field=where, **kw)

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
            own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
            try:
                self.ctor.flatten_mapping(node)
            except yaml.YAMLError as e:  # `<<: 1`: a merge of something that is not a mapping
                self.fail(node, f"not valid YAML here: {getattr(e, 'problem', None) or e}")
            merged = len(node.value) - own  # `<<` pairs come first; a key written out overrides them (YAML spec)
            from_merge = set()
            for i, (knode, vnode) in enumerate(node.value):
                if not isinstance(knode, yaml.ScalarNode):
                    self.fail(knode, "a key must be a plain value, not a list or mapping")
                key = self.scalar(knode)
                if isinstance(key, float) and not math.isfinite(key):
                    self.fail(knode, "a key must not be NaN or infinite")
                if key in out and key not in from_merge:
                    self.fail(knode, f"duplicate key '{key}'", hint="each field may appear once")
                if i < merged:
                    from_merge.add(key)
                else:
                    from_merge.discard(key)
                self.lines[loc + (key,)] = knode.start_mark.line + 1
                out[key] = self.build(vnode, loc + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, loc + (i,), depth + 1) for i, v in enumerate(node.value)]
        return self.scalar(node, loc)

    def scalar(self, node, loc: tuple | None = None):
        try:
            value = self.ctor.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            if "could not determine a constructor" in problem:
                problem = f"the tag '{node.tag}' is not allowed (nothing in a file is ever executed)"
            self.fail(node, f"not valid YAML here: {problem}", loc)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            # PyYAML's own constructors fail this way on e.g. 2024-02-30, `!!bool maybe`, a 5000-digit integer
            kind = node.tag.rsplit(":", 1)[-1]
            kind = {"timestamp": "a date", "int": "a whole number", "float": "a number", "bool": "true/false"}.get(
                kind, kind)
            self.fail(node, f"'{node.value[:60]}' cannot be read as {kind}", loc,
                      expected="a valid date YYYY-MM-DD" if kind == "a date" else None)
        if isinstance(value, (bytes, bytearray)):
            self.fail(node, "binary values are not allowed", loc)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(node, f"'{node.value}' is not a finite number", loc, expected="a finite number")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not _DECIMAL.fullmatch(node.value):
            # YAML 1.1 reads 010 as 8, 1:30 as 90, 0x1F as 31: never guess what a number meant
            self.fail(node, f"'{node.value}' is not a plain decimal number", loc, expected="a decimal number such as 10 or 52.3",
                      hint="YAML reads a leading 0 as octal, 0x as hex and 1:30 as base 60; put text in quotes")
        return value


# what a person means by a number: 12, -3, 0.82, .5, 1_000, 1.5e+3 (no octal, hex, binary or base-60 forms)
_DECIMAL = re.compile(r"[-+]?(?:(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?")
