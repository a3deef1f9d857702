"""`ntm recheck`: does a recognised unit still maintain its tier on new evidence (18/2022 Art. 23–24)?

Recognition is annual and revocable: the new dossier is judged by the engine (by default under the rules in
force on its own date) and compared with the recorded decision criterion by criterion.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field

import yaml

from ntm.audit import verify as V
from ntm.engine.outcome import Outcome
from ntm.errors import NtmInputError


@dataclass
class Loss:
    tier: str
    criterion: str
    name: dict  # {"vi": ..., "en": ...}
    status: str  # the criterion's status now
    indicators: list[str]  # 'code: status (fact observed op threshold)' for indicators that passed before


@dataclass
class Recheck:
    unit: str
    recognised: str | None  # the highest tier met in the record
    status_now: str | None  # that tier's status on the new evidence
    tiers_lost: list[str]
    losses: list[Loss]
    notes: list[str] = field(default_factory=list)
    outcome: Outcome | None = None

    @property
    def maintained(self) -> bool:
        return self.recognised is None or self.status_now == "met"


def _overlay_ruleset(text: str) -> str | None:
    try:
        data = yaml.safe_load(text)
        return data["overlay"]["ruleset"]
    except (yaml.YAMLError, KeyError, TypeError):
        return None


def recheck(rec: dict, dossier: str, *, ruleset: str | None = None, overlay: str | None = None,
            as_of: dt.date | None = None, trusted: bytes | None = None) -> Recheck:
    from ntm.engine.evaluate import evaluate, gather

    bad = V.integrity(rec, trusted)
    if bad is not None:
        what = "the record is not intact: " if bad.status == "TAMPERED" else \
            "the record is not signed by the trusted key: "
        raise NtmInputError.single(what + "; ".join(bad.problems), field="RECORD")
    notes = []
    with tempfile.TemporaryDirectory(prefix="ntm-recheck-") as work:
        inputs = gather(dossier, ruleset, overlay, as_of)
        ov = rec["inputs"].get("overlay")
        if overlay is None and ov:
            if _overlay_ruleset(ov["text"]) == inputs.ruleset.ruleset.id:
                path = os.path.join(work, "overlay.yaml")
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    fh.write(ov["text"])
                inputs = gather(dossier, ruleset, path, as_of)
                notes.append(f"using the record's overlay {ov.get('id')} (give --overlay to use another)")
            else:
                notes.append(f"the record's overlay {ov.get('id')} is for other rules than "
                             f"{inputs.ruleset.ruleset.id}; evaluating without an overlay (give --overlay)")
        new = evaluate(inputs, as_of=as_of)
    old = rec["outcome"]
    if (new.unit.level, new.unit.code) != (rec["unit"]["level"], rec["unit"]["code"]):
        raise NtmInputError.single(f"the new dossier is for {new.unit.level} {new.unit.code}, but the record is for "
                                   f"{rec['unit']['level']} {rec['unit']['code']}", file=dossier, field="unit.code")
    if (new.ruleset.id, new.ruleset.version_in_force) != (old["ruleset"]["id"], old["ruleset"]["version_in_force"]):
        notes.append(f"judged under {new.ruleset.id} {new.ruleset.version_in_force} (the record: "
                     f"{old['ruleset']['id']} {old['ruleset']['version_in_force']})")
    try:
        recognised, tiers_lost, losses = _compare(old, new, notes)
    except (KeyError, TypeError, AttributeError) as e:
        raise NtmInputError.single(f"the record's outcome is damaged ({type(e).__name__}: {e})",
                                   field="RECORD") from None
    now = {t.id: t for t in new.tiers}
    return Recheck(unit=f"{new.unit.code} {new.unit.name}", recognised=recognised,
                   status_now=now[recognised].status if recognised in now else None,
                   tiers_lost=tiers_lost, losses=losses, notes=notes, outcome=new)


def _compare(old: dict, new: Outcome, notes: list[str]) -> tuple[str | None, list[str], list[Loss]]:
    recognised = old["summary"]["highest_tier"]
    now = {t.id: t for t in new.tiers}
    tiers_lost = [t["id"] for t in old["tiers"] if t["status"] == "met" and t["id"] in now
                  and now[t["id"]].status != "met"]
    losses = []
    for t in old["tiers"]:
        nt = now.get(t["id"])
        if nt is None:
            if t["status"] == "met":
                notes.append(f"tier {t['id']} is not in the new rules")
            continue
        ncrit = {c.number: c for c in nt.criteria}
        for c in t["criteria"]:
            nc = ncrit.get(c["number"])
            if c["status"] != "met" or nc is None or nc.status == "met":
                continue
            nind = {i.code: i for i in nc.indicators}
            lines = []
            for ind in c["indicators"]:
                ni = nind.get(ind["code"])
                if ind["status"] == "pass" and ni is not None and ni.status != "pass":
                    conds = ", ".join(f"{k.fact} {_num(k.observed)} {k.op} {_num(k.threshold)}"
                                      for k in ni.conditions if k.status != "pass")
                    lines.append(f"{ni.code}: {ni.status}" + (f" ({conds})" if conds else ""))
            losses.append(Loss(t["id"], c["number"], {"vi": nc.name.vi, "en": nc.name.en}, nc.status, lines))
    return recognised, tiers_lost, losses


def _num(v) -> str:
    return "—" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
