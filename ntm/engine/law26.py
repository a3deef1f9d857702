"""Outcome parts of the 2026–2030 law: the commune group and why, how much of the law is transcribed, and the
status of a commune formed by the 2025 merger (lowest recognised level among its parts, through durable-rules).
"""

from __future__ import annotations

import datetime as dt
import os

from ntm.criteria.model import MergedCommunes, Ruleset
from ntm.criteria.resolve import Resolved
from ntm.engine import outcome as out
from ntm.engine import sideline
from ntm.engine.compiler import _Builder, pat
from ntm.errors import NtmInputError


def _label(t) -> out.Label:
    return out.Label(vi=t.vi, en=t.en)


def group_out(rs: Ruleset, g) -> out.CommuneGroupOut:
    cg = rs.commune_groups
    labels = {r.id: r.label for r in rs.regions}
    rule = next((r for r in cg.rules if r.id == g.decided_by), None)
    glabel = labels.get(g.group)
    prec = " > ".join(g.order)
    p_vi = "tạm tính" if g.precedence.status == "provisional" else "đã đối chiếu"
    src_vi = "quốc gia" if g.precedence_source == "national" else g.precedence_source.replace("overlay", "quy định tỉnh")
    if rule is not None:
        vi = f"{glabel.vi}: {rule.label.vi} (quy tắc {rule.id}; {rule.citation.render()})"
        en = f"{glabel.en}: {rule.label.en} (rule {rule.id}; {rule.citation.render()})"
        if g.by_precedence:
            others = ", ".join(x for x in g.groups_fitted if x != g.group)
            vi += (f". Xã cũng phù hợp {others}; thứ tự ưu tiên {prec} ({p_vi}, {src_vi}) quyết định "
                   "vì văn bản chưa quy định")
            en += (f". The commune also fits {others}; the precedence {prec} ({g.precedence.status}, "
                   f"{g.precedence_source}) decided, as the text does not say")
    elif g.decided_by == "default":
        vi = f"{cg.default_label.vi} (không định nghĩa nào của nhóm {', '.join(g.order)} phù hợp)"
        en = f"{cg.default_label.en} (no definition of {', '.join(g.order)} fits)"
    else:
        miss = ", ".join(g.missing_facts) or "—"
        vi = (f"{glabel.vi}: theo hồ sơ (unit.region); các dữ kiện đã có không mâu thuẫn, nhưng chưa đủ để tự "
              f"xác định (thiếu: {miss})")
        en = (f"{glabel.en}: as stated in the dossier (unit.region); the facts given do not contradict it but do "
              f"not decide it (missing: {miss})")
    return out.CommuneGroupOut(
        group=g.group, group_label=_label(glabel) if glabel else None, decided_by=g.decided_by,
        rule_label=_label(rule.label) if rule else None, by_precedence=g.by_precedence, precedence=list(g.order),
        precedence_source=g.precedence_source, precedence_status=g.precedence.status,
        precedence_note=g.precedence.note, matched_rules=list(g.matched), not_matched_rules=list(g.not_matched),
        undecided_rules=list(g.undecided), missing_facts=list(g.missing_facts), stated=g.stated,
        reason=out.Label(vi=vi, en=en), citation=out._citation(rule.citation if rule else cg.citation))


def transcription_out(rs: Ruleset, res: Resolved, overlay=None) -> list[out.TranscriptionOut]:
    """Count the indicators of each listed part whose national thresholds have a value for this unit."""
    added = {(a.level, a.tier, a.indicator.code) for a in overlay.overlay.indicators} if overlay else set()
    result = []
    present = {t.id for t in res.tiers}
    for t in rs.transcription:
        if t.level != res.level or t.tier not in present:
            continue
        tier = res.tier(t.tier)
        inds = [i for c in tier.criteria for i in c.indicators]
        national = [i for i in inds if (res.level, t.tier, i.code) not in added
                    and all(c.threshold.provenance.source == "national" for c in i.conditions)]
        done = sum(1 for i in national if all(c.threshold.value is not None for c in i.conditions))
        local = sum(1 for i in inds if (res.level, t.tier, i.code) in added)
        grp = f" cho {res.region}" if rs.region_kind == "commune_group" else ""
        grp_en = f" for {res.region}" if rs.region_kind == "commune_group" else ""
        how_vi = f"; hoàn thiện bằng `{t.complete_with}`" if t.complete_with else ""
        how_en = f"; complete it with `{t.complete_with}`" if t.complete_with else ""
        if t.indicators_in_law is not None:
            complete = done >= t.indicators_in_law
            vi = f"{t.part.vi}: {done}/{t.indicators_in_law} chỉ tiêu đã chép ngưỡng{grp}"
            en = f"{t.part.en}: {done} of {t.indicators_in_law} indicators' thresholds transcribed{grp_en}"
            if not complete:
                vi += f" — bộ tiêu chí CHƯA ĐẦY ĐỦ, kết quả không phải là kết luận theo văn bản{how_vi}"
                en += f" — the set is INCOMPLETE, so this is not a finding under the text{how_en}"
        else:
            complete = local > 0
            if complete:
                vi = f"{t.part.vi}: {local} chỉ tiêu do quy định tỉnh bổ sung (--overlay)"
                en = f"{t.part.en}: {local} indicator(s) supplied by the provincial overlay"
            else:
                vi = f"{t.part.vi}: chưa có" + (f" — {t.note.vi}" if t.note else "")
                en = f"{t.part.en}: not transcribed" + (f" — {t.note.en}" if t.note else "")
        result.append(out.TranscriptionOut(
            part=_label(t.part), tier=t.tier, indicators_in_law=t.indicators_in_law, transcribed=done,
            complete=complete, text=out.Label(vi=vi, en=en), complete_with=t.complete_with,
            citation=out._citation(t.citation)))
    return result


# ---- merged communes ---------------------------------------------------------------------------------------

def compile_merged(n_parts: int, top: int):
    """Level L holds for the merged commune when every part is at least L; it fails when some part is below L."""
    b = _Builder()
    b.rule("begin", [pat("begin")])
    for L in range(1, top + 1):
        for i in range(n_parts):
            b.rule(f"mp|{i}|{L}|at", [{"$and": [{"t": "part"}, {"p": i}, {"$gte": {"lo": L}}]}], (),
                   {"t": "pa", "p": i, "L": L})
            b.rule(f"ml|{L}|fail|{i}", [{"$and": [{"t": "part"}, {"p": i}, {"$lt": {"hi": L}}]}],
                   ((("merged", L), "not_met"),))
        b.rule(f"ml|{L}|met", [pat("pa", p=i, L=L) for i in range(n_parts)], ((("merged", L), "met"),))
    return sideline.finish(b)


def merged_reference(bounds: list[tuple[int, int]], top: int) -> dict:
    """The oracle: the lowest level among the parts, known exactly when every part's level is."""
    lo, hi = min(b[0] for b in bounds), min(b[1] for b in bounds)
    v = {}
    for L in range(1, top + 1):
        if L <= lo:
            v[("merged", L)] = "met"
        elif L > hi:
            v[("merged", L)] = "not_met"
    return v


def merged_verdict(bounds: list[tuple[int, int]], top: int) -> dict:
    comp = compile_merged(len(bounds), top)
    facts = [{"t": "begin"}] + [{"t": "part", "p": i, "lo": lo, "hi": hi} for i, (lo, hi) in enumerate(bounds)]
    r = sideline.run(comp, facts)
    return r.verdict, len(r.trace)


def _part_bounds(inp, mc: MergedCommunes, as_of) -> list[tuple[out.MergedPartOut, tuple[int, int]]]:
    from ntm.engine.evaluate import evaluate, gather

    ids = [x.id for x in mc.ladder]
    top = len(ids) - 1
    d = inp.dossier.dossier
    base = os.path.dirname(os.path.abspath(inp.dossier.path))
    rows, seen = [], set()
    for i, p in enumerate(d.merged_from):
        where = ("merged_from", i)
        line = inp.dossier.source.line_of(where)
        if p.code in seen:
            raise NtmInputError.single(f"part {p.code} is listed twice", file=inp.dossier.path, line=line,
                                       field=f"merged_from[{i}].code")
        seen.add(p.code)
        if p.status is not None and p.status not in ids:
            raise NtmInputError.single(f"unknown level '{p.status}'", file=inp.dossier.path,
                                       line=inp.dossier.source.line_of(where + ("status",)),
                                       field=f"merged_from[{i}].status", expected="one of " + ", ".join(ids))
        if p.dossier is not None:
            from ntm.criteria.members import member_path

            path = member_path(inp.dossier, inp.root, p.dossier, where + ("dossier",), f"merged_from[{i}].dossier")
            try:
                pin = gather(path, confine=inp.root or False)
                o = evaluate(pin)
            except NtmInputError as e:
                raise NtmInputError.single(
                    f"part {p.code}'s dossier could not be evaluated: {e.problems[0].render()}",
                    file=inp.dossier.path, line=inp.dossier.source.line_of(where + ("dossier",)),
                    field=f"merged_from[{i}].dossier") from None
            pu = pin.dossier.dossier.unit
            if pu.code != p.code:
                raise NtmInputError.single(f"the dossier is for {pu.level} {pu.code}, not part {p.code}",
                                           file=inp.dossier.path,
                                           line=inp.dossier.source.line_of(where + ("dossier",)),
                                           field=f"merged_from[{i}].dossier")
            st = {t.id: t.status for t in o.tiers}
            lo = 0
            while lo < top and st.get(ids[lo + 1]) == "met":
                lo += 1
            hi = lo
            while hi < top and st.get(ids[hi + 1]) == "indeterminate":
                hi += 1
            status = ids[lo] if lo == hi else None
            note = (f"evaluated from its dossier under {o.ruleset.id} (assessed {pin.dossier.dossier.assessment.effective_date});"
                    " an evaluation, not a recognition decision")
            rows.append((out.MergedPartOut(code=p.code, name=p.name, source="dossier", status=status,
                                           decision_number=None, decision_date=None, dossier=p.dossier,
                                           missing_recognition=lo != hi, note=note), (lo, hi)))
            continue
        if p.status is not None and (p.decision is not None or p.status == ids[0]):
            r = ids.index(p.status)
            rows.append((out.MergedPartOut(
                code=p.code, name=p.name, source="declared", status=p.status,
                decision_number=p.decision.number if p.decision else None,
                decision_date=p.decision.date if p.decision else None, dossier=None, missing_recognition=False,
                note=p.note), (r, r)))
            continue
        why = (f"status '{p.status}' is given without its recognition decision (number, date)" if p.status
               else "no recognised status (with its decision) and no dossier")
        rows.append((out.MergedPartOut(code=p.code, name=p.name, source="missing", status=None,
                                       decision_number=None, decision_date=None, dossier=None,
                                       missing_recognition=True, note=why), (0, top)))
    return rows


def merged_out(inp, as_of: dt.date | None) -> out.MergedOut:
    rs = inp.ruleset.ruleset
    mc = rs.merged_communes
    d = inp.dossier.dossier
    if mc is None:
        raise NtmInputError.single(f"ruleset {rs.id} has no rule for merged communes", file=inp.dossier.path,
                                   line=inp.dossier.source.line_of(("merged_from",)), field="merged_from",
                                   hint="merged communes are judged by the 2026–2030 set (vn-2026-2030)")
    if d.assessment.effective_date < mc.merged_on:
        raise NtmInputError.single(f"merged_from is given, but the assessment ({d.assessment.effective_date}) is "
                                   f"before the merger took effect ({mc.merged_on})", file=inp.dossier.path,
                                   line=inp.dossier.source.line_of(("merged_from",)), field="merged_from",
                                   hint="assess the former communes separately, or correct the assessment date")
    if len(d.merged_from) < 2:
        raise NtmInputError.single("a merged commune is formed from at least two communes", file=inp.dossier.path,
                                   line=inp.dossier.source.line_of(("merged_from",)), field="merged_from")
    rows = _part_bounds(inp, mc, as_of)
    labels = {x.id: _label(x.label) for x in mc.ladder}
    rows = [(r.model_copy(update={"status_label": labels.get(r.status)}), b) for r, b in rows]
    top = len(mc.ladder) - 1
    verdict, fired = merged_verdict([b for _, b in rows], top)
    met = [L for L in range(1, top + 1) if verdict.get(("merged", L)) == "met"]
    decided = all(("merged", L) in verdict for L in range(1, top + 1))
    lo = max(met) if met else 0
    hi = next((L - 1 for L in range(1, top + 1) if verdict.get(("merged", L)) == "not_met"), top)
    level = mc.ladder[lo] if decided else None
    missing = [r.code for r, _ in rows if r.missing_recognition]
    if decided:
        vi = f"{mc.label.vi}: {level.label.vi}"
        en = f"{mc.label.en}: {level.label.en}"
    else:
        vi = (f"{mc.label.vi}: chưa xác định được (từ {mc.ladder[lo].label.vi} đến {mc.ladder[hi].label.vi}) — "
              f"thiếu quyết định công nhận của: {', '.join(missing)}")
        en = (f"{mc.label.en}: not established (between {mc.ladder[lo].label.en} and {mc.ladder[hi].label.en}) — "
              f"recognition missing for: {', '.join(missing)}")
    if mc.status == "provisional":
        vi += " (quy tắc tạm tính)"
        en += " (provisional rule)"
    return out.MergedOut(
        rule=_label(mc.label), merged_on=mc.merged_on, status=level.id if level else None,
        status_label=_label(level.label) if level else None, decided=decided, lowest_possible=mc.ladder[lo].id,
        highest_possible=mc.ladder[hi].id, provenance=mc.status, note=mc.note, citation=out._citation(mc.citation),
        parts=[r for r, _ in rows], parts_missing_recognition=missing, text=out.Label(vi=vi, en=en),
        rules_fired=fired)
