"""Tier options (--require, --tier, --target, --commune-target) accept a tier id or its name in either language
('đạt-chuẩn', 'nâng-cao', 'kiểu-mẫu', 'dat chuan', 'advanced'): the names come from the ruleset's labels."""

from __future__ import annotations

from ntm.errors import NtmInputError, did_you_mean


def tier_rows(ruleset, level: str | None = None) -> list[tuple]:
    """(id, label, requires, kind) of the tiers of one level (or every level) of a ruleset."""
    rows = []
    for lv in getattr(ruleset, "levels", []) or []:
        if level is not None and lv.level != level:
            continue
        for t in lv.tiers:
            if all(r[0] != t.id for r in rows):
                rows.append((t.id, {"vi": t.label.vi, "en": t.label.en}, t.requires, t.kind))
    return rows


def resolve_tier(text: str | None, ruleset, level: str | None, option: str) -> str | None:
    """The tier id meant by an option value; a clear error listing the choices when none matches."""
    from ntm.report.words import match_tier

    if text is None:
        return None
    rows = tier_rows(ruleset, level)
    if not rows:
        return text
    tid = match_tier(text, rows)
    if tid is not None:
        return tid
    ids = [r[0] for r in rows]
    names = [f"{r[0]} ({r[1]['vi']})" for r in rows]
    raise NtmInputError.single(f"unknown tier '{text}'", field=option, expected="one of " + ", ".join(names),
                               hint=did_you_mean(text, ids) or "a tier id or words of its name, e.g. đạt-chuẩn")
