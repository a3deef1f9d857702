"""Canonical JSON and hashes: the same data gives the same bytes on every machine, locale and hash seed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

from ntm.errors import NtmInputError

# YAML gives real dates; JSON has none. A tagged object keeps "2024-10-20" (a date) apart from "2024-10-20"
# (a quoted string), so an embedded dossier is re-created exactly.
DATE_TAG = "$date"
DATETIME_TAG = "$datetime"


def canonical(obj) -> str:
    """Sorted keys, no spaces, UTF-8 text, finite numbers only."""
    _check(obj, "")
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NtmInputError.single("contains text that is not valid Unicode (a lone surrogate); "
                                   "it cannot go into a record") from None
    return text


def sha256_hex(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def digest(obj) -> str:
    return sha256_hex(canonical(obj))


def _check(obj, where: str) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise NtmInputError.single(f"'{obj}' is not a finite number; it cannot go into a record", field=where or None)
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise NtmInputError.single(f"key {k!r} is not text; it cannot go into a record", field=where or None)
            _check(v, f"{where}.{k}" if where else k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check(v, f"{where}[{i}]")
    elif not (obj is None or isinstance(obj, (str, bool, int, float))):
        raise NtmInputError.single(f"a {type(obj).__name__} value cannot go into a record", field=where or None)


def embeddable(data, where: str = ""):
    """Parsed YAML (with dates) -> JSON-able data, dates tagged."""
    if isinstance(data, dt.datetime):
        return {DATETIME_TAG: data.isoformat()}
    if isinstance(data, dt.date):
        return {DATE_TAG: data.isoformat()}
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if not isinstance(k, str):
                raise NtmInputError.single(f"key {k!r} is not text; the dossier cannot be embedded in a record",
                                           field=where or None, expected="text keys")
            out[k] = embeddable(v, f"{where}.{k}" if where else k)
        return out
    if isinstance(data, (list, tuple)):
        return [embeddable(v, f"{where}[{i}]") for i, v in enumerate(data)]
    if data is None or isinstance(data, (str, bool, int, float)):
        _check(data, where)
        return data
    raise NtmInputError.single(f"a {type(data).__name__} value cannot be embedded in a record", field=where or None)


def restored(data):
    """The inverse of embeddable(): tagged dates become dates again."""
    if isinstance(data, dict):
        if len(data) == 1 and DATE_TAG in data and isinstance(data[DATE_TAG], str):
            return dt.date.fromisoformat(data[DATE_TAG])
        if len(data) == 1 and DATETIME_TAG in data and isinstance(data[DATETIME_TAG], str):
            return dt.datetime.fromisoformat(data[DATETIME_TAG])
        return {k: restored(v) for k, v in data.items()}
    if isinstance(data, list):
        return [restored(v) for v in data]
    return data


def strict_loads(text: str, path: str | None = None):
    """JSON with duplicate keys and NaN/Infinity refused: a record must mean exactly one thing."""

    def pairs(items):
        seen = {}
        for k, v in items:
            if k in seen:
                raise ValueError(f"duplicate key '{k}'")
            seen[k] = v
        return seen

    def bad_constant(name):
        raise ValueError(f"'{name}' is not a number")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)
    except json.JSONDecodeError as e:
        raise NtmInputError.single(f"not a decision record: not valid JSON ({e.msg})", file=path, line=e.lineno,
                                   expected="a record written by `ntm evaluate --record`") from None
    except (ValueError, RecursionError) as e:
        raise NtmInputError.single(f"not a valid decision record: {e}", file=path) from None
