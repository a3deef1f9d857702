"""Errors a user can act on. Everything the CLI reports for bad input is an NtmInputError (exit code 2)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass
class Problem:
    """One thing wrong with one input: where it is, what is wrong, what was expected, and a hint."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    expected: str | None = None
    hint: str | None = None

    def render(self) -> str:
        text = ""
        if self.file:
            text = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.expected:
            text += f" (expected {self.expected})"
        if self.hint:
            text += f" — {self.hint}"
        return text

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class NtmError(Exception):
    """Base of all errors the tool reports without a traceback."""


@dataclass
class NtmInputError(NtmError):
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)

    @classmethod
    def single(cls, message: str, **kw) -> "NtmInputError":
        return cls([Problem(message, **kw)])


class EngineFailure(NtmError):
    """The rule engine failed on an evaluation (a budget exceeded, a C-level error)."""


def did_you_mean(word: str, choices) -> str | None:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
