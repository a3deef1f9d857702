"""The project file `ntm.toml`: a provincial office names its overlay, ruleset, register and language once.

Found in the working folder or the nearest folder above it (or given with `ntm --project FILE`). Its values
become the defaults of every command that has the option; an option given on the command line always wins.
Paths are relative to the folder that holds ntm.toml.

    # ntm.toml
    overlay = "quy-dinh/tinh-minh-hoa.yaml"
    ruleset = "vn-2021-2025"          # optional: otherwise the one in force on each assessment date
    register = "so-dang-ky.sqlite"
    lang = "vi"
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ntm.errors import NtmInputError, did_you_mean

NAME = "ntm.toml"
KEYS = {"overlay": "a file", "ruleset": "a ruleset id or file", "register": "a file", "lang": "vi or en"}
PATH_KEYS = {"overlay", "register"}

# which command options each key fills (click parameter names); commands are (group, command) paths
TARGETS = {
    ("evaluate",): {"ruleset": "ruleset", "overlay": "overlay", "lang": "lang"},
    ("report",): {"ruleset": "ruleset", "overlay": "overlay", "lang": "lang"},
    ("batch",): {"ruleset": "ruleset", "overlay": "overlay", "lang": "lang"},
    ("whatif",): {"ruleset": "ruleset", "overlay": "overlay", "lang": "lang"},
    ("compare",): {"ruleset": "ruleset[]", "overlay": "overlay[]", "lang": "lang"},
    ("plan",): {"ruleset": "ruleset", "overlay": "overlay", "lang": "lang"},
    ("template",): {"ruleset": "ruleset", "overlay": "overlay", "lang": "lang"},
    ("verify",): {"lang": "lang"},
    ("recheck",): {"lang": "lang"},
    ("register", "add"): {"register": "db"},
    ("register", "list"): {"register": "db"},
    ("register", "show"): {"register": "db"},
    ("register", "verify"): {"register": "db"},
}


@dataclass(frozen=True)
class Project:
    path: str
    values: dict


def find(start: str | None = None) -> str | None:
    """The nearest ntm.toml in `start` (default: the working folder) or a folder above it."""
    here = os.path.abspath(start or os.getcwd())
    while True:
        cand = os.path.join(here, NAME)
        if os.path.isfile(cand):
            return cand
        up = os.path.dirname(here)
        if up == here:
            return None
        here = up


def load(path: str) -> Project:
    """Read and check a project file: known keys, string values, paths made absolute."""
    import tomllib

    from ntm.criteria.yamlsrc import read_text

    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise NtmInputError.single(f"not a valid TOML file: {e}", file=path,
                                   hint='write one key = "value" per line') from None
    if isinstance(data.get("ntm"), dict):  # [ntm] table allowed, so the file can hold other tools' sections
        data = {**{k: v for k, v in data.items() if k != "ntm"}, **data["ntm"]}
    base = os.path.dirname(os.path.abspath(path))
    values = {}
    for key, value in data.items():
        if key not in KEYS:
            raise NtmInputError.single(f"unknown key '{key}'", file=path, field=key,
                                       expected=", ".join(KEYS), hint=did_you_mean(key, list(KEYS)))
        if not isinstance(value, str) or not value.strip():
            raise NtmInputError.single(f"'{key}' must be text", file=path, field=key, expected=KEYS[key])
        if key == "lang" and value not in ("vi", "en"):
            raise NtmInputError.single(f"unknown language '{value}'", file=path, field="lang", expected="vi or en")
        if key in PATH_KEYS or (key == "ruleset" and value.lower().endswith((".yaml", ".yml", ".json"))):
            value = os.path.normpath(os.path.join(base, os.path.expanduser(value)))
        values[key] = value
    return Project(path, values)


def default_map(root, project: Project) -> dict:
    """click's default_map for the command tree under `root`: every target option gets the project's value."""
    out: dict = {}
    for cmd_path, mapping in TARGETS.items():
        cmd = root
        for name in cmd_path:
            cmd = getattr(cmd, "commands", {}).get(name)
            if cmd is None:
                break
        if cmd is None:
            continue
        params = {p.name for p in cmd.params}
        node = out
        for name in cmd_path:
            node = node.setdefault(name, {})
        for key, param in mapping.items():
            many = param.endswith("[]")
            param = param.rstrip("[]")
            if key in project.values and param in params:
                node[param] = [project.values[key]] if many else project.values[key]
    return out


def province_set_without_overlay(outcome) -> list[str]:
    """Indicators whose threshold only the province sets and which have no value (no overlay given)."""
    seen: list[str] = []
    for t in list(outcome.tiers) + ([outcome.recognition] if outcome.recognition else []):
        for m in t.missing_thresholds:
            if m.set_by == "province" and m.indicator not in seen:
                seen.append(m.indicator)
    return seen


def no_overlay_note(items: list[str], lang: str) -> str:
    from ntm.report.words import natural_key, w

    shown = sorted(items, key=natural_key)
    text = ", ".join(shown[:8]) + (", …" if len(shown) > 8 else "")
    return w("no_overlay", lang).format(n=len(items), items=text)


def province_set_in_ruleset(ruleset) -> list[str]:
    """Indicator codes of a ruleset whose threshold is left to the province with no national value (any region,
    any year): without an overlay those indicators cannot be decided."""
    out: list[str] = []

    def walk(th) -> bool:
        if th is None:
            return False
        if th.set_by == "province" and th.value is None and th.by_region is None and th.by_year is None \
                and th.ref is None:
            return True
        return any(walk(x) for x in list((th.by_region or {}).values()) + list((th.by_year or {}).values()))

    for level in getattr(ruleset, "levels", []) or []:
        for tier in level.tiers:
            for crit in tier.criteria:
                for ind in crit.indicators:
                    if ind.code not in out and any(walk(c.threshold) for c in ind.conditions):
                        out.append(ind.code)
    return out
