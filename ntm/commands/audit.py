"""Audit commands: `verify`, `register add|list|show|verify`, `keys generate`, `recheck` (thin over ntm.audit)."""

from __future__ import annotations

import json

import typer

from ntm.cli import Lang, app, parse_date
from ntm.report.words import AUDIT_WORDS as _L

register_app = typer.Typer(no_args_is_help=True, help="The decision register: an append-only, hash-chained log.")
keys_app = typer.Typer(no_args_is_help=True, help="Council signing keys (ed25519).")
app.add_typer(register_app, name="register")
app.add_typer(keys_app, name="keys")


def _level(level, lang: Lang) -> str:
    from ntm.report.words import LEVELS, pick

    return pick(LEVELS.get(level, (level, level)), lang.value) if level else ""


def _names(ruleset_ref: str | None):
    """tier id -> name from the ruleset a record names ("vn-2021-2025@2024.2" or an id)."""
    from ntm.report.tierlabels import name, tier_labels

    labels = tier_labels([(ruleset_ref or "").split("@")[0]])
    return lambda level, tid, lang: name(labels, level, tid, lang.value) if tid else ""


def _status(status, lang: Lang) -> str:
    from ntm.report.words import WORDS, pick

    return pick(WORDS[status], lang.value) if status in WORDS else str(status)


def _t(key: str, lang: Lang) -> str:
    return _L[key][lang.value]


def _trusted(path: str | None):
    if path is None:
        return None
    from ntm.audit.keys import load_public

    return load_public(path)


def _fmt(fmt: str) -> str:
    if fmt not in ("text", "json"):
        from ntm.errors import NtmInputError, did_you_mean

        raise NtmInputError.single(f"unknown format '{fmt}'", field="--format", expected="text or json",
                                   hint=did_you_mean(fmt, ["text", "json"]))
    return fmt


def _db(db: str | None) -> str:
    from ntm.audit.register import default_path

    return db or default_path()


@app.command()
def verify(
    record_file: str = typer.Argument(..., metavar="RECORD", help="A decision record (from `ntm evaluate --record`)."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Verify against this ruleset file "
                                          "(when the shipped one changed since the record was made)."),
    trusted_key: str | None = typer.Option(None, "--trusted-key", help="Require a signature by this public key (.pub)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language (Vietnamese by default)."),
) -> None:
    """Re-run a decision record: exit 0 REPRODUCED, 1 DIFFERENT, 2 unreadable or tampered."""
    from ntm.audit import record
    from ntm.audit import verify as V

    rec = record.load(record_file)
    v = V.verify(rec, ruleset, _trusted(trusted_key))
    if _fmt(fmt) == "json":
        typer.echo(json.dumps({"status": v.status, "decision_id": rec.get("decision_id"), "problems": v.problems,
                               "notes": v.notes, "differences": v.diffs}, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        u = rec.get("unit") or {}
        typer.echo(_t(v.status, lang))
        typer.echo(f"{_t('decision', lang)}: {rec.get('decision_id')}")
        typer.echo(f"{_t('unit', lang)}: {_level(u.get('level'), lang)} {u.get('code')} {u.get('name')}")
        rs = rec["inputs"].get("ruleset") or {}
        typer.echo(f"{_t('rules', lang)}: {rs.get('id')} {rs.get('version_in_force') or rs.get('version')}")
        from ntm.report.words import audit_note

        for p in v.problems:
            typer.echo(f"  ✗ {audit_note(p, lang.value)}")
        for n in v.notes:
            typer.echo(f"  {_t('note', lang)}: {audit_note(n, lang.value)}")
        if v.diffs:
            typer.echo(f"{_t('diffs', lang)}:")
            for d in v.rendered(lang.value):
                typer.echo(f"  - {d}")
    raise typer.Exit(v.exit_code)


@register_app.command("add")
def register_add(
    records: list[str] = typer.Argument(..., metavar="RECORD...", help="Decision record file(s)."),
    db: str | None = typer.Option(None, "--db", help="Register file (default $NTM_REGISTER or ./ntm-register.sqlite)."),
    reproduce: bool = typer.Option(False, "--reproduce", help="Re-run each record first; refuse one that differs."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language."),
) -> None:
    """Append records to the register (the same record twice is a no-op that names the existing entry)."""
    from ntm.audit import record, register
    from ntm.audit import verify as V
    from ntm.criteria.yamlsrc import read_text
    from ntm.errors import NtmInputError

    path = _db(db)
    for f in records:
        text = read_text(f)
        if reproduce:
            v = V.verify(record.parse(text, f))
            if v.status != "REPRODUCED":
                raise NtmInputError.single(f"record is {v.status}: " + "; ".join(v.problems + v.diffs[:5]), file=f)
        a = register.add(path, text, f)
        typer.echo(f"{f}: {_t('added' if a.new else 'already', lang)} {a.seq} ({a.entry_hash[:16]}…)")


@register_app.command("list")
def register_list(
    unit: str | None = typer.Option(None, "--unit", help="Only this unit code."),
    year: int | None = typer.Option(None, "--year", help="Only this assessment year."),
    db: str | None = typer.Option(None, "--db", help="Register file."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language."),
) -> None:
    """List register entries, oldest first."""
    from ntm.audit import register

    rows = register.rows(_db(db), unit, year)
    if _fmt(fmt) == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, sort_keys=True))
        return
    if not rows:
        typer.echo(_t("empty", lang))
    for r in rows:
        tier = _names(r["ruleset"])(r["level"], r["highest_tier"], lang) or "-"
        typer.echo(f"{r['seq']:>5}  {r['decision_id'][:16]}  {_level(r['level'], lang):<8} {r['unit_code']:<8} "
                   f"{r['year']}  {r['ruleset']:<22} {tier:<9} {r['unit_name']}")


@register_app.command("show")
def register_show(
    ident: str = typer.Argument(..., metavar="ID", help="Seq number or decision id (or its first characters)."),
    db: str | None = typer.Option(None, "--db", help="Register file."),
    record_only: bool = typer.Option(False, "--record", help="Print only the stored record (to verify it)."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language."),
) -> None:
    """Show one entry (and its record)."""
    from ntm.audit import register

    e = register.get(_db(db), ident)
    if record_only:
        typer.echo(e["record"], nl=False)
        return
    rec = _stored(e, _db(db))
    summary = rec["outcome"]["summary"]
    names = {t["id"]: (t.get("label") or {}).get(lang.value, t["id"]) for t in rec["outcome"]["tiers"]}
    for k in ("seq", "decision_id", "unit_code", "unit_name", "level", "year", "ruleset", "highest_tier",
              "record_sha256", "prev_hash", "entry_hash"):
        v = e[k]
        if k == "level":
            v = _level(v, lang)
        elif k == "highest_tier":
            v = names.get(v, v) if v else _t("none", lang)
        typer.echo(f"{_t(k, lang)}: {v}")
    typer.echo(f"{_t('tiers_met', lang)}: {', '.join(names.get(x, x) for x in summary['tiers_met']) or _t('none', lang)}")
    rec_status = summary.get("recognition")
    typer.echo(f"{_t('recognition', lang)}: {_status(rec_status, lang) if rec_status else _t('none', lang)}")
    for t in rec["outcome"]["tiers"]:
        typer.echo(f"  {names.get(t['id'], t['id'])}: {_status(t['status'], lang)} "
                   f"({t['criteria_met']}/{t['criteria_total']})"
                   + (f" {_t('unmet', lang)}: {', '.join(t['unmet_criteria'])}" if t["unmet_criteria"] else ""))
    sig = rec.get("signature")
    if sig:
        typer.echo(f"{_t('signature', lang)}: {sig.get('signer') or ''} {_t('key', lang)} {sig.get('key_id')}")


def _stored(entry: dict, db: str) -> dict:
    """The entry's record, checked like any record file: a damaged entry is a clear error, never a crash."""
    from ntm.audit import record
    from ntm.errors import NtmInputError

    try:
        return record.parse(entry["record"])
    except NtmInputError as e:
        raise NtmInputError.single(f"register entry seq {entry['seq']} holds a damaged record: "
                                   f"{e.problems[0].render()}", file=db,
                                   hint="run `ntm register verify` to see what changed") from None


@register_app.command("verify")
def register_verify(
    db: str | None = typer.Option(None, "--db", help="Register file."),
    expect_head: str | None = typer.Option(None, "--expect-head", help="A head hash published earlier: "
                                              "it must still be in the chain. Without it, a register cut back "
                                              "to an earlier state (entries and anchor both removed) or rebuilt "
                                              "as a whole new chain still looks intact."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language."),
) -> None:
    """Walk the hash chain; exit 0 intact, 2 if any entry was edited, deleted, inserted or reordered."""
    from ntm.audit import register

    c = register.verify(_db(db), expect_head)
    typer.echo(f"{_t('ok' if c.ok else 'broken', lang)}: {c.count} {_t('entries', lang)}")
    for p in c.problems:
        typer.echo(f"  ✗ {p}")
    typer.echo(f"{_t('head', lang)}: {c.head}")
    raise typer.Exit(0 if c.ok else 2)


@keys_app.command("generate")
def keys_generate(
    out: str = typer.Option(..., "--out", "-o", help="Private key file to create (PEM, mode 0600); the public key "
                            "goes to FILE.pub. Never overwritten."),
) -> None:
    """Create a council's ed25519 signing key pair."""
    from ntm.audit.keys import generate

    priv, pub, kid = generate(out)
    typer.echo(f"private key: {priv} (keep it secret)\npublic key: {pub}\nkey id: {kid}")


@app.command()
def recheck(
    record_file: str = typer.Argument(..., metavar="RECORD", help="The recognition's decision record."),
    dossier: str = typer.Argument(..., metavar="NEW_DOSSIER", help="This year's dossier for the same unit."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Ruleset id or file (default: in force "
                                          "on the new dossier's date)."),
    overlay: str | None = typer.Option(None, "--overlay", help="Provincial overlay (default: the record's, if it fits)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Judge by the rules in force on this date (YYYY-MM-DD)."),
    trusted_key: str | None = typer.Option(None, "--trusted-key", help="Require the record to be signed by this key."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language."),
) -> None:
    """Does a recognised unit still maintain its tier? Exit 0 maintained, 1 not maintained."""
    from ntm.audit import record
    from ntm.audit.recheck import recheck as run

    r = run(record.load(record_file), dossier, ruleset=ruleset, overlay=overlay, as_of=parse_date(as_of, "--as-of"),
            trusted=_trusted(trusted_key))
    if _fmt(fmt) == "json":
        typer.echo(json.dumps({"unit": r.unit, "recognised": r.recognised, "status_now": r.status_now,
                               "maintained": r.maintained, "tiers_lost": r.tiers_lost, "notes": r.notes,
                               "criteria_lost": [vars(x) for x in r.losses]},
                              ensure_ascii=False, indent=2, sort_keys=True))
    else:
        from ntm.report.words import audit_note

        o = r.outcome
        names = {t.id: (t.label.en if lang.value == "en" else t.label.vi) for t in o.tiers} if o is not None else {}
        tn = (lambda tid: names.get(tid, tid) if tid else _t("none", lang))
        typer.echo(_t("maintained" if r.maintained else "lost", lang))
        typer.echo(f"{_t('unit', lang)}: {r.unit}")
        now = _status(r.status_now, lang) if r.status_now else "-"
        typer.echo(f"{_t('recognised', lang)}: {tn(r.recognised)} → {now}")
        typer.echo(f"{_t('tiers_lost', lang)}: {', '.join(tn(x) for x in r.tiers_lost) or _t('none', lang)}")
        typer.echo(f"{_t('criteria_lost', lang)}:" + ("" if r.losses else f" {_t('none', lang)}"))
        for x in r.losses:
            typer.echo(f"  - [{tn(x.tier)}] {x.criterion} {x.name[lang.value]}: {_status(x.status, lang)}")
            for line in x.indicators:
                typer.echo(f"      {line}")
        for n in r.notes:
            typer.echo(f"  {_t('note', lang)}: {audit_note(n, lang.value)}")
    raise typer.Exit(0 if r.maintained else 1)
