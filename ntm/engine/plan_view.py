"""Plans as text for people: a terminal table view and Markdown, Vietnamese by default, English on request.

Renders the JSON document (`ntm-plan/1`) so that every format shows exactly what the JSON says.
"""

from __future__ import annotations
from ntm.report.words import PLAN_WORDS as W


def _w(key: str, lang: str) -> str:
    pair = W.get(key)
    return key if pair is None else pair[0 if lang == "vi" else 1] or key


def _v(x, lang: str) -> str:
    from ntm.report.words import fmt_num

    return fmt_num(x, lang)


def _ident(level, tid):
    return tid


def _needed(item: str, level, tn) -> str:
    """'standard:10' (tier:indicator) with the tier's name."""
    tier, _, code = item.partition(":")
    return f"{tn(level, tier)}: {code}" if code else tn(level, tier)


def _unit_lines(p: dict, lang: str, md: bool, cur: str | None, tn=_ident) -> list[str]:
    from ntm.report.words import status_word, unit_text

    h = "### " if md else ""
    li = "- " if md else "  "
    lv = p.get("level")
    out = [f"{h}{p['name']} ({p['code']}) — {_w('plan', lang)}: {tn(lv, p['target'])} "
           f"({' → '.join(tn(lv, x) for x in p['tiers'])})",
           f"{_w('status', lang)}: {_w(p['status'], lang)}"]
    for c in p["changes"]:
        how = c["pricing"]
        cost = _v(c["cost"], lang) + (f" {cur}" if cur and c["cost"] is not None else "") if how == "priced" else _w(how, lang)
        cost = f"; {_w('cost', lang)}: {cost}" if cur else ""
        act = f" [{_w('provide', lang)}]" if c["action"] == "provide" else ""
        label = c["fact_label"][lang]
        out.append(f"{li}{c['fact']} — {label}: {_v(c['observed'], lang)} → {_v(c['target'], lang)} "
                   f"{unit_text(c['unit'], lang)} ({c['requirement']}){act}{cost}; {_w('needed_by', lang)}: "
                   f"{', '.join(_needed(x, lv, tn) for x in c['needed_by'])}" + (" [tạm tính]" if c["provisional"] and lang == "vi" else
                                                     " [provisional]" if c["provisional"] else ""))
    for ch in p["choices"]:
        out.append(f"{li}{_w('choice', lang)}: {tn(lv, ch['tier'])} {ch['indicator']} ({ch['required']}/{ch['of']}): "
                   + ", ".join(ch["chosen_facts"]))
    for b in p["blockers"]:
        out.append(f"{li}{_w('blockers', lang)}: {b['message'][lang]}")
    if p["total_cost"] is not None:
        tail = "" if p["cost_complete"] else f" ({_w('incomplete', lang)})"
        out.append(f"{_w('total', lang)}: {_v(p['total_cost'], lang)} {cur or ''}{tail}".rstrip())
    v = p["verification"]
    done = ", ".join(f"{tn(lv, k)}: {status_word(v['tiers'][k], lang).lower()}" for k in v["tiers"]) \
        if v["evaluated"] else _w("not_evaluated", lang)
    out.append(f"{_w('verify', lang)}: {done} — {v['note'][lang]}")
    return out


def render(doc: dict, lang: str = "vi", md: bool = False) -> str:
    src = doc["source"]
    cur = src["currency"]
    lines = []
    if md:
        lines.append(f"# {_w('plan', lang)} ({_plan_target(doc, lang)})")
    head = f"{src['ruleset']} {src['ruleset_version']}"
    if src["overlay"]:
        head += f" + {src['overlay']}"
    if src["cost_model"]:
        head += f" — {src['cost_model']} ({cur})"
        if src["illustrative_costs"]:
            head += f" [{_w('illustrative_costs', lang)}]"
    lines.append(head)
    p = doc["plan"]
    from ntm.report.tierlabels import name, tier_labels

    labels = tier_labels([src["ruleset"]])

    def tn(level, tid):
        return name(labels, level, tid, lang)

    if doc["kind"] == "unit":
        lines += _unit_lines(p, lang, md, cur, tn)
    else:
        lines += _group_lines(p, lang, md, cur, tn)
    lines.append(f"{_w('tie_rule', lang)}: {doc['tie_rule'] if lang == 'en' else _w('tie_text', lang)}")
    return "\n".join(lines) + "\n"


def _plan_target(doc: dict, lang: str) -> str:
    from ntm.report.tierlabels import name, tier_labels

    p = doc["plan"]
    level = p.get("level") if doc["kind"] == "unit" else ("district" if p.get("kind") == "district" else "commune")
    return name(tier_labels([doc["source"]["ruleset"]]), level, p.get("target"), lang)


def _group_lines(p: dict, lang: str, md: bool, cur: str | None, tn=_ident) -> list[str]:
    h = "## " if md else ""
    li = "- " if md else "  "
    who = f"{p['name']} ({p['code']})" if p["code"] else ("tỉnh (thư mục hồ sơ)" if lang == "vi" else "province (folder)")
    own = "district" if p.get("kind") == "district" else "commune"
    out = [(f"{h}{who}: {tn(own, p['target'])} — {_w('needed', lang)} {tn('commune', p['commune_target'])}: "
            f"{_v(p['needed'], lang)}, "
            f"{_w('have', lang)} {p['at_target']}/{p['communes_total']}"),
           f"{_w('must_lift', lang)}: {', '.join(p['must_lift']) or '—'}"
           + (f" — {_w('cost', lang)} {_v(p['lift_cost'], lang)} {cur}" if p["lift_cost"] is not None else ""),
           f"{h}{_w('communes', lang)}:"]
    for c in p["communes"]:
        cost = _v(c["total_cost"], lang) if c["total_cost"] is not None else "—"
        cond = f"; {_w('not_purchasable', lang)}: {', '.join(c['conditions'])}" if c["conditions"] else ""
        out.append(f"{li}{c['code']} {c['name']}: {_w(c['status'], lang)}; {_w('cost', lang)} {cost}; "
                   f"{c['changes']} thay đổi{cond}" if lang == "vi" else
                   f"{li}{c['code']} {c['name']}: {_w(c['status'], lang)}; {_w('cost', lang)} {cost}; "
                   f"{c['changes']} changes{cond}")
    if p["district"]:
        out.append(f"{h}{_w('district', lang)}:")
        out += ["  " + x if not md else x for x in _unit_lines(p["district"], lang, md, cur, tn)]
    b = p["budget"]
    if b:
        out += [f"{h}{_w('budget', lang)}: {_v(b['budget'], lang)} {cur}",
                f"{li}{_w('selected', lang)}: {', '.join(b['selected']) or '—'} ({_v(b['spent'], lang)} {cur}); "
                f"{_w('remaining', lang)}: {_v(b['remaining'], lang)} {cur}; → {b['reaching_target']} "
                + ("xã đạt mức" if lang == "vi" else "communes at the tier")]
        if b["next_commune"]:
            out.append(f"{li}{_w('next', lang)} {b['next_commune']}: {', '.join(b['next_buys']) or '—'} "
                       f"({_v(b['next_spent'], lang)} {cur})")
        for code, why in b["not_buyable"].items():
            conds = next((c["conditions"] for c in p["communes"] if c["code"] == code), [])
            why = _w("unpriced_plan" if why == "unpriced" else why, lang)
            if conds:
                why += f" ({_w('not_purchasable', lang)}: {', '.join(conds)})"
            out.append(f"{li}{_w('not_buyable', lang)}: {code} — {why}")
        out.append(f"{li}{b['algorithm'] if lang == 'en' else _w('algorithm', lang)}")
    t = p["targets"]
    if t:
        out.append(f"{h}{_w('targets', lang)}: {t['id']}" + (f" ({t['by']})" if t["by"] else ""))
        for g in t["tiers"]:
            out.append(f"{li}{tn('commune', g['tier'])}: {_w('want', lang)} {g['want']}, {_w('have', lang)} {g['have']}, "
                       f"{_w('gap', lang)} {g['gap']} → {', '.join(g['cheapest']) or '—'}"
                       + (f" ({_v(g['cost'], lang)} {cur})" if g["cost"] is not None else "")
                       + ("" if g["closable"] else " ✗"))
        if t["min_criteria"]:
            out.append(f"{li}{_w('min_criteria', lang)} ({tn('commune', t['min_criteria_tier'])}):")
            for m in t["min_criteria"]:
                out.append(f"{li}  {m['code']}: {m['criteria_met']} → {_v(m['criteria_met_after'], lang)}/{m['want']} "
                           f"({', '.join(m['cheapest_criteria']) or '—'}"
                           + (f"; {_v(m['cost'], lang)} {cur})" if m["cost"] is not None else ")"))
        out.append(f"{li}{t['note'][lang]}")
    return out
