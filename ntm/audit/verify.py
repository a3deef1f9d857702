"""`ntm verify`: is a record intact, and does the engine still reach the same decision from it?"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from ntm.audit import keys, record
from ntm.audit.canonical import canonical

# lists of objects in an outcome, and the field that names each element (for a readable diff)
_KEYS = {"tiers": "id", "criteria": "number", "indicators": "code", "communes": "code",
         "missing_thresholds": "indicator", "provisional_thresholds": "indicator"}
_NAMES = {"tiers": "tier", "criteria": "criterion", "indicators": "indicator", "conditions": "condition",
          "communes": "commune"}
MAX_LINES = 60
UNCHECKED = ("the signing key was not checked: anyone can sign with a key of their own; give --trusted-key "
             "with the council's public key")
# what a council reads first: decisions, then the values behind them, then everything else (alphabetically)
_FIRST = ("summary", "tiers", "recognition", "communes", "status", "observed", "op", "threshold", "gap",
          "criteria_met", "criteria_total", "unmet_criteria", "undecided_criteria", "missing_evidence", "tiers_met",
          "highest_tier", "unit", "assessment_year", "assessment_date", "ruleset", "overlay")
_LAST = ("engine",)
_SKIP = {"gap_text"}  # wording of `gap`, which is already compared


def _order(keys) -> list:
    rank = {k: i for i, k in enumerate(_FIRST)}
    return sorted(keys, key=lambda k: (k in _LAST, rank.get(k, len(rank)), k))


@dataclass
class Verdict:
    status: str  # REPRODUCED | DIFFERENT | TAMPERED | UNTRUSTED (signed by another key) | UNSIGNED
    problems: list[str] = field(default_factory=list)  # why the record is not intact
    notes: list[str] = field(default_factory=list)  # rules that changed, who signed
    diffs: list[str] = field(default_factory=list)  # what the engine decides differently now (English)
    changes: list = field(default_factory=list)  # the same, structured (Change / TraceChange)

    def rendered(self, lang: str = "en") -> list[str]:
        """The differences in the report language."""
        if lang == "en" or not self.changes:
            return self.diffs
        tree = [c for c in self.changes if isinstance(c, Change)]
        return render(tree, lang) + [c.render(lang) for c in self.changes if isinstance(c, TraceChange)]

    @property
    def exit_code(self) -> int:
        return {"REPRODUCED": 0, "DIFFERENT": 1}.get(self.status, 2)


def integrity(rec: dict, trusted: bytes | None = None) -> Verdict | None:
    """TAMPERED if any hash, the headline or the signature's match with the content fails; UNTRUSTED or
    UNSIGNED if the content is intact but not signed by the trusted key; None if the record is intact (and
    signed by the trusted key, when one is given). Trust is not integrity: the two are never mixed up."""
    problems = record.tampering(rec)
    if problems:
        return Verdict("TAMPERED", problems=problems)
    kind, sig_problem, _ = keys.trust(rec, trusted)
    if kind == "ok":
        return None
    return Verdict({"invalid": "TAMPERED", "untrusted": "UNTRUSTED", "unsigned": "UNSIGNED"}[kind],
                   problems=[sig_problem])


def verify(rec: dict, ruleset_path: str | None = None, trusted: bytes | None = None) -> Verdict:
    bad = integrity(rec, trusted)
    if bad is not None:
        return bad
    notes = []
    _, who = keys.check(rec, trusted)
    if who:
        notes.append(who)
        if trusted is None:
            notes.append(UNCHECKED)
    with tempfile.TemporaryDirectory(prefix="ntm-verify-") as work:
        try:
            outcome, rule_notes = record.reevaluate(rec, work, ruleset_path)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            return Verdict("TAMPERED", problems=[f"the record's inputs are damaged ({type(e).__name__}: {e})"])
    notes.extend(rule_notes)
    notes.extend(_tool_notes(rec.get("tool") or {}))
    found: list = changes(rec["outcome"], record.outcome_data(outcome))
    if rule_notes:  # the changed file is already named above; what matters is whether the decision changed
        found = [c for c in found if c.path != ("ruleset", "sha256")]
    if rec["trace"] != list(outcome.engine.trace or []):
        found.append(TraceChange(rec["trace"], list(outcome.engine.trace or [])))
    tree = [c for c in found if isinstance(c, Change)]
    diffs = render(tree) + [c.render() for c in found if isinstance(c, TraceChange)]
    return Verdict("DIFFERENT" if found else "REPRODUCED", notes=notes, diffs=diffs, changes=found)


def _tool_notes(tool: dict) -> list[str]:
    from ntm import __version__
    from ntm.engine.evaluate import durable_version

    now = {"ntm": __version__, "durable_rules": durable_version()}
    return [f"recorded with {k.replace('_', '-')} {tool.get(k)}, now {v}" for k, v in now.items() if tool.get(k) != v]


_WORDS = {
    "en": {"tier": "tier", "criterion": "criterion", "indicator": "indicator", "condition": "condition",
           "commune": "commune", "recorded": "recorded {}", "recorded_only": "recorded", "not_recorded":
           "not recorded", "now": "now {}", "absent": "now absent", "present": "now present", "more":
           "… and {} more differences", "trace": "engine trace: recorded {} firings, now {}; first difference "
           "at #{}: recorded {}, now {}"},
    "vi": {"tier": "mức", "criterion": "tiêu chí", "indicator": "chỉ tiêu", "condition": "điều kiện",
           "commune": "xã", "recorded": "hồ sơ ghi {}", "recorded_only": "có trong hồ sơ", "not_recorded":
           "hồ sơ không có", "now": "nay {}", "absent": "nay không còn", "present": "nay có", "more":
           "… và {} khác biệt khác", "trace": "vết chạy bộ máy: hồ sơ ghi {} lần kích hoạt, nay {}; khác đầu tiên "
           "ở #{}: hồ sơ ghi {}, nay {}"},
}


@dataclass(frozen=True)
class Change:
    """One difference: where (a path of labelled steps), what was recorded, what the engine says now."""

    path: tuple  # str field names, or (kind, id) for list elements: ("tier", "standard")
    old: object = None
    new: object = None
    kind: str = "changed"  # changed | absent (recorded, gone now) | added (new now)
    whole: bool = False  # a list element, not a value: no values to show

    def render(self, lang: str = "en") -> str:
        w = _WORDS[lang]
        where = " › ".join(p if isinstance(p, str) else f"{w.get(p[0], p[0])} {p[1]}" for p in self.path)
        if self.kind == "absent":
            what = f"{w['recorded_only']}, {w['absent']}" if self.whole else \
                f"{w['recorded'].format(_show(self.old))}, {w['absent']}"
        elif self.kind == "added":
            what = f"{w['not_recorded']}, {w['present']}" if self.whole else \
                f"{w['not_recorded']}, {w['now'].format(_show(self.new))}"
        else:
            what = f"{w['recorded'].format(_show(self.old))}, {w['now'].format(_show(self.new))}"
        return f"{where or 'value'}: {what}"


def render(changes: list[Change], lang: str = "en") -> list[str]:
    lines = [c.render(lang) for c in changes[:MAX_LINES]]
    if len(changes) > MAX_LINES:
        lines.append(_WORDS[lang]["more"].format(len(changes) - MAX_LINES))
    return lines


def _step(list_name: str, item, i: int):
    key = _KEYS.get(list_name)
    name = _NAMES.get(list_name, list_name)
    if key and isinstance(item, dict) and key in item:
        return (name, item[key])
    if list_name == "conditions" and isinstance(item, dict) and "fact" in item:
        return (name, f"{i} ({item['fact']})")
    return (name, f"[{i}]")


def _show(v) -> str:
    if isinstance(v, dict) and set(v) == {"vi", "en"}:
        return repr(v["vi"])
    if isinstance(v, (dict, list)):
        return canonical(v)[:120]
    return "null" if v is None else repr(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) \
        else str(v)


def changes(old, new) -> list[Change]:
    """Every difference between two outcome trees, decisions first."""
    out: list[Change] = []
    _diff(old, new, (), out)
    return out


def diff(old, new) -> list[str]:
    """Readable differences: 'tier standard › criterion 10 › indicator 10 › condition 0 (income_per_capita) ›
    status: recorded 'fail', now 'pass''."""
    return render(changes(old, new))


def _diff(old, new, path: tuple, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in _order(set(old) | set(new)):
            if k in _SKIP:
                continue
            if k not in new:
                out.append(Change(path + (k,), old=old[k], kind="absent"))
            elif k not in old:
                out.append(Change(path + (k,), new=new[k], kind="added"))
            elif isinstance(old[k], list) and isinstance(new[k], list):
                _diff_list(old[k], new[k], path, k, out)
            else:
                _diff(old[k], new[k], path + (k,), out)
        return
    if old != new or type(old) is not type(new):
        out.append(Change(path, old, new))


def _diff_list(old: list, new: list, path: tuple, name: str, out: list[Change]) -> None:
    key = _KEYS.get(name)
    keyed = key and all(isinstance(x, dict) and key in x for x in old + new)
    if keyed:
        o = {x[key]: x for x in old}
        n = {x[key]: x for x in new}
        for k in [x[key] for x in old]:
            step = path + ((_NAMES.get(name, name), k),)
            if k not in n:
                out.append(Change(step, kind="absent", whole=True))
            else:
                _diff(o[k], n[k], step, out)
        for k in [x[key] for x in new if x[key] not in o]:
            out.append(Change(path + ((_NAMES.get(name, name), k),), kind="added", whole=True))
        return
    if all(not isinstance(x, (dict, list)) for x in old + new):
        if old != new:
            out.append(Change(path + (name,), old, new))
        return
    for i in range(max(len(old), len(new))):
        if i >= len(new):
            out.append(Change(path + (_step(name, old[i], i),), kind="absent", whole=True))
        elif i >= len(old):
            out.append(Change(path + (_step(name, new[i], i),), kind="added", whole=True))
        else:
            _diff(old[i], new[i], path + (_step(name, old[i], i),), out)


@dataclass(frozen=True)
class TraceChange:
    old: list
    new: list

    def render(self, lang: str = "en") -> str:
        old, new = self.old, self.new
        i = next((j for j, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        a = old[i] if i < len(old) else "(end)"
        b = new[i] if i < len(new) else "(end)"
        return _WORDS[lang]["trace"].format(len(old), len(new), i + 1, a, b)


def diff_trace(old: list, new: list) -> list[str]:
    return [] if old == new else [TraceChange(old, new).render()]
