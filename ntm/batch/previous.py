"""Read an earlier batch JSON for `--compare`: only the keys the comparison needs are checked, so a file
written by a later version of the tool (with more keys) still compares."""

from __future__ import annotations

import json

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ntm.errors import NtmInputError

Num = StrictInt | StrictFloat


class _Read(BaseModel):
    # extra="ignore" on purpose: this is a reader of our own output format, not a user-authored model
    model_config = ConfigDict(extra="ignore", strict=True)


class PrevUnit(_Read):
    code: StrictStr
    name: StrictStr
    highest_tier: StrictStr | None


class PrevTier(_Read):
    met: StrictInt


class PrevSummary(_Read):
    avg_criteria_met: Num | None
    tiers: dict[StrictStr, PrevTier]


class PrevBatch(_Read):
    schema_: StrictStr
    units: list[PrevUnit]
    summary: PrevSummary

    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True,
                              alias_generator=lambda f: "schema" if f == "schema_" else f)


def load_previous(path: str) -> dict:
    """A previous batch document (validated), as a plain dict; bad input → NtmInputError (exit 2)."""
    from ntm.batch.summary import SCHEMA
    from ntm.criteria.yamlsrc import read_text

    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise NtmInputError.single(f"not valid JSON: {e.msg}", file=path, line=e.lineno, field="--compare",
                                   expected=f"a batch JSON written by `ntm batch -f json` ({SCHEMA})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise NtmInputError.single(f"not a batch result (schema {got!r})", file=path, field="--compare",
                                   expected=f"a batch JSON written by `ntm batch -f json` ({SCHEMA})")
    try:
        doc = PrevBatch.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise NtmInputError.single(f"{err['msg']}", file=path, field=where,
                                   expected=f"a batch JSON written by `ntm batch -f json` ({SCHEMA})") from None
    codes = [u.code for u in doc.units]
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise NtmInputError.single(f"commune {dup} appears twice", file=path, field="units")
    return doc.model_dump(by_alias=True)
