"""Turn pydantic validation errors into Problems that name the file, line and field, with a hint."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ntm.criteria.yamlsrc import Source
from ntm.errors import NtmInputError, Problem, did_you_mean

M = TypeVar("M", bound=BaseModel)

_EXPECT = {
    "string_type": "text (put quotes around codes such as \"2.2\" or \"17.10\")",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "date_type": "a date YYYY-MM-DD",
    "date_from_datetime_parsing": "a date YYYY-MM-DD",
    "dict_type": "a mapping (key: value)",
    "list_type": "a list",
    "model_type": "a mapping (key: value)",
    "literal_error": None,
    "missing": None,
}


def field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_loc(loc: tuple, data) -> tuple:
    """Drop pydantic's union-member tags (e.g. 'int', 'function-after[...]') that are not real keys."""
    out, cur = [], data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and part.isdigit() and int(part) in cur:
            out.append(int(part))
            cur = cur[int(part)]
        elif isinstance(part, str) and ("[" in part or part in {"int", "float", "bool", "str", "none", "constrained-int"}):
            continue
        else:
            out.append(part)
            cur = None
    return tuple(out)


def problems_from(err: ValidationError, src: Source, model: type[BaseModel], prefix: tuple = ()) -> list[Problem]:
    out: list[Problem] = []
    seen = set()
    for e in err.errors(include_url=False):
        loc = prefix + _clean_loc(tuple(e["loc"]), _sub(src.data, prefix))
        etype = e["type"]
        msg = e["msg"].removeprefix("Value error, ")
        hint = None
        expected = _EXPECT.get(etype)
        if etype == "extra_forbidden":
            key = loc[-1] if loc else "?"
            msg = f"unknown field '{key}'"
            allowed = _allowed_fields(model, loc[len(prefix):-1], src.data, prefix)
            hint = did_you_mean(key, allowed) if allowed else None
            if not hint and allowed:
                hint = "allowed here: " + ", ".join(sorted(allowed))
        elif etype == "literal_error":
            got = e.get("input")
            exp = e.get("ctx", {}).get("expected", "")
            msg = f"'{got}' is not allowed"
            expected = f"one of {exp}"
            choices = [c.strip().strip("'") for c in exp.replace(" or ", ",").split(",")]
            hint = did_you_mean(got, choices)
        elif etype == "missing":
            msg = "this field is required"
        elif etype in _EXPECT and "input" in e:
            msg = f"got {_describe(e['input'])}"
        key = (loc, msg)
        if key in seen:
            continue
        seen.add(key)
        out.append(Problem(msg, file=src.path, line=src.line_of(loc), field=field_path(loc) or None,
                           expected=expected, hint=hint))
    return out


def _describe(v) -> str:
    if isinstance(v, bool):
        return f"{str(v).lower()} (a true/false value)"
    if isinstance(v, str):
        return f"the text '{v[:60]}'"
    if isinstance(v, (int, float)):
        return f"the number {v}"
    if v is None:
        return "nothing (null)"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def _sub(data, prefix):
    for p in prefix:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed_fields(model: type[BaseModel], loc: tuple, data, prefix) -> list[str]:
    """Walk the model along loc to find which field names are allowed where an unknown one appeared."""
    cur = model
    for part in loc:
        if isinstance(part, int) or cur is None:
            continue
        field = cur.model_fields.get(part) if hasattr(cur, "model_fields") else None
        if field is None:
            return []
        cur = _model_in(field.annotation)
    if cur is None or not hasattr(cur, "model_fields"):
        return []
    return [f.alias or n for n, f in cur.model_fields.items()]


def _model_in(ann):
    import typing

    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in typing.get_args(ann):
        m = _model_in(a)
        if m is not None:
            return m
    return None


def validate(model: type[M], src: Source, prefix: tuple = ()) -> M:
    data = _sub(src.data, prefix)
    if not isinstance(data, dict):
        raise NtmInputError([Problem(f"got {_describe(data)}", file=src.path, line=src.line_of(prefix),
                                     field=field_path(prefix) or None, expected="a mapping of fields")])
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise NtmInputError(problems_from(e, src, model, prefix)) from None
