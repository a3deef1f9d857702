"""Decision records: one evaluation, with everything needed to re-run it, as canonical JSON.

`decision_id` hashes only the canonical inputs (dossier, commune dossiers, ruleset and overlay hashes, as-of
date, tier), so two councils judging the same thing get the same id whatever tool build they ran.
`record_sha256` hashes the whole body (everything but itself and the signature), so any edit is detected.
There is no wall-clock timestamp: the same inputs give a byte-identical record.
"""

from __future__ import annotations

import datetime as dt
import os

import yaml

from ntm import __version__
from ntm.audit.canonical import (
    canonical,
    digest,
    embeddable,
    restored,
    sha256_hex,
    strict_loads,
)
from ntm.engine.outcome import Outcome
from ntm.errors import NtmInputError

SCHEMA = "ntm-record/1"
UNSIGNED = ("record_sha256", "signature")
REQUIRED = {"schema": str, "decision_id": str, "unit": dict, "inputs": dict, "tool": dict, "outcome": dict,
            "outcome_sha256": str, "trace": list, "record_sha256": str}
REQUIRED_INPUTS = {"dossier": dict, "dossier_sha256": str, "communes": dict, "ruleset": dict}


def decision_id(inputs: dict) -> str:
    """The identity of a decision: what was judged, by which rules; never who ran it or with which build."""
    ident = {
        "dossier_sha256": inputs["dossier_sha256"],
        "communes": {k: v.get("sha256") for k, v in sorted(inputs["communes"].items())},
        "ruleset": {k: inputs["ruleset"].get(k) for k in ("id", "version", "sha256")},
        "overlay": inputs["overlay"]["sha256"] if inputs.get("overlay") else None,
        "as_of": inputs.get("as_of"),
        "tier": inputs.get("tier"),
    }
    if inputs.get("audit_past"):  # only when asked: every earlier decision keeps its id
        ident["audit_past"] = True
    return digest(ident)


def body_sha256(rec: dict) -> str:
    return digest({k: v for k, v in rec.items() if k not in UNSIGNED})


def outcome_data(outcome: Outcome) -> dict:
    """The outcome as `ntm evaluate -f json` prints it (the trace is kept apart, in the record's `trace`)."""
    data = outcome.model_dump(mode="json", by_alias=True)
    data["engine"]["trace"] = None
    return data


def _embedded_file(path: str) -> dict:
    from ntm.criteria.yamlsrc import load

    data = embeddable(load(path).data)
    return {"dossier": data, "sha256": digest(data)}


def build(inputs, outcome: Outcome, *, as_of: dt.date | None = None, tier: str | None = None) -> dict:
    """A record from the inputs gathered and the outcome the engine gave (evaluated with trace=True)."""
    from ntm.criteria.loader import shipped_paths
    from ntm.criteria.yamlsrc import read_text
    from ntm.engine.evaluate import durable_version

    if outcome.engine.trace is None:
        raise ValueError("a record needs the engine's trace: evaluate with trace=True")
    ld = inputs.dossier
    dossier = embeddable(ld.source.data)
    communes = {}
    base = os.path.dirname(os.path.abspath(ld.path))
    _embed_members(ld, base, communes, top=True)
    lr = inputs.ruleset
    shipped = shipped_paths().get(lr.ruleset.id)
    lo = inputs.overlay
    overlay = None
    if lo is not None:
        text = read_text(lo.path)
        overlay = {"id": lo.overlay.overlay.id, "sha256": sha256_hex(text), "text": text}
    rec_inputs = {
        "dossier": dossier,
        "dossier_sha256": digest(dossier),
        "communes": communes,
        "ruleset": {"id": lr.ruleset.id, "version": lr.ruleset.version,
                    "version_in_force": outcome.ruleset.version_in_force, "sha256": lr.sha256,
                    "shipped": bool(shipped) and os.path.realpath(shipped) == os.path.realpath(lr.path)},
        "overlay": overlay,
        "as_of": as_of.isoformat() if as_of else None,
        "tier": tier,
    }
    if getattr(inputs, "audit_past", False):
        rec_inputs["audit_past"] = True
    out = outcome_data(outcome)
    u = outcome.unit
    rec = {
        "schema": SCHEMA,
        "decision_id": decision_id(rec_inputs),
        "unit": {"level": u.level, "code": u.code, "name": u.name, "province": u.province},
        "assessment_year": outcome.assessment_year,
        "assessment_date": outcome.assessment_date.isoformat() if outcome.assessment_date else None,
        "inputs": rec_inputs,
        "tool": {"ntm": __version__, "durable_rules": durable_version()},
        "outcome": out,
        "outcome_sha256": digest(out),
        "trace": list(outcome.engine.trace),
    }
    rec["record_sha256"] = body_sha256(rec)
    return rec


def _embed_members(ld, base: str, into: dict, top: bool = False, depth: int = 0) -> None:
    """Every dossier a decision read: a district's communes, a province's districts, towns and their communes.

    Keys are paths relative to the top dossier's folder (as written, at the top level, so earlier records keep
    their ids), so `unpack` re-creates the same tree."""
    from ntm.criteria.dossier import load_dossier

    here = os.path.dirname(os.path.abspath(ld.path))
    refs = [r.dossier for r in ld.dossier.communes if r.dossier is not None]
    refs += [r.dossier for r in ld.dossier.districts if r.dossier is not None]
    refs += [r.dossier for r in ld.dossier.merged_from if r.dossier is not None]  # a merged commune's parts
    for ref in refs:
        path = os.path.join(here, ref)
        key = ref if top else os.path.relpath(os.path.normpath(path), base).replace(os.sep, "/")
        if key in into:
            continue
        into[key] = _embedded_file(path)
        if depth < 2:
            sub = load_dossier(path)
            if sub.dossier.communes or sub.dossier.districts:
                _embed_members(sub, base, into, depth=depth + 1)


def to_text(rec: dict) -> str:
    return canonical(rec) + "\n"


def parse(text: str, path: str | None = None) -> dict:
    """A record's text -> dict, or exit-2 errors for anything that is not a well-formed record."""
    rec = strict_loads(text, path)
    if not isinstance(rec, dict):
        raise NtmInputError.single("not a decision record: expected a JSON object", file=path)
    if rec.get("schema") != SCHEMA:
        raise NtmInputError.single(f"not a decision record: schema is {rec.get('schema')!r}", file=path,
                                   field="schema", expected=repr(SCHEMA))
    for table, req, prefix in ((rec, REQUIRED, ""), (rec.get("inputs"), REQUIRED_INPUTS, "inputs.")):
        if not isinstance(table, dict):
            raise NtmInputError.single("the record is incomplete", file=path, field=prefix.rstrip("."),
                                       expected="an object")
        for key, typ in req.items():
            if not isinstance(table.get(key), typ):
                raise NtmInputError.single("the record is incomplete or damaged", file=path, field=prefix + key,
                                           expected=f"a JSON {'object' if typ is dict else typ.__name__}")
    for where, value, typ in _shape(rec):
        if not isinstance(value, typ) or isinstance(value, bool) and typ is int:
            raise NtmInputError.single("the record is incomplete or damaged", file=path, field=where,
                                       expected=f"a JSON {'object' if typ is dict else typ.__name__}")
    _check_outcome(rec["outcome"], path)
    return rec


def _check_outcome(out: dict, path: str | None) -> None:
    """The recorded outcome must have the outcome's shape, so the diff can trust every field it reads."""
    from pydantic import ValidationError

    try:
        Outcome.model_validate(out)
    except ValidationError as e:
        err = e.errors()[0]
        where = "outcome." + ".".join(str(x) for x in err["loc"])
        raise NtmInputError.single(f"the record's outcome is damaged: {err['msg']}", file=path, field=where,
                                   expected="the shape `ntm schema outcome` documents") from None


def _shape(rec: dict):
    """The nested fields every reader of a record relies on."""
    unit, rs, out = rec["unit"], rec["inputs"]["ruleset"], rec["outcome"]
    yield from ((f"unit.{k}", unit.get(k), str) for k in ("level", "code", "name"))
    yield "assessment_year", rec.get("assessment_year"), int
    yield from ((f"inputs.ruleset.{k}", rs.get(k), str) for k in ("id", "version", "sha256"))
    yield "outcome.summary", out.get("summary"), dict
    yield "outcome.tiers", out.get("tiers"), list
    yield "outcome.ruleset", out.get("ruleset"), dict
    for i, t in enumerate(out.get("tiers") or []):
        yield f"outcome.tiers[{i}]", t, dict


def load(path: str) -> dict:
    from ntm.criteria.yamlsrc import read_text

    return parse(read_text(path), path)


def tampering(rec: dict) -> list[str]:
    """What no longer matches its hash, most specific first; empty if the record is intact."""
    from ntm.criteria.loader import sha256_text

    found = []
    inp = rec["inputs"]
    try:
        if digest(inp["dossier"]) != inp["dossier_sha256"]:
            found.append("inputs.dossier was edited (it no longer matches inputs.dossier_sha256)")
        for ref, c in sorted(inp["communes"].items()):
            if not isinstance(c, dict) or digest(c.get("dossier")) != c.get("sha256"):
                found.append(f"inputs.communes[{ref}] was edited (it no longer matches its sha256)")
        ov = inp.get("overlay")
        if ov is not None and (not isinstance(ov, dict) or not isinstance(ov.get("text"), str)
                               or sha256_text(ov["text"]) != ov.get("sha256")):
            found.append("inputs.overlay was edited (its text no longer matches its sha256)")
        if decision_id(inp) != rec["decision_id"]:
            found.append("decision_id does not match the inputs (inputs or decision_id were edited)")
        if digest(rec["outcome"]) != rec["outcome_sha256"]:
            found.append("outcome was edited (it no longer matches outcome_sha256)")
        if body_sha256(rec) != rec["record_sha256"]:
            if not found:
                found.append("the record's content was edited (record_sha256 does not match)")
            else:
                found.append("record_sha256 does not match the content")
        found.extend(headline_problems(rec))
    except (AttributeError, KeyError, TypeError, ValueError, NtmInputError) as e:
        found.append(f"the record is damaged ({type(e).__name__}: {e})")
    return found


def headline_problems(rec: dict) -> list[str]:
    """The headline (unit, year, date) is what readers and the register index by, but only the embedded dossier
    is what was judged: both copies of the headline (the record's and its outcome's) must say what it says."""
    d = rec["inputs"]["dossier"]
    unit, ass = (d.get("unit"), d.get("assessment")) if isinstance(d, dict) else (None, None)
    if not isinstance(unit, dict) or not isinstance(ass, dict):
        return ["the embedded dossier has no unit or assessment section"]
    when = restored(ass.get("date"))
    date = str(when)[:10] if isinstance(when, dt.date) else None
    year = ass.get("year") if ass.get("year") is not None else (when.year if isinstance(when, dt.date) else None)
    truth = {"unit.level": unit.get("level"), "unit.code": unit.get("code"), "unit.name": unit.get("name"),
             "unit.province": unit.get("province"), "assessment_year": year, "assessment_date": date}
    out = rec.get("outcome") if isinstance(rec.get("outcome"), dict) else {}
    found = []
    for where, table in (("", rec), ("outcome.", out)):
        u = table.get("unit") if isinstance(table.get("unit"), dict) else {}
        claimed = {"unit.level": u.get("level"), "unit.code": u.get("code"), "unit.name": u.get("name"),
                   "unit.province": u.get("province"), "assessment_year": table.get("assessment_year"),
                   "assessment_date": table.get("assessment_date")}
        for k, v in truth.items():
            if claimed[k] != v:
                found.append(f"{where}{k} says {claimed[k]!r}, but the embedded dossier says {v!r} "
                             "(the record's headline does not match what was judged)")
    return found


def unpack(rec: dict, workdir: str) -> tuple[str, str | None]:
    """Re-create the embedded dossier (and commune dossiers, overlay) as files under workdir.

    Returns (dossier path, overlay path or None). Commune references may climb out of the dossier's folder
    ('../x.yaml'), so the dossier is put deep enough that every reference stays inside workdir.
    """
    inp = rec["inputs"]
    refs = sorted(inp["communes"])
    depth = 0
    for ref in refs:
        if not ref.strip() or ref.replace("\\", "/").rstrip("/").split("/")[-1] in ("", ".", ".."):
            raise NtmInputError.single(f"commune dossier path {ref!r} names no file; cannot re-create it",
                                       field=f"inputs.communes[{ref}]", expected="a file path such as xa.yaml")
        if os.path.isabs(ref):
            raise NtmInputError.single(f"commune dossier path '{ref}' is absolute; cannot re-create it",
                                       field=f"inputs.communes[{ref}]")
        depth = max(depth, sum(1 for p in ref.replace("\\", "/").split("/") if p == ".."))
    root = os.path.realpath(workdir)
    base = os.path.join(root, *(["d"] * (depth + 1)))
    os.makedirs(base, exist_ok=True)
    main = os.path.join(base, ".ntm-record-dossier.yaml")
    _write_yaml(main, inp["dossier"])
    for ref in refs:
        target = os.path.normpath(os.path.join(base, ref))
        if not target.startswith(root + os.sep) or target == main or os.path.isdir(target):
            raise NtmInputError.single(f"commune dossier path '{ref}' cannot be re-created safely",
                                       field=f"inputs.communes[{ref}]")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _write_yaml(target, inp["communes"][ref]["dossier"])
    overlay = None
    if inp.get("overlay"):
        overlay = os.path.join(root, "overlay.yaml")
        with open(overlay, "w", encoding="utf-8", newline="") as fh:
            fh.write(inp["overlay"]["text"])
    return main, overlay


def _write_yaml(path: str, data) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(restored(data), fh, allow_unicode=True, sort_keys=False, width=1_000_000)


def record_ruleset(rec: dict, ruleset_path: str | None = None) -> tuple[str, list[str]]:
    """The ruleset file to re-run with, and notes on how it differs from the one recorded."""
    from ntm.criteria.loader import load_ruleset, shipped_paths

    want = rec["inputs"]["ruleset"]
    rid, sha = want.get("id"), want.get("sha256")
    notes = []
    if ruleset_path is not None:
        lr = load_ruleset(ruleset_path)
        if lr.ruleset.id != rid:
            raise NtmInputError.single(f"ruleset file is '{lr.ruleset.id}', but the record was decided by '{rid}'",
                                       file=ruleset_path, field="--ruleset")
        if lr.sha256 != sha:
            notes.append(f"the given ruleset file differs from the recorded one: recorded sha256 {sha}, "
                         f"given {lr.sha256}")
        return lr.path, notes
    shipped = shipped_paths()
    if rid not in shipped:
        from ntm.errors import did_you_mean

        raise NtmInputError.single(f"the record was decided by ruleset '{rid}', which this version does not ship",
                                   field="inputs.ruleset.id", hint=did_you_mean(rid, shipped)
                                   or "give the ruleset file with --ruleset PATH")
    lr = load_ruleset(shipped[rid])
    if lr.sha256 != sha:
        notes.append(f"shipped ruleset {rid} changed: recorded sha256 {sha}, now {lr.sha256} ({lr.path}); "
                     "give the recorded file with --ruleset PATH to verify against it")
    if lr.ruleset.version != want.get("version"):
        notes.append(f"ruleset {rid} version: recorded {want.get('version')}, now {lr.ruleset.version}")
    return lr.path, notes


def reevaluate(rec: dict, workdir: str, ruleset_path: str | None = None) -> tuple[Outcome, list[str]]:
    """Run the engine again on the record's own inputs (in workdir); the notes say what differs in the rules."""
    from ntm.engine.evaluate import evaluate, gather

    rpath, notes = record_ruleset(rec, ruleset_path)
    dossier, overlay = unpack(rec, workdir)
    inp = rec["inputs"]
    as_of = dt.date.fromisoformat(inp["as_of"]) if inp.get("as_of") else None
    # only what the record embeds is read: member paths may not leave the re-created tree (no /dev/stdin, no
    # absolute path, no '..' out of workdir), whatever the embedded dossier names
    inputs = gather(dossier, rpath, overlay, as_of, audit_past=inp.get("audit_past") is True, confine=workdir)
    return evaluate(inputs, trace=True, tier=inp.get("tier"), as_of=as_of), notes
