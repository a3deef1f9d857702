"""Kept for imports from before the word catalogue: everything lives in ntm.report.words."""

from __future__ import annotations

from ntm.report.words import (  # noqa: F401
    OPS,
    SET_BY,
    WORDS,
    fmt_num,
    observed_text,
    reason_text,
    requirement,
    set_by_word,
    status_word,
    w,
)
