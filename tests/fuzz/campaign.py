"""Fuzz campaign: many mutated inputs through every reader, in-process, with per-reader figures.

    .venv/bin/python -m tests.fuzz.campaign --inputs 100000 --seed 1 --jobs 2 --save fuzz-failures

Each reader runs in its own child process (its peak memory is its own; a hang in C code cannot stop the
campaign: the parent kills a child that stops reporting and goes on from the next input). Every input is a
mutation of a valid example (examples/, the shipped rulesets): structure-aware edits of the YAML/JSON data,
hand-edit damage to lines, byte flips and truncations, zip- and XML-level damage to workbooks, SQL- and
byte-level damage to registers, damaged keys, and HTTP bodies through FastAPI's TestClient. Each result is
  ok        the reader accepted the input (and, for writers, wrote a complete file)
  user      NtmInputError/NtmError with a message: the clear refusal the CLI prints with exit 2
  internal  any other exception (or an error without a message): a FAILURE
  hang      more than --hang CPU seconds for one input (or 60 s silent, wall): a FAILURE
  partial   a writer that refused left a file, a temp file or a changed register: a FAILURE
One input in --cli-every also goes through the real CLI in a subprocess: exit 0/1/2, never 3, no traceback.
Failing inputs are saved under --save/<reader>/ with the error; `--reader R --only I` re-runs one input.
Inputs are a pure function of (--seed, reader, index), so a failure is reproducible from its number.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples"
OVERLAY = EX / "overlays" / "tinh-minh-hoa.yaml"
COMMUNE = EX / "xa-thieu-hai-tieu-chi.yaml"
DISTRICT = EX / "huyen-vi-du.yaml"
MEMORY_LIMIT = 3 * 1024 ** 3  # bytes of address space per child: a bomb becomes a MemoryError, not a dead machine
WATCHDOG = 60.0  # seconds without a report before the parent kills a child (a hang in C code)


class Hang(BaseException):
    """Raised by the per-input alarm; a BaseException so no `except Exception` in the code under test eats it."""


# ---------------------------------------------------------------------------------------------- values


NFD_XA = unicodedata.normalize("NFD", "Xã Tân Lộc")
NASTY = [
    None, True, False, 0, -0.0, 1, -1, 1e308, -1e308, 5e-324, 1e30, 10 ** 400, -(10 ** 400), 2 ** 63, 2 ** 64 + 1,
    float("nan"), float("inf"), float("-inf"), 0.1 + 0.2, 99.9999999, -1e-9, 61200000, "61,2", "1e3", " 61 ",
    "61.2%", "NaN", ".inf", "∞", "", " ", "\u200b", "\u202eĐNB", "ĐNB\u200d", "yes", "no", "null", "~", "0x10",
    "010", "1:30", "2024-02-30", "2024-10-20", "0000-00-00", "9999-12-31", NFD_XA, "x" * 5000, "\x00", "\x1b[31m",
    "=HYPERLINK(\"http://x\")", "+1", "@A1", "-1+1", "!!python/object/apply:os.system", "*alias", "&anchor", "{{}}",
    "[[[", "'\"", "\t", "\r\n", "\x85", "\u2028", "\ufeff", "😀", "\U0010ffff", "١٢", "１２", "../../etc/passwd",
    "/dev/stdin", "/proc/self/environ", "%s%n", "${HOME}", [], {}, [[]], {"value": None}, {"value": {"value": 1}},
    {"evidence": "x"}, [1, 2, 3], {"": 1}, "standard", "advanced", "model", "commune", "district", "province",
]
KEY_TRICKS = ("nfd", "upper", "zw", "space", "typo", "rtl", "bom", "fullwidth")


def nasty(rng: random.Random):
    r = rng.random()
    if r < 0.55:
        return copy.deepcopy(rng.choice(NASTY))
    if r < 0.65:
        return rng.choice([rng.randint(-10 ** 6, 10 ** 6), rng.uniform(-1e6, 1e6), rng.randint(-2 ** 70, 2 ** 70)])
    if r < 0.75:
        return "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0, 0x2FFF), rng.randint(0xFF00, 0xFFEF)]))
                       for _ in range(rng.randint(0, 30)))
    if r < 0.82:
        return rng.choice(["x", "Đ", "ã\u0303", "\u200b"]) * rng.choice([100, 10_000, 200_000])
    if r < 0.88:  # deep nesting
        depth = rng.choice([10, 64, 200, 1000, 5000])
        v: object = 1
        for _ in range(depth):
            v = [v] if rng.random() < 0.5 else {"a": v}
        return v
    if r < 0.94:
        return [copy.deepcopy(rng.choice(NASTY[:30])) for _ in range(rng.choice([2, 100, 5000]))]
    return {f"k{i}": i for i in range(rng.choice([2, 100, 10_000]))}


def trick_key(key: str, how: str) -> str:
    return {"nfd": unicodedata.normalize("NFD", key), "upper": key.upper(), "zw": key + "\u200b",
            "space": f" {key} ", "typo": key[:-1] or "_", "rtl": "\u202e" + key, "bom": "\ufeff" + key,
            "fullwidth": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in key)}[how]


def _locations(data, loc=(), depth=0):
    yield loc
    if depth > 40:
        return
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _locations(v, loc + (k,), depth + 1)
    elif isinstance(data, list):
        for i, v in enumerate(data[:50]):
            yield from _locations(v, loc + (i,), depth + 1)


def mutate_data(rng: random.Random, data, ops: int | None = None, skip=()):
    """1..4 structure-aware edits at random places: replace (type swap, nasty number, unicode trick, deep
    nesting, long text), delete, rename, wrap, add, swap two siblings, duplicate."""
    data = copy.deepcopy(data)
    for _ in range(ops or rng.choice([1, 1, 1, 2, 2, 3, 4])):
        locs = [loc for loc in _locations(data) if not (loc and loc[0] in skip)]
        loc = rng.choice(locs)
        if not loc:
            if rng.random() < 0.1:
                data = nasty(rng)
            continue
        parent = data
        for part in loc[:-1]:
            parent = parent[part]
        key = loc[-1]
        op = rng.choice(["replace"] * 5 + ["delete", "delete", "rename", "wrap", "add", "swap", "dup"])
        if op == "replace":
            parent[key] = nasty(rng)
        elif op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict) and isinstance(key, str):
            parent[trick_key(key, rng.choice(KEY_TRICKS))] = parent.pop(key)
        elif op == "wrap":
            parent[key] = rng.choice([[parent[key]], {"value": parent[key]}, {"x": parent[key]}])
        elif op == "add" and isinstance(parent, dict):
            parent[rng.choice(["x", "value", "evidence", "note", "", "id", "unit", "facts", "\u200b"])] = nasty(rng)
        elif op == "add" and isinstance(parent, list):
            parent.append(nasty(rng))
        elif op == "swap":
            keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
            other = rng.choice(keys)
            parent[key], parent[other] = parent[other], parent[key]
        elif op == "dup" and isinstance(parent, list):
            parent.extend(copy.deepcopy(parent[key]) for _ in range(rng.choice([1, 5, 300])))
        if not isinstance(data, (dict, list)):
            break
    return data


NUMBERISH = [0, -0.0, -1, 1, 100, 100.0000001, 101, 1e308, -1e308, 1e30, 5e-324, 10 ** 400, 2 ** 63, 61200000, 1e-9,
             99.99999, True, False, None, "61,2", "5.5", " 61 ", "", "có", "không", "yes", "1e3", [], {}, "x" * 300]


def gentle(rng: random.Random, data, within: str):
    """Only values under data[within] change, to number-like values: most such inputs pass validation and reach
    the engine (what a tired clerk types), where structural mutations are refused at the door."""
    data = copy.deepcopy(data)
    if not isinstance(data, dict) or not isinstance(data.get(within), (dict, list)):
        return data
    locs = [loc for loc in _locations(data[within]) if loc]
    for _ in range(rng.choice([1, 1, 2, 3])):
        if not locs:
            break
        loc = rng.choice(locs)
        parent = data[within]
        try:
            for part in loc[:-1]:
                parent = parent[part]
            if not isinstance(parent[loc[-1]], (dict, list)):
                parent[loc[-1]] = copy.deepcopy(rng.choice(NUMBERISH))
        except (KeyError, IndexError, TypeError):
            pass
    return data


def dump(rng: random.Random, data, fmt: str) -> bytes:
    import yaml

    if fmt == "json":
        return json.dumps(data, ensure_ascii=rng.random() < 0.3, default=str, allow_nan=True).encode("utf-8",
                                                                                                    "surrogatepass")
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                     sort_keys=False).encode("utf-8", "surrogatepass")


JUNK = ["&a", "*a", "*nope", "!!python/name:os.system", "<<: *a", "? [x]", "{", "[", "]", "}", "'", '"',
        "%YAML 1.1", "---", "...", ": :", "- -", "|", ">", "#", "@", "`", "\x7f", "\u0085", "\ufeff", "!!binary AAAA",
        "!!timestamp 2024-99-99", "!!int x", "!!float y", "!!bool z", "!!set", "\x00", "\t", "\r", "\u2028",
        "!!python/object/apply:os.system ['touch PWNED']", "<<: [*a, *b]", "&a [*a]", "9" * 400, "-.inf", ".nan"]


def line_edits(rng: random.Random, text: str) -> str:
    """The damage a hand edit or a bad export does: drop/duplicate/indent a line, splice junk, truncate."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.choice(["drop", "dup", "indent", "dedent", "junk", "junk", "truncate", "tab", "crlf", "value"])
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        elif op == "tab":
            lines[i] = "\t" + lines[i]
        elif op == "crlf":
            lines[i] += "\r"
        elif op == "junk":
            pos = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + rng.choice(JUNK) + lines[i][pos:]
        elif op == "value" and ":" in lines[i]:
            k, _, _ = lines[i].partition(":")
            lines[i] = k + ": " + rng.choice(["0", "-1", "1e308", ".nan", "1e30", "101", "010", "'61,2'", "yes",
                                              "null", "[]", "{}", "2024-02-30", "*x", "99999999999999999999999",
                                              "no_such_fact", json.dumps(nasty(rng), default=str)[:3000]])
        elif op == "truncate":
            return "\n".join(lines)[: rng.randint(0, len(text))]
    return "\n".join(lines)


def byte_edits(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["flip", "flip", "truncate", "insert", "delete", "dup", "random", "bom", "nul", "encode"])
        n = len(b)
        if op == "flip" and n:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == "truncate":
            del b[rng.randint(0, n):]
        elif op == "insert":
            pos = rng.randint(0, n)
            b[pos:pos] = rng.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x1b[2J", b"\r", b"\n" * 50,
                                     os.urandom(rng.randint(1, 64)), rng.choice(JUNK).encode("utf-8", "replace")])
        elif op == "delete" and n:
            i = rng.randrange(n)
            del b[i:i + rng.randint(1, 64)]
        elif op == "dup" and n:
            i = rng.randrange(n)
            chunk = b[i:i + rng.randint(1, 256)]
            b[i:i] = chunk * rng.choice([1, 2, 50])
        elif op == "random":
            b = bytearray(os.urandom(rng.randint(0, 512)))
        elif op == "bom":
            b[0:0] = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"])
        elif op == "nul" and n:
            b[rng.randrange(n)] = 0
        elif op == "encode":
            try:
                b = bytearray(bytes(b).decode("utf-8").encode(rng.choice(["utf-16", "utf-16-le", "latin-1", "cp1258",
                                                                          "utf-32"]), "replace"))
            except UnicodeDecodeError:
                pass
    return bytes(b)


def mutate_document(rng: random.Random, text: str, data, fmt: str = "yaml", skip=(),
                    within: str | None = None) -> tuple[bytes, str]:
    """(bytes, suffix) of a mutated YAML/JSON document: number-like values under `within` (25% when given),
    structure (60%), hand edits (20%), bytes (20%)."""
    if within and rng.random() < 0.25:
        try:
            return dump(rng, gentle(rng, data, within), "yaml"), ".yaml"
        except (ValueError, UnicodeError, RecursionError, OverflowError):
            return text.encode("utf-8"), ".yaml"
    r = rng.random()
    if r < 0.6:
        fmt = rng.choice([fmt, fmt, fmt, "json" if fmt == "yaml" else "yaml"])
        try:
            return dump(rng, mutate_data(rng, data, skip=skip), fmt), "." + fmt
        except (ValueError, UnicodeError, RecursionError, OverflowError):
            return text.encode("utf-8"), "." + fmt
    if r < 0.8:
        return line_edits(rng, text).encode("utf-8", "surrogatepass"), "." + fmt
    return byte_edits(rng, text.encode("utf-8")), "." + fmt


# ---------------------------------------------------------------------------------------------- workbooks

XML_EDITS = ("value", "value", "type", "type", "drop-cell", "ref", "dimension", "formula", "shared", "hidden", "junk",
             "truncate-xml", "dup-cell", "inline", "merge")


def mutate_xml(rng: random.Random, name: str, xml: bytes) -> bytes:
    import re

    s = xml.decode("utf-8", "replace")
    op = rng.choice(XML_EDITS)
    cells = list(re.finditer(r"<c [^>]*?(?:/>|>.*?</c>)", s, re.S))
    if op == "value":
        vals = list(re.finditer(r"<v>([^<]*)</v>", s))
        if vals:
            m = rng.choice(vals)
            new = rng.choice(["", "-1", "1e308", "NaN", "inf", "1e30", "99999999999", "-0", "abc", "61,2", "&amp;",
                              "45292", "-45292", "1e-320", "9" * 400, "2024-02-30", "0x10", "\u200b", "99999"])
            s = s[:m.start(1)] + new + s[m.end(1):]
    elif op == "type" and cells:
        m = rng.choice(cells)
        c = m.group(0)
        t = rng.choice(['t="s"', 't="n"', 't="b"', 't="str"', 't="inlineStr"', 't="e"', 't="d"', 't="zz"', ""])
        c2 = re.sub(r' t="[^"]*"', "", c, count=1).replace("<c ", f"<c {t} " if t else "<c ", 1)
        s = s[:m.start()] + c2 + s[m.end():]
    elif op == "drop-cell" and cells:
        m = rng.choice(cells)
        s = s[:m.start()] + s[m.end():]
    elif op == "dup-cell" and cells:
        m = rng.choice(cells)
        s = s[:m.end()] + m.group(0) + s[m.end():]
    elif op == "ref" and cells:
        m = rng.choice(cells)
        c2 = re.sub(r'r="[A-Z]+[0-9]+"', 'r="%s"' % rng.choice(["A0", "ZZZZ1", "XFD1048576", "A1048577", "", "1A",
                                                                  "AAA99999999", "a1", "B2"]), m.group(0), count=1)
        s = s[:m.start()] + c2 + s[m.end():]
    elif op == "dimension":
        s = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="%s"' % rng.choice(
            ["A1", "A1:B2", "A1:XFD1048576", "", "Z", "B2:A1"]), s, count=1)
    elif op == "formula" and cells:
        m = rng.choice(cells)
        c = m.group(0)
        if c.endswith("</c>"):
            c2 = c[:-4].split(">", 1)[0] + "><f>" + rng.choice(["1+1", "HYPERLINK(\"http://x\")", "A1", "'[1]x'!A1",
                                                               "SUM(A1:A9)"]) + "</f></c>"
            s = s[:m.start()] + c2 + s[m.end():]
    elif op == "shared":
        vals = list(re.finditer(r'(<c [^>]*t="s"[^>]*><v>)([^<]*)(</v>)', s))
        if vals:
            m = rng.choice(vals)
            s = s[:m.start(2)] + rng.choice(["-1", "99999", "1.5", "", "x"]) + s[m.end(2):]
        else:
            sis = list(re.finditer(r"<t[^>]*>([^<]*)</t>", s))
            if sis:
                m = rng.choice(sis)
                s = s[:m.start(1)] + rng.choice(["", "=1+1", "x" * 40000, "\u202e", "&#1;", "61,2", "không",
                                                 "Xã\u0300", "\x1b[31m"]).replace("\x1b", "&#27;") + s[m.end(1):]
    elif op == "hidden":
        s = re.sub(r"<sheet ", '<sheet state="%s" ' % rng.choice(["hidden", "veryHidden", "bogus"]), s, count=1)
    elif op == "inline" and cells:
        m = rng.choice(cells)
        r = re.search(r'r="([^"]*)"', m.group(0))
        ref = r.group(1) if r else "A1"
        s = s[:m.start()] + f'<c r="{ref}" t="inlineStr"><is><t>{rng.choice(["x", "", "1e3", "=A1"])}</t></is></c>' \
            + s[m.end():]
    elif op == "merge" and "</sheetData>" in s:
        s = s.replace("</sheetData>", "</sheetData><mergeCells count=\"1\"><mergeCell ref=\"%s\"/></mergeCells>"
                      % rng.choice(["A1:A5", "A2:C9", "B1:B1048576", "A1:XFD1"]), 1)
    elif op == "junk":
        pos = rng.randint(0, len(s))
        s = s[:pos] + rng.choice(["<", ">", "&", "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>", "&a;", "]]>", "\x00",
                                  "<x>", "</row>", "<row r=\"0\">"]) + s[pos:]
    elif op == "truncate-xml":
        s = s[: rng.randint(0, len(s))]
    return s.encode("utf-8")


def mutate_zip(rng: random.Random, data: bytes) -> bytes:
    """Zip-level damage (truncation, flipped header bytes, missing/renamed/duplicated parts, flag bits) or an
    XML-level edit of one part (cell type swaps, values, refs, dimension, formulas, hidden sheets, merges)."""
    r = rng.random()
    if r < 0.15:
        return byte_edits(rng, data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(i, z.read(i)) for i in z.infolist()]
    if r < 0.8:
        xmls = [k for k, (i, _) in enumerate(members) if i.filename.endswith(".xml")]
        sheets = [k for k in xmls if "worksheets/" in members[k][0].filename or "sharedStrings" in members[k][0].filename]
        for _ in range(rng.randint(1, 3)):
            k = rng.choice(sheets if sheets and rng.random() < 0.85 else xmls)
            info, body = members[k]
            members[k] = (info, mutate_xml(rng, info.filename, body))
    else:
        op = rng.choice(["drop", "rename", "dup", "stored", "big", "flag"])
        k = rng.randrange(len(members))
        if op == "drop":
            del members[k]
        elif op == "rename":
            info, body = members[k]
            info2 = zipfile.ZipInfo(rng.choice(["xl/workbook2.xml", info.filename.upper(), "../" + info.filename,
                                                info.filename + "\x00"]), info.date_time)
            members[k] = (info2, body)
        elif op == "dup":
            members.append(members[k])
        elif op == "stored":
            members[k][0].compress_type = zipfile.ZIP_STORED
        elif op == "big":  # compresses ~1000:1; bounded so a campaign never eats the machine
            info = zipfile.ZipInfo("xl/worksheets/sheet1.xml" if rng.random() < 0.5 else "xl/big.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            members.append((info, b"<x>" + b" " * rng.choice([10 ** 6, 3 * 10 ** 7]) + b"</x>"))
    buf = io.BytesIO()
    import warnings

    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")
        for info, body in members:
            try:
                z.writestr(info, body)
            except (ValueError, zipfile.BadZipFile):
                pass
    out = bytearray(buf.getvalue())
    if r >= 0.8 and rng.random() < 0.3 and len(out) > 8:  # general-purpose flag bits of the first local header
        out[6] ^= rng.choice([1, 8, 32, 64])
    return bytes(out)


# ---------------------------------------------------------------------------------------------- CSV

CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "1e308", "1e-320", "9" * 5000, "61,2", "61.2", "1.234", "1,234",
         "1.234,5", "61 2", "61.2%", "-0", "0x10", "١٢", "１２", "có", "không", "x", "yes", "maybe", "true", "=1+1",
         "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1", "\u200b", "\u202e61", "Xã\u0300", "2024-02-30", "31/02/2024",
         "20/10/2024", "2024-10-20", "\x7f", "\x1b[31m", "\x00", '"', "'", ";", ",", "\r", "\n", "a\nb", "x" * 1000,
         "ĐNB", "DNB", "#comment", "61200000", "-5", "1e30"]


def mutate_csv(rng: random.Random, text: str) -> bytes:
    if rng.random() < 0.2:
        return byte_edits(rng, text.encode("utf-8"))
    rows = list(csv.reader(io.StringIO(text)))
    rows = [list(r) for r in rows[: rng.randint(1, len(rows))]]
    for _ in range(rng.randint(1, 5)):
        r = rng.randrange(len(rows))
        op = rng.choice(["cell"] * 5 + ["drop-cell", "add-cell", "dup-row", "header", "swap", "drop-row", "many"])
        if op == "cell" and rows[r]:
            rows[r][rng.randrange(len(rows[r]))] = rng.choice(CELLS) if rng.random() < 0.8 else str(nasty(rng))[:2000]
        elif op == "drop-cell" and rows[r]:
            del rows[r][rng.randrange(len(rows[r]))]
        elif op == "add-cell":
            rows[r].append(rng.choice(CELLS))
        elif op == "dup-row":
            rows.insert(r, list(rows[r]))
        elif op == "drop-row" and len(rows) > 1:
            del rows[r]
        elif op == "swap" and rows[r] and len(rows[r]) > 1:
            i, j = rng.randrange(len(rows[r])), rng.randrange(len(rows[r]))
            rows[r][i], rows[r][j] = rows[r][j], rows[r][i]
        elif op == "header" and rows[0]:
            j = rng.randrange(len(rows[0]))
            rows[0][j] = rng.choice([rows[0][j].upper(), rows[0][j] + "\u200b", " " + rows[0][j] + " ", rows[0][j][:-1],
                                     "", rows[0][(j + 1) % len(rows[0])], unicodedata.normalize("NFD", rows[0][j])])
        elif op == "many":
            rows.extend([list(rows[-1]) for _ in range(rng.choice([10, 500]))])
    out = io.StringIO()
    csv.writer(out, delimiter=rng.choice([",", ",", ";", "\t"]),
               quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])).writerows(rows)
    return out.getvalue().encode(rng.choice(["utf-8", "utf-8", "utf-8-sig"]), "surrogatepass")


# ---------------------------------------------------------------------------------------------- readers


@dataclass
class Input:
    data: bytes
    suffix: str
    extra: dict = field(default_factory=dict)


class Env:
    """Per-child state: seed files, loaded once; a private temp folder; the user-error types."""

    def __init__(self, tmp: Path):
        from ntm.criteria.loader import load_ruleset
        from ntm.errors import NtmError, NtmInputError

        self.tmp = tmp
        self.NtmError, self.NtmInputError = NtmError, NtmInputError
        self.rs = load_ruleset("vn-2021-2025").ruleset
        self.catalogue = self.rs.fact_map()
        self._cache: dict = {}

    def close(self) -> None:
        if "client" in self._cache:
            self._cache.pop("client").__exit__(None, None, None)

    def once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def text(self, path: Path) -> tuple[str, object]:
        import yaml

        def make():
            t = path.read_text(encoding="utf-8")
            return t, yaml.safe_load(t)
        return self.once(("text", str(path)), make)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".ntm-") or p.name.endswith(".tmp"))


class PartialWrite(Exception):
    """A writer refused the input but left something behind (or wrote an incomplete file)."""


def _yaml_seeds(env: Env, paths: list[Path]):
    return [(env.text(p)) for p in paths]


# --- dossier


def dossier_seeds():
    return sorted(EX.glob("xa-*.yaml")) + [DISTRICT, EX / "tinh-vi-du.yaml"] + sorted((EX / "merged").glob("*.yaml"))


def make_dossier(rng, env: Env) -> Input:
    seed = rng.choice(dossier_seeds())
    text, data = env.text(seed)
    b, suffix = mutate_document(rng, text, data, within="facts")
    return Input(b, suffix, {"seed": seed.name, "overlay": rng.random() < 0.5 and "2018" not in seed.name})


def _commune_folder(env: Env) -> Path:
    """The example communes next to each mutated district/province file (they name them relatively)."""
    def make():
        d = env.tmp / "dossiers"
        d.mkdir()
        for p in EX.glob("*.yaml"):
            shutil.copy(p, d / p.name)
        shutil.copytree(EX / "merged", d / "merged")
        return d
    return env.once("communes", make)


def run_dossier(env: Env, path: Path, inp: Input) -> str:
    import ntm.api as api

    api.evaluate(str(path), overlay=str(OVERLAY) if inp.extra.get("overlay") else None,
                 trace=inp.extra.get("overlay", False))
    return "ok"


# --- overlay


def make_overlay(rng, env: Env) -> Input:
    seed = rng.choice([OVERLAY, OVERLAY, EX / "overlays" / "tinh-minh-hoa-2026.yaml"])
    text, data = env.text(seed)
    b, suffix = mutate_document(rng, text, data, within="thresholds")
    return Input(b, suffix, {"commune": "xa-nhom-3-2026.yaml" if "2026" in seed.name else COMMUNE.name})


def run_overlay(env: Env, path: Path, inp: Input) -> str:
    import ntm.api as api

    api.evaluate(str(EX / inp.extra["commune"]), overlay=str(path))
    return "ok"


# --- ruleset file


def make_ruleset(rng, env: Env) -> Input:
    from ntm.criteria.loader import shipped_paths

    rid = rng.choice(["vn-2021-2025", "vn-2021-2025", "vn-2026-2030", "vn-2016-2020"])
    p = Path(shipped_paths()[rid])
    text = env.once(("rstext", rid), lambda: p.read_text(encoding="utf-8"))
    r = rng.random()
    if r < 0.7:
        b = line_edits(rng, text).encode("utf-8", "surrogatepass")
    elif r < 0.85:
        data = env.once(("rsdata", rid), lambda: __import__("yaml").load(text, Loader=__import__("yaml").CSafeLoader))
        try:
            b = dump(rng, mutate_data(rng, data, ops=rng.randint(1, 2)), "yaml")
        except (ValueError, UnicodeError, RecursionError, OverflowError):
            b = text.encode()
    else:
        b = byte_edits(rng, text.encode("utf-8"))
    return Input(b, ".yaml", {"check": rng.random() < 0.3})


def run_ruleset(env: Env, path: Path, inp: Input) -> str:
    if inp.extra.get("check"):
        from ntm.criteria.check import check

        check(str(path))
        return "ok"
    import ntm.api as api
    from ntm.criteria.loader import load_ruleset_file

    load_ruleset_file(str(path))
    api.evaluate(str(COMMUNE), ruleset=str(path))
    return "ok"


# --- authoring workbooks (read, then written as YAML: a writer)


def _exported(env: Env, kind: str) -> bytes:
    def make():
        from ntm.authoring.workbook_export import export

        out = env.tmp / f"seed-{kind}.xlsx"
        if kind == "ruleset":
            export("vn-2021-2025", str(out), None, False)
        else:
            export(None, str(out), str(OVERLAY), False)
        return out.read_bytes()
    return env.once(("book", kind), make)


def make_workbook(rng, env: Env) -> Input:
    kind = "overlay" if rng.random() < 0.8 else "ruleset"
    return Input(mutate_zip(rng, _exported(env, kind)), ".xlsx", {"kind": kind})


def run_workbook(env: Env, path: Path, inp: Input) -> str:
    from ntm.authoring.workbook_import import read_workbook, write_yaml

    outdir = env.tmp / "wb-out"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir()
    out = outdir / "out.yaml"
    try:
        imp = read_workbook(str(path))
        write_yaml(imp, str(path), str(out), False)
    except env.NtmInputError:
        if out.exists() or _leftovers(outdir):
            raise PartialWrite(f"refused but left {sorted(os.listdir(outdir))}") from None
        raise
    if not out.exists() or _leftovers(outdir):
        raise PartialWrite(f"accepted but wrote {sorted(os.listdir(outdir))}")
    from ntm.criteria.yamlsrc import load

    load(str(out))  # the file written is complete YAML
    return "ok"


# --- scenario, costs, targets


def make_small(seed: Path):
    def make(rng, env: Env) -> Input:
        text, data = env.text(seed)
        b, suffix = mutate_document(rng, text, data)
        return Input(b, suffix)
    return make


def _commune_inputs(env: Env):
    from ntm.engine.evaluate import gather

    return env.once("commune-inputs", lambda: gather(str(COMMUNE), None, str(OVERLAY)))


def run_scenario(env: Env, path: Path, inp: Input) -> str:
    """As `ntm whatif COMMUNE --overlay O --scenario FILE`: read, then every scenario through the engine."""
    from ntm.engine.whatif import load_scenarios, whatif

    inputs = _commune_inputs(env)
    whatif(inputs, load_scenarios(str(path), inputs.ruleset.ruleset)[:5])
    return "ok"


def run_costs(env: Env, path: Path, inp: Input) -> str:
    """As `ntm plan COMMUNE -t standard --overlay O --costs FILE`."""
    from ntm.engine.plan import plan_unit
    from ntm.engine.plan_costs import load_costs

    inputs = _commune_inputs(env)
    plan_unit(inputs, "standard", costs=load_costs(str(path), inputs.ruleset.ruleset))
    return "ok"


def run_targets(env: Env, path: Path, inp: Input) -> str:
    """Read the targets; one in twenty also plans the example district against them (as `ntm plan`)."""
    from ntm.engine.plan_targets import load_targets

    inputs = _commune_inputs(env)
    tg = load_targets(str(path), inputs.ruleset.ruleset)
    if len(inp.data) % 20 == 0:
        from ntm.engine.plan_group import plan_group

        plan_group(str(DISTRICT), "standard", costs=None, fixed=frozenset(), ruleset=None, overlay=str(OVERLAY),
                   as_of=None, commune_target=None, budget=None, targets=tg)
    return "ok"


# --- batch tables


def make_csv(rng, env: Env) -> Input:
    text = env.once("csv", lambda: (EX / "batch" / "xa-tinh-minh-hoa.csv").read_text(encoding="utf-8-sig"))
    return Input(mutate_csv(rng, text), ".csv")


def _batch_xlsx(env: Env) -> bytes:
    def make():
        import importlib.util

        spec = importlib.util.spec_from_file_location("ntm_make_example", EX / "batch" / "make_example.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out = env.tmp / "seed-batch.xlsx"
        mod.to_xlsx(mod.table(), str(out))  # the example table, typed cells
        return out.read_bytes()
    return env.once("xlsx", make)


def make_xlsx(rng, env: Env) -> Input:
    return Input(mutate_zip(rng, _batch_xlsx(env)), ".xlsx", {"sheet": rng.random() < 0.1})


def run_table(env: Env, path: Path, inp: Input) -> str:
    from ntm.batch.inputs import read_input

    read_input(str(path), env.catalogue, sheet="Hồ sơ" if inp.extra.get("sheet") else None)
    return "ok"


# --- records


def _records(env: Env) -> list[dict]:
    def make():
        import ntm.api as api
        from ntm.audit import keys, record

        recs = []
        for dossier, overlay in ((COMMUNE, OVERLAY), (EX / "xa-dat-chuan.yaml", None), (DISTRICT, OVERLAY)):
            inputs = api.load_inputs(str(dossier), overlay=str(overlay) if overlay else None)
            from ntm.engine.evaluate import evaluate

            recs.append(record.build(inputs, evaluate(inputs, trace=True)))
        kdir = env.tmp / "keys"
        kdir.mkdir(exist_ok=True)
        priv, pub, _ = keys.generate(str(kdir / "council.key"))
        recs.append(keys.sign(copy.deepcopy(recs[0]), priv, "Hội đồng thẩm định"))
        env._cache["keypair"] = (priv, pub)
        return recs
    return env.once("records", make)


def reseal(rec: dict) -> dict:
    """Re-seal an edited record the way a forger would (no signature): only the content then speaks."""
    from ntm.audit import record

    inp = rec["inputs"]
    inp["dossier_sha256"] = record.digest(inp["dossier"])
    if isinstance(inp.get("overlay"), dict) and isinstance(inp["overlay"].get("text"), str):
        inp["overlay"]["sha256"] = hashlib.sha256(inp["overlay"]["text"].encode()).hexdigest()
    for c in (inp.get("communes") or {}).values():
        if isinstance(c, dict) and "dossier" in c:
            c["sha256"] = record.digest(c["dossier"])
    rec["decision_id"] = record.decision_id(inp)
    rec["outcome_sha256"] = record.digest(rec["outcome"])
    rec["record_sha256"] = record.body_sha256(rec)
    return rec


def mutated_record_text(rng, env: Env) -> bytes:
    rec = rng.choice(_records(env))
    r = rng.random()
    if r < 0.15:
        return byte_edits(rng, json.dumps(rec, ensure_ascii=False).encode("utf-8"))
    if r < 0.25:  # a bit flip inside one field's text (what `verify` must catch)
        text = bytearray(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        i = rng.randrange(len(text))
        text[i] ^= 1 << rng.randrange(7)
        return bytes(text)
    m = mutate_data(rng, rec, ops=rng.randint(1, 3), skip=("trace",))
    if isinstance(m, dict) and rng.random() < 0.6:
        try:
            m = reseal(m)
        except Exception:  # noqa: BLE001 - a record too broken to re-seal is still a fine input
            pass
    try:
        return json.dumps(m, ensure_ascii=False, allow_nan=True, default=str).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b"{}"


def make_record(rng, env: Env) -> Input:
    return Input(mutated_record_text(rng, env), ".json", {"trusted": rng.random() < 0.2})


def run_record(env: Env, path: Path, inp: Input) -> str:
    from ntm.audit import record
    from ntm.audit import verify as V

    rec = record.load(str(path))
    trusted = None
    if inp.extra.get("trusted"):
        from ntm.audit.keys import load_public

        trusted = load_public(env._cache["keypair"][1])
    V.verify(rec, None, trusted)
    return "ok"


# --- register (sqlite): read commands on damaged files, and `add` of a damaged record (a writer)


COLUMNS_TO_HIT = ["seq", "decision_id", "unit_code", "unit_name", "level", "year", "ruleset", "highest_tier",
                  "record_sha256", "entry_hash", "prev_hash", "record"]


def _register_seed(env: Env) -> bytes:
    def make():
        from ntm.audit import record, register

        p = env.tmp / "seed-register.sqlite"
        for rec in _records(env):
            register.add(str(p), record.to_text(rec), "seed")
        return p.read_bytes()
    return env.once("register", make)


def make_register(rng, env: Env) -> Input:
    seed = _register_seed(env)
    r = rng.random()
    if r < 0.3:
        b = bytearray(seed)
        op = rng.choice(["flip", "flip", "truncate", "zero-page", "header"])
        if op == "flip":
            for _ in range(rng.randint(1, 16)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif op == "truncate":
            del b[rng.randint(0, len(b)):]
        elif op == "zero-page":
            page = rng.randrange(max(1, len(b) // 4096))
            b[page * 4096:(page + 1) * 4096] = bytes(min(4096, len(b) - page * 4096))
        else:
            b[rng.randrange(100)] = rng.randrange(256)
        return Input(bytes(b), ".sqlite", {"mode": "read", "head": rng.choice([None, None, "0" * 64, "x"])})
    if r < 0.7:
        return Input(seed, ".sqlite", {"mode": "sql", "sql": _register_sql(rng)})
    return Input(seed, ".sqlite", {"mode": "add", "record": mutated_record_text(rng, env)})


def _register_sql(rng) -> list:
    out = []
    for _ in range(rng.randint(1, 3)):
        col = rng.choice(COLUMNS_TO_HIT)
        op = rng.choice(["set", "set", "set", "swap", "delete", "dup", "anchor", "drop"])
        seq = rng.randint(1, 4)
        if op == "set":
            v = nasty(rng)
            if isinstance(v, (list, dict)) or (isinstance(v, int) and abs(v) > 2 ** 63 - 1):
                v = json.dumps(v, default=str)[:5000]
            elif isinstance(v, float) and v != v:
                v = None
            out.append((f"UPDATE entries SET {col}=? WHERE seq=?", (v, seq)))
        elif op == "swap":
            out.append((f"UPDATE entries SET {col}=(SELECT {col} FROM entries WHERE seq=?) WHERE seq=?",
                        (rng.randint(1, 4), seq)))
        elif op == "delete":
            out.append(("DELETE FROM entries WHERE seq=?", (seq,)))
        elif op == "dup":
            out.append(("INSERT INTO entries SELECT seq+10, " + ", ".join(
                c for c in ("decision_id", "unit_code", "unit_name", "level", "year", "ruleset", "highest_tier",
                            "record_sha256", "prev_hash", "entry_hash", "record", "added_at", "source")
            ) + " FROM entries WHERE seq=?", (seq,)))
        elif op == "anchor":
            out.append(("UPDATE anchor SET count=?, head=?", (nasty(rng) if rng.random() < 0.3 else rng.randint(-1, 9),
                                                             rng.choice(["", "x", None, "0" * 64]))))
        else:
            out.append((rng.choice(["DROP TABLE anchor", "DROP TABLE entries", "ALTER TABLE entries DROP COLUMN record",
                                    "CREATE TABLE x(a)"]), ()))
    return out


def _sql_text(v) -> str:
    """A nested value as column text (the damage an edit with a database tool does); the campaign's own step."""
    try:
        return json.dumps(v, default=str)[:5000]
    except (RecursionError, ValueError):
        return "[[[[" * 100


def run_register(env: Env, path: Path, inp: Input) -> str:
    from ntm.audit import register

    mode = inp.extra["mode"]
    if mode == "sql":
        conn = sqlite3.connect(path)
        for sql, args in inp.extra["sql"]:
            try:
                conn.execute(sql, tuple(a if not isinstance(a, (list, dict, bool)) else _sql_text(a) for a in args))
            except (sqlite3.Error, OverflowError):
                pass
        conn.commit()
        conn.close()
    if mode == "add":
        before = register.verify(str(path))
        rec_path = path.with_suffix(".json")
        rec_path.write_bytes(inp.extra["record"])
        from ntm.criteria.yamlsrc import read_text

        try:
            register.add(str(path), read_text(str(rec_path)), str(rec_path))
        except env.NtmInputError:
            after = register.verify(str(path))
            if (after.count, after.head, after.problems) != (before.count, before.head, before.problems):
                raise PartialWrite(f"a refused add changed the register: {before.count}->{after.count}") from None
            raise
        after = register.verify(str(path))
        if after.count not in (before.count, before.count + 1):
            raise PartialWrite(f"one add changed the entry count {before.count}->{after.count}")
        return "ok"
    register.verify(str(path), expect_head=inp.extra.get("head"))
    register.rows(str(path))
    register.rows(str(path), unit="99001", year=2024)
    for ident in ("1", "99999999999", "%"):
        try:
            register.get(str(path), ident)
        except env.NtmInputError:
            pass
    return "ok"


# --- keys


def _key_seeds(env: Env) -> dict[str, bytes]:
    def make():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed448

        _records(env)
        priv, pub = env._cache["keypair"]
        out = {"priv": Path(priv).read_bytes(), "pub": Path(pub).read_bytes()}
        from ntm.audit import record

        (env.tmp / "signed.json").write_text(record.to_text(_records(env)[3]), encoding="utf-8")
        for name, k in (("ec", ec.generate_private_key(ec.SECP256R1())), ("ed448", ed448.Ed448PrivateKey.generate())):
            out[name + "-priv"] = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption())
            out[name + "-pub"] = k.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        return out
    return env.once("keys", make)


def make_key(rng, env: Env) -> Input:
    import base64

    seeds = _key_seeds(env)
    name = rng.choice(list(seeds))
    b = seeds[name]
    r = rng.random()
    if r < 0.5:
        b = byte_edits(rng, b)
    elif r < 0.8:  # damage inside the base64 body, keeping the armour
        lines = b.decode().splitlines()
        body = base64.b64decode("".join(lines[1:-1]))
        body = byte_edits(rng, body)
        b = "\n".join([lines[0], base64.b64encode(body).decode(), lines[-1]]).encode()
    elif r < 0.9:
        b = b.replace(b"PUBLIC", b"PRIVATE") if b"PUBLIC" in b else b.replace(b"PRIVATE", b"PUBLIC")
    else:
        b = rng.choice([b"", b"\x00" * 70000, b * 2, b"-----BEGIN PUBLIC KEY-----\n" + b"A" * 70000,
                        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"])
    return Input(b, rng.choice([".pub", ".key"]), {"as": rng.choice(["public", "private"])})


def run_key(env: Env, path: Path, inp: Input) -> str:
    from ntm.audit import keys

    rec = _records(env)[0]
    if inp.extra["as"] == "public":
        raw = keys.load_public(str(path))
        keys.check(_records(env)[3], raw)
    else:
        keys.sign(copy.deepcopy(rec), str(path), "x")
    return "ok"


# --- HTTP API bodies


def _client(env: Env):
    def make():
        from fastapi.testclient import TestClient

        from ntm.web.app import create_app
        from ntm.web.config import WebConfig, overlay_entries

        cfg = WebConfig(register=str(env.tmp / "web-register.sqlite"), overlays=overlay_entries([str(OVERLAY)]),
                        workers=0, max_upload=2 * 1024 * 1024)
        client = TestClient(create_app(cfg))
        client.__enter__()
        return client
    return env.once("client", make)


def make_http(rng, env: Env) -> Input:
    endpoint = rng.choice(["evaluate"] * 4 + ["whatif", "plan", "verify", "record", "batch", "batch", "raw"])
    text, data = env.text(rng.choice([COMMUNE, EX / "xa-dat-chuan.yaml", EX / "xa-kieu-mau.yaml"]))
    body: dict = {}
    if rng.random() < 0.5:
        body["dossier_text"] = mutate_document(rng, text, data)[0].decode("utf-8", "replace") if rng.random() < 0.8 \
            else text
    else:
        body["dossier"] = json.loads(json.dumps(mutate_data(rng, data) if rng.random() < 0.8 else data, default=str))
    if rng.random() < 0.3:
        body["overlay"] = rng.choice(["tinh-minh-hoa", "nope", "", None, 5])
    if rng.random() < 0.2:
        ot, od = env.text(OVERLAY)
        body["overlay_text"] = mutate_document(rng, ot, od)[0].decode("utf-8", "replace")
    for k in ("ruleset", "as_of", "tier", "dossier_name"):
        if rng.random() < 0.15:
            body[k] = rng.choice(["vn-2021-2025", "vn-2016-2020", "../x", "2024-02-30", "standard", "x.json",
                                  "2026-01-01", "", None, 5, [], {}, "\u200b"])
    if endpoint == "whatif":
        body["changes"] = rng.choice([{"income_per_capita": nasty(rng)}, {"nope": 1}, nasty(rng), {}])
    elif endpoint == "plan":
        body["target"] = rng.choice(["standard", "advanced", "model", "nope", "", 5])
        if rng.random() < 0.5:
            ct, cd = env.text(EX / "costs" / "chi-phi-minh-hoa.yaml")
            body["costs_text"] = mutate_document(rng, ct, cd)[0].decode("utf-8", "replace")
        if rng.random() < 0.3:
            body["fixed"] = rng.choice([["income_per_capita"], ["nope"], "x", [1]])
    elif endpoint == "verify":
        rt = mutated_record_text(rng, env).decode("utf-8", "replace")
        body = {"record_text": rt} if rng.random() < 0.5 else {"record": _json_or(rt)}
    elif endpoint == "record":
        body["add_to_register"] = rng.choice([True, False, "yes", None])
    if endpoint == "batch":
        if rng.random() < 0.5:
            payload, name = mutate_csv(rng, env.once("csv", lambda: (EX / "batch" / "xa-tinh-minh-hoa.csv")
                                                     .read_text(encoding="utf-8-sig"))), "x.csv"
        else:
            payload, name = mutate_zip(rng, _batch_xlsx(env)), "x.xlsx"
        name = rng.choice([name, name, name, "x.txt", "", "../../x.csv", "x.CSV", "\u200bx.xlsx"])
        form = {k: v for k, v in (("ruleset", rng.choice([None, "vn-2021-2025", "nope"])),
                                  ("overlay", rng.choice([None, "tinh-minh-hoa", "nope"])),
                                  ("as_of", rng.choice([None, "2024-02-30", "x", "2024-06-01"]))) if v is not None}
        return Input(payload, ".bin", {"endpoint": "batch", "name": name, "form": form})
    try:
        raw = json.dumps(body, ensure_ascii=False, allow_nan=True, default=str).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        raw = b"{}"
    if endpoint == "raw":
        raw, endpoint = byte_edits(rng, raw), rng.choice(["evaluate", "whatif", "plan", "verify", "record"])
    return Input(raw, ".json", {"endpoint": endpoint, "ctype": rng.choice(["application/json"] * 9 + ["text/plain"])})


def _json_or(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


class ServerError(Exception):
    """The API answered 5xx, or a 4xx that is not a JSON error body."""


def run_http(env: Env, path: Path, inp: Input) -> str:
    client = _client(env)
    ep = inp.extra["endpoint"]
    if ep == "batch":
        r = client.post("/api/v1/batch", files={"file": (inp.extra["name"], inp.data)}, data=inp.extra["form"])
    else:
        r = client.post(f"/api/v1/{ep}", content=inp.data, headers={"content-type": inp.extra["ctype"]})
    if r.status_code >= 500:
        if r.status_code == 504:
            raise Hang(f"504 {r.text[:500]}")
        raise ServerError(f"{r.status_code} {r.text[:2000]}")
    if r.status_code >= 400:
        body = r.json()
        if not (isinstance(body, dict) and body.get("message") and "error" in body):
            raise ServerError(f"{r.status_code} without a JSON error body: {r.text[:500]}")
        return "user"
    return "ok"


@dataclass(frozen=True)
class Reader:
    name: str
    make: object
    run: object
    share: float  # of --inputs
    cli: object = None  # (path, outdir) -> argv for the CLI sample, or None


def _cli_dossier(p, o, inp):
    return ["evaluate", p, "-f", "json", "-o", o / "out.json"] + (["--overlay", OVERLAY] if inp.extra.get("overlay")
                                                                  else [])


READERS = [
    Reader("dossier", make_dossier, run_dossier, 0.20, _cli_dossier),
    Reader("overlay", make_overlay, run_overlay, 0.09,
           lambda p, o, inp: ["evaluate", EX / inp.extra["commune"], "--overlay", p]),
    Reader("ruleset", make_ruleset, run_ruleset, 0.015, lambda p, o, inp: ["rulesets", "check", p]),
    Reader("workbook", make_workbook, run_workbook, 0.008,
           lambda p, o, inp: ["rulesets", "import", p, "-o", o / "out.yaml"]),
    Reader("scenario", make_small(EX / "scenarios" / "xa-thieu-hai-tieu-chi.yaml"), run_scenario, 0.09,
           lambda p, o, inp: ["whatif", COMMUNE, "--overlay", OVERLAY, "--scenario", p]),
    Reader("costs", make_small(EX / "costs" / "chi-phi-minh-hoa.yaml"), run_costs, 0.09,
           lambda p, o, inp: ["plan", COMMUNE, "-t", "standard", "--overlay", OVERLAY, "--costs", p]),
    Reader("targets", make_small(EX / "targets" / "muc-tieu-minh-hoa.yaml"), run_targets, 0.09,
           lambda p, o, inp: ["plan", DISTRICT, "-t", "standard", "--overlay", OVERLAY, "--targets", p]),
    Reader("csv", make_csv, run_table, 0.12,
           lambda p, o, inp: ["batch", p, "--no-isolation", "-f", "json", "-o", o / "out.json"]),
    Reader("xlsx", make_xlsx, run_table, 0.05,
           lambda p, o, inp: ["batch", p, "--no-isolation", "-f", "json", "-o", o / "out.json"]),
    Reader("records", make_record, run_record, 0.06, lambda p, o, inp: ["verify", p]),
    Reader("register", make_register, run_register, 0.06, None),
    Reader("keys", make_key, run_key, 0.087,
           lambda p, o, inp: (["verify", Path(p).parent / "signed.json", "--trusted-key", p]
                              if inp.extra["as"] == "public" else
                              ["evaluate", COMMUNE, "--record", o / "r.json", "--sign-key", p])),
    Reader("http", make_http, run_http, 0.05, None),
]
BY_NAME = {r.name: r for r in READERS}


# ---------------------------------------------------------------------------------------------- one child


def _limit_memory() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass


def _alarm(signum, frame):
    raise Hang("per-input alarm")


def _materialise(env: Env, reader: Reader, inp: Input, i: int) -> Path:
    folder = _commune_folder(env) if reader.name == "dossier" else env.tmp
    path = folder / f"in-{reader.name}-{i}{inp.suffix}"
    path.write_bytes(inp.data)
    return path


def classify(env: Env, reader: Reader, path: Path, inp: Input, hang: float) -> tuple[str, str]:
    """One input through the reader: (kind, detail)."""
    signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, hang)  # CPU seconds: on a shared machine, wall time measures the others
    try:
        kind, detail = reader.run(env, path, inp), ""
    except Hang as e:
        kind, detail = "hang", f"{e}\n{traceback.format_exc()}"
    except PartialWrite as e:
        kind, detail = "partial", str(e)
    except env.NtmInputError as e:
        text = e.render()
        ok = e.problems and all(p.message and p.message.strip() for p in e.problems) and "Traceback" not in text
        kind, detail = ("user", text[:300]) if ok else ("internal", f"an unclear NtmInputError: {e.problems!r}")
    except env.NtmError as e:
        from ntm.errors import EngineFailure

        if isinstance(e, EngineFailure):  # the CLI's exit 3
            kind, detail = "internal", f"EngineFailure: {e}\n{traceback.format_exc()}"
        else:
            kind, detail = ("user", str(e)[:300]) if str(e).strip() else ("internal", "an NtmError without a message")
    except BaseException as e:  # noqa: BLE001 - everything else is what the campaign hunts
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        kind, detail = "internal", f"{type(e).__name__}: {e}"[:2000] + "\n" + traceback.format_exc()[-6000:]
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return kind, detail


def cli_check(reader: Reader, path: Path, inp: Input, env: Env) -> str | None:
    """The real CLI on this input in a subprocess: None if fine, else what went wrong."""
    outdir = env.tmp / "cli-out"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir()
    argv = [str(a) for a in reader.cli(str(path), outdir, inp)]
    e = {**os.environ, "NTM_PROJECT": "none", "COLUMNS": "200"}
    try:
        p = subprocess.run([sys.executable, "-m", "ntm", *argv], capture_output=True, text=True, errors="replace",
                           timeout=60, cwd=env.tmp, env=e, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        return f"CLI hang (60 s): ntm {' '.join(argv)}"
    bad = []
    if p.returncode not in (0, 1, 2):
        bad.append(f"exit {p.returncode}")
    if "Traceback" in p.stderr or "internal error" in p.stderr:
        bad.append("traceback/internal error in stderr")
    if p.returncode == 2 and [n for n in os.listdir(outdir)]:
        bad.append(f"exit 2 but wrote {sorted(os.listdir(outdir))}")
    if _leftovers(outdir):
        bad.append(f"left temp files {_leftovers(outdir)}")
    return f"ntm {' '.join(argv)}: {', '.join(bad)}\n{p.stderr[-3000:]}" if bad else None


def _save(save: Path, reader: Reader, i: int, inp: Input, kind: str, detail: str, seed: int) -> None:
    folder = save / reader.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{i}-{kind}{inp.suffix}").write_bytes(inp.data)
    import reprlib

    short = reprlib.Repr()  # a value may be nested 5,000 deep
    short.maxlevel, short.maxstring, short.maxother = 4, 200, 200
    meta = short.repr({k: v for k, v in inp.extra.items() if k not in ("record",)})
    (folder / f"{i}-{kind}.txt").write_text(
        f"reader={reader.name} index={i} seed={seed} kind={kind} extra={meta}\n"
        f"reproduce: .venv/bin/python -m tests.fuzz.campaign --reader {reader.name} --only {i} --seed {seed}\n\n"
        f"{detail}\n", encoding="utf-8", errors="replace")
    if "record" in inp.extra:
        (folder / f"{i}-{kind}.record.json").write_bytes(inp.extra["record"])


def make_input(reader: Reader, env: Env, seed: int, i: int) -> Input:
    """Input i of a reader; a mutation the generator itself cannot build (a value too deep to dump) is drawn
    again from a derived seed, so every index yields an input."""
    for attempt in range(5):
        try:
            return reader.make(random.Random(f"{seed}:{reader.name}:{i}" + (f":{attempt}" if attempt else "")), env)
        except (RecursionError, ValueError, UnicodeError, OverflowError):
            continue
    raise RuntimeError(f"no input could be generated for {reader.name} #{i}")


def run_reader(name: str, start: int, stop: int, seed: int, save: Path | None, hang: float, cli_every: int,
               report=None, only: int | None = None, env: Env | None = None) -> dict:
    """Inputs start..stop-1 of one reader, in this process. `report(msg)` gets progress; returns the figures.
    `env`: seed files shared with other readers (the caller closes it); default: a private one."""
    os.environ.setdefault("NTM_PROJECT", "none")
    reader = BY_NAME[name]
    stats = {"inputs": 0, "ok": 0, "user": 0, "internal": 0, "hang": 0, "partial": 0, "max_s": 0.0, "max_wall": 0.0,
             "cli": 0, "cli_bad": 0, "failures": []}
    shared = env is not None
    with tempfile.TemporaryDirectory(prefix=f"ntm-campaign-{name}-") as tmp:
        env = env or Env(Path(tmp))
        indices = [only] if only is not None else range(start, stop)
        for i in indices:
            try:
                inp = make_input(reader, env, seed, i)
            except Exception as e:  # noqa: BLE001 - a generator bug must not look like a reader bug
                raise RuntimeError(f"generator failed for {name} #{i}: {e}") from e
            path = _materialise(env, reader, inp, i)
            if report:
                report(("begin", i, str(path)))
            t0, c0 = time.perf_counter(), time.process_time()
            kind, detail = classify(env, reader, path, inp, hang)
            wall, secs = time.perf_counter() - t0, time.process_time() - c0
            if secs > hang and kind != "hang":
                kind, detail = "hang", f"took {secs:.1f} CPU s ({kind}): {detail}"
            part = {"inputs": 1, kind: 1, "max_s": secs, "max_wall": wall, "failures": [], "cli": 0, "cli_bad": 0}
            if kind in ("internal", "hang", "partial"):
                part["failures"].append((i, kind, detail.splitlines()[0][:200] if detail else ""))
                if save:
                    _save(save, reader, i, inp, kind, detail, seed)
                if only is not None:
                    print(detail)
            if reader.cli and cli_every and (i % cli_every == cli_every - 1 or only is not None):
                part["cli"] = 1
                bad = cli_check(reader, path, inp, env)
                if bad:
                    part["cli_bad"] = 1
                    part["failures"].append((i, "cli", bad.splitlines()[0][:200]))
                    if save:
                        _save(save, reader, i, inp, "cli", bad, seed)
                    if only is not None:
                        print(bad)
            _merge(stats, part)
            for p in (path, path.with_suffix(".json")) if reader.name == "register" else (path,):
                try:
                    p.unlink()
                except OSError:
                    pass
            if report:
                report(("done", i, part))
        if not shared:
            env.close()
    stats["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return stats


def _child(conn, name, start, stop, seed, save, hang, cli_every):  # pragma: no cover - runs in the child
    os.nice(int(os.environ.get("NTM_CAMPAIGN_NICE", "10")))
    _limit_memory()
    os.environ["NTM_CACHE_DIR"] = tempfile.mkdtemp(prefix="ntm-campaign-cache-")
    try:
        run_reader(name, start, stop, seed, Path(save) if save else None, hang, cli_every, report=conn.send)
        conn.send(("end", {"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    except BaseException as e:  # noqa: BLE001
        conn.send(("crash", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    finally:
        shutil.rmtree(os.environ["NTM_CACHE_DIR"], ignore_errors=True)


# ---------------------------------------------------------------------------------------------- parent


def _merge(total: dict, part: dict) -> None:
    for k, v in part.items():
        if k == "failures":
            total.setdefault(k, []).extend(v)
        elif k in ("max_s", "max_wall", "peak_mb"):
            total[k] = max(total.get(k, 0.0), v)
        else:
            total[k] = total.get(k, 0) + v


def supervise(name: str, count: int, seed: int, save: Path | None, hang: float, cli_every: int,
              progress_every: float = 60.0) -> dict:
    """Run one reader's inputs in child processes; a child that stops reporting is killed, its input counted
    as a hang, and a new child goes on from the next input."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    total: dict = {"inputs": 0, "ok": 0, "user": 0, "internal": 0, "hang": 0, "partial": 0, "max_s": 0.0, "max_wall": 0.0,
                   "cli": 0, "cli_bad": 0, "failures": [], "peak_mb": 0.0}
    start, t_start, last = 0, time.monotonic(), time.monotonic()
    while start < count:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, name, start, count, seed, str(save) if save else None, hang,
                                                cli_every))
        proc.start()
        child.close()
        current, current_path = None, None
        while True:
            if not parent.poll(WATCHDOG):
                proc.kill()
                proc.join()
                if current is not None:
                    total["inputs"] += 1
                    total["hang"] += 1
                    total["failures"].append((current, "hang", f"no answer in {WATCHDOG:.0f} s (killed)"))
                    if save and current_path and os.path.exists(current_path):
                        (save / name).mkdir(parents=True, exist_ok=True)
                        shutil.copy(current_path, save / name / f"{current}-hang{Path(current_path).suffix}")
                start = (current + 1) if current is not None else count
                break
            try:
                msg = parent.recv()
            except EOFError:  # the child died (a segfault, the OOM killer)
                proc.join()
                if current is not None:
                    total["inputs"] += 1
                    total["internal"] += 1
                    total["failures"].append((current, "internal", f"child died, exit {proc.exitcode}"))
                start = (current + 1) if current is not None else count
                break
            if msg[0] == "begin":
                current, current_path = msg[1], msg[2]
            elif msg[0] == "done":
                current = None
                _merge(total, msg[2])
                if time.monotonic() - last > progress_every:
                    last = time.monotonic()
                    rate = (msg[1] + 1) / max(1e-9, last - t_start)
                    print(f"  [{time.strftime('%H:%M:%S')}] {name}: {msg[1] + 1}/{count} ({rate:.1f}/s)", flush=True)
            elif msg[0] == "end":
                _merge(total, msg[1])
                proc.join()
                start = count
                break
            elif msg[0] == "crash":  # a bug in the campaign itself: say so and go on from the next input
                proc.join()
                print(f"  campaign error in {name} at #{current}: {msg[1][:2000]}", flush=True)
                total.setdefault("campaign_errors", 0)
                total["campaign_errors"] += 1
                start = (current + 1) if current is not None else count
                break
    total["seconds"] = time.monotonic() - t_start
    return total


def plan_counts(inputs: int, readers: list[str]) -> dict[str, int]:
    shares = {r: BY_NAME[r].share for r in readers}
    scale = inputs / sum(shares.values())
    counts = {r: max(1, int(round(s * scale))) for r, s in shares.items()}
    counts[max(counts, key=counts.get)] += inputs - sum(counts.values())
    return counts


HEAD = f"{'reader':<10} {'inputs':>7} {'ok':>7} {'user err':>8} {'internal':>8} {'hangs':>5} {'partial':>7} " \
       f"{'CPU s':>6} {'wall s':>6} {'peak MB':>7} {'CLI':>4} {'CLI bad':>7}"


def table(results: dict[str, dict]) -> str:
    lines = [HEAD, "-" * len(HEAD)]
    tot = {"inputs": 0, "ok": 0, "user": 0, "internal": 0, "hang": 0, "partial": 0, "cli": 0, "cli_bad": 0}
    for name, s in results.items():
        lines.append(f"{name:<10} {s['inputs']:>7} {s['ok']:>7} {s['user']:>8} {s['internal']:>8} {s['hang']:>5} "
                     f"{s['partial']:>7} {s['max_s']:>6.2f} {s.get('max_wall', 0):>6.2f} {s['peak_mb']:>7.0f} "
                     f"{s['cli']:>4} {s['cli_bad']:>7}")
        for k in tot:
            tot[k] += s[k]
    lines.append("-" * len(HEAD))
    lines.append(f"{'total':<10} {tot['inputs']:>7} {tot['ok']:>7} {tot['user']:>8} {tot['internal']:>8} "
                 f"{tot['hang']:>5} {tot['partial']:>7} {'':>6} {'':>6} {'':>7} {tot['cli']:>4} {tot['cli_bad']:>7}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=100_000, help="inputs in all, shared among the readers")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reader", action="append", choices=sorted(BY_NAME), help="only this reader (repeatable)")
    ap.add_argument("--only", type=int, help="re-run one input (with --reader), in this process, and print it")
    ap.add_argument("--jobs", type=int, default=1, help="readers run at once (one child process each)")
    ap.add_argument("--hang", type=float, default=10.0, help="CPU seconds for one input before it counts as a hang "
                    "(the parent also kills a child silent for 60 s of wall time)")
    ap.add_argument("--cli-every", type=int, default=500, help="one input in N also through the CLI (0: none)")
    ap.add_argument("--save", type=Path, default=Path("fuzz-failures"), help="folder for failing inputs")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args(argv)
    readers = a.reader or [r.name for r in READERS]
    if a.only is not None:
        if len(readers) != 1:
            ap.error("--only needs one --reader")
        s = run_reader(readers[0], 0, 0, a.seed, a.save, a.hang, 1, only=a.only)
        print(table({readers[0]: s}))
        return 0 if not s["failures"] else 1
    counts = plan_counts(a.inputs, readers)
    print(f"campaign: {a.inputs} inputs, seed {a.seed}, {a.jobs} job(s): "
          + ", ".join(f"{r} {n}" for r, n in counts.items()), flush=True)
    results: dict[str, dict] = {}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        futures = {r: pool.submit(supervise, r, counts[r], a.seed, a.save, a.hang, a.cli_every)
                   for r in sorted(readers, key=lambda r: -counts[r] * (50 if r in ("workbook", "ruleset") else 1))}
        for r in readers:
            results[r] = futures[r].result()
            print(f"  done {r}: {results[r]['inputs']} inputs in {results[r]['seconds']:.0f} s, "
                  f"{len(results[r]['failures'])} failure(s)", flush=True)
    print()
    print(table(results))
    failures = [(r, *f) for r, s in results.items() for f in s["failures"]]
    for r, i, kind, first in failures[:200]:
        print(f"FAIL {r} #{i} {kind}: {first}")
    if a.json:
        a.json.write_text(json.dumps({"seed": a.seed, "inputs": a.inputs, "results": results}, indent=1,
                                     default=str), encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
