"""Unit codes as they are compared: a code pasted from a web page or typed on a phone may carry invisible
characters (zero-width space, word joiner, BOM) or full-width digits; those must not make one commune two."""

from __future__ import annotations

import unicodedata


def unit_code(code):
    """NFKC (full-width digits → ASCII), format characters (U+200B–U+200D, U+2060, U+FEFF, …) removed, surrounding
    whitespace stripped. Anything that is not text is returned unchanged (the model reports it)."""
    if not isinstance(code, str):
        return code
    text = unicodedata.normalize("NFKC", code)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def visible(text: str) -> str:
    """Invisible and control characters spelled out (U+200B), so an error shows why two codes differ."""
    return "".join(f"<U+{ord(ch):04X}>" if unicodedata.category(ch) in ("Cf", "Cc") else ch for ch in text)
