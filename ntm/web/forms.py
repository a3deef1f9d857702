"""Between HTML forms and dossiers: the form generated from the fact catalogue, the dossier read back from it
(values parsed like workbook cells: 61,2 and 61.2 both mean 61.2), problems placed beside their fields, and the
view models the templates draw."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from ntm.errors import NtmInputError, Problem
from ntm.web import service

TIER_SHORT = {"standard": ("Đạt chuẩn", "Standard"), "advanced": ("Nâng cao", "Advanced"),
              "model": ("Kiểu mẫu", "Model")}
UNIT_FIELDS = (("u.code", "unit_code"), ("u.name", "unit_name"), ("u.province", "province"),
               ("u.district", "district"))


def _get(params, key, default=None):
    v = params.get(key) if hasattr(params, "get") else None
    return v if v not in (None, "") else default


def _getlist(params, key) -> list[str]:
    if hasattr(params, "getlist"):
        return [v for v in params.getlist(key) if isinstance(v, str) and v]
    return []


def parse_date(text, field: str) -> dt.date | None:
    if text in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise NtmInputError.single(f"'{text}' is not a date", field=field, expected="YYYY-MM-DD") from None


def spec_from(request, params):
    """The form's spec from the chosen ruleset, level, region, flags, overlay and year."""
    from ntm.web import api

    entries = service.rulesets()
    ruleset = api.ruleset_id(_get(params, "ruleset") or entries[-1].id)
    overlay = api.overlay_path(request.app, _get(params, "overlay"), None)
    year = _get(params, "year")
    if year is not None:
        if not re.fullmatch(r"\d{4}", str(year).strip()):
            raise NtmInputError.single(f"'{year}' is not a year", field="--year", expected="YYYY")
        year = int(year)
    region = _get(params, "region")
    return service.form_spec(ruleset, _get(params, "level", "commune"), region, year,
                             tuple(_getlist(params, "flags")), overlay)


def choice_errors(problems: list[Problem], lang: str = "vi") -> dict:
    out: dict[str, list[str]] = {}
    for p in problems:
        slot = {"--region": "region", "--flag": "flags", "--year": "year", "--level": "level", "ruleset": "ruleset",
                "overlay": "overlay"}.get(p.field or "", "choose")
        out.setdefault(slot, []).append(service.field_message(p, lang) if slot != "choose"
                                        else service.problem_message(p, lang))
    return out


@dataclass(frozen=True)
class FieldRow:
    id: str
    label: str
    unit: str
    kind: str  # boolean | number
    range: str
    needs: list[str]
    parts_of: str | None


def _tier_name(spec, tid: str, lang: str) -> str:
    if tid in TIER_SHORT:
        return TIER_SHORT[tid][1 if lang == "en" else 0]
    ls = spec.ruleset.ruleset.level(spec.level)
    for t in (ls.tiers if ls else []):
        if t.id == tid:
            return t.label.en if lang == "en" else t.label.vi
    return tid


def _needs(spec, row, lang: str) -> list[str]:
    from ntm.templates.spec import threshold_text

    region = spec.regions[0] if len(spec.regions) == 1 else None
    unit = row.fact.unit_en if lang == "en" and row.fact.unit_en else row.fact.unit
    out = []
    for n in row.needs:
        for r, value, status in n.thresholds:
            if region is not None and r != region:
                continue
            th = threshold_text(n.op, value, unit, lang)
            tag = {"provisional": " (tạm tính)" if lang == "vi" else " (provisional)",
                   "missing": " (chưa có ngưỡng)" if lang == "vi" else " (no threshold)"}.get(status, "")
            where = "" if region is not None else f" [{r}]"
            out.append(f"{_tier_name(spec, n.tier, lang)} {n.indicator}: {th}{tag}{where}")
    if row.parts_of and not out:
        out.append(f"dùng để tính {row.parts_of}" if lang == "vi" else f"used to compute {row.parts_of}")
    return out


def groups(spec, lang: str) -> list[tuple[str, list[FieldRow]]]:
    from ntm.templates.spec import range_text

    out: list[tuple[str, list[FieldRow]]] = []
    names = {}
    ls = spec.ruleset.ruleset.level(spec.level)
    for t in (ls.tiers if ls else []):
        for c in t.criteria:
            names.setdefault((t.id, c.number), c.name.en if lang == "en" else c.name.vi)
    for row in spec.rows:
        f = row.fact
        title = (f"{row.criterion} — {names.get((row.tier, row.criterion), row.criterion_name or '')}"
                 if row.criterion else ("Khác" if lang == "vi" else "Other"))
        unit = f.unit_en if lang == "en" and f.unit_en else f.unit
        fr = FieldRow(f.id, f.label.en if lang == "en" else f.label.vi, unit,
                      "boolean" if f.type == "boolean" else "number", range_text(f, lang), _needs(spec, row, lang),
                      row.parts_of)
        if out and out[-1][0] == title:
            out[-1][1].append(fr)
        else:
            out.append((title, [fr]))
    return out


def form_context(spec, params, errors: dict, values) -> dict:
    lang = "en" if _get(params, "lang") == "en" else None
    return {"spec": spec, "values": values, "errors": errors, "groups_for": lambda lg: groups(spec, lg),
            "region": spec.regions[0] if len(spec.regions) == 1 else "",
            "hidden": {"ruleset": spec.ruleset.ruleset.id, "level": spec.level, "year": str(spec.year),
                       "overlay": _get(params, "overlay", "")},
            "flags": list(spec.flags), "regions": spec.ruleset.ruleset.regions,
            "region_kind": spec.ruleset.ruleset.region_kind, "lang_hint": lang}


def request_from_form(request, spec, form) -> service.Request:
    """The dossier the form describes; every value problem is collected and reported beside its field."""
    from ntm.batch.inputs import parse_cell
    from ntm.web import api

    problems: list[Problem] = []
    unit: dict = {"level": spec.level}
    for key, _ in UNIT_FIELDS:
        v = str(form.get(key) or "").strip()
        if v:
            unit[key[2:]] = v
    region = str(form.get("u.region") or (spec.regions[0] if len(spec.regions) == 1 else "")).strip()
    if region or spec.ruleset.ruleset.commune_groups is None:  # a commune group may be placed from the facts
        unit["region"] = region
    unit["flags"] = list(spec.flags)
    assessment: dict = {}
    date_text = str(form.get("a.date") or "").strip()
    if date_text:
        try:
            assessment["date"] = parse_date(date_text, "assessment.date")
        except NtmInputError as e:
            problems.extend(e.problems)
    else:
        assessment["year"] = spec.year
    facts: dict = {}
    catalogue = spec.ruleset.ruleset.fact_map()
    for row in spec.rows:
        fid = row.fact.id
        raw = str(form.get(f"f.{fid}") or "").strip()
        doc = str(form.get(f"ev.{fid}") or "").strip()
        value = None
        if raw:
            try:
                value = parse_cell(raw, catalogue[fid])
            except ValueError as e:
                problems.append(Problem(str(e), field=f"facts.{fid}"))
                continue
        if doc:
            entry: dict = {"evidence": {"document": doc}}
            if value is not None:
                entry["value"] = value
            facts[fid] = entry
        elif value is not None:
            facts[fid] = value
    if problems:
        raise NtmInputError(problems)
    data = {"unit": unit, "assessment": assessment, "facts": facts}
    from ntm.criteria.yamlsrc import Source

    overlay = api.overlay_path(request.app, _get(form, "overlay"), None)
    return service.Request(Source(data, {}, "form"), spec.ruleset.ruleset.id, overlay, None, None)


def field_errors(problems: list[Problem], spec, lang: str = "vi") -> dict:
    """Problem -> the form field it belongs to ('facts.x.value' -> 'f.x'); the rest go on top of the form."""
    out: dict[str, list[str]] = {}
    for p in problems:
        f = (p.field or "").removesuffix(".value")
        slot = "_top"
        if f.startswith("facts."):
            rest = f[len("facts."):]
            fid = rest.split(".", 1)[0]
            slot = f"ev.{fid}" if ".evidence" in rest else f"f.{fid}"
        elif f.startswith("--set "):
            slot = f"f.{f[6:]}"
        elif f in ("unit.region",):
            slot = "u.region"
        elif f.startswith("unit."):
            slot = "u." + f[5:].split(".", 1)[0].split("[", 1)[0]
        elif f.startswith("assessment"):
            slot = "a.date"
        msg = service.field_message(p, lang) if slot != "_top" else service.problem_message(p, lang)
        out.setdefault(slot, []).append(msg)
    return out


def uploaded_source(request, name: str, data: bytes, ruleset: str | None, overlay: str | None):
    """An uploaded dossier: YAML/JSON text, or a filled template (xlsx/csv: its first commune row)."""
    low = name.lower()
    if low.endswith((".xlsx", ".csv")):
        from ntm.web.app import save_upload

        path = save_upload(request.app, data, "template", name)
        src, _rows = service.template_dossier(path, ruleset, overlay)
        return src
    if not low.endswith((".yaml", ".yml", ".json")):
        raise NtmInputError.single("unknown file type", file=name, field="file",
                                   expected="a .yaml/.yml/.json dossier or a filled .xlsx/.csv template")
    if b"\x00" in data:
        raise NtmInputError.single("is a binary file, not YAML or JSON text", file=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise NtmInputError.single(f"is not UTF-8 text (bad byte at offset {e.start})", file=name,
                                   hint="save the file as UTF-8") from None
    return service.parse_dossier(text, os.path.basename(name))


# ---------------------------------------------------------------- the appraisal view


def view(o) -> dict:
    """Per tier: the failing, missing and undecided indicators with their conditions (the council's list)."""
    tiers = []
    for t in o.tiers + ([o.recognition] if o.recognition else []):
        items = []
        for c in t.criteria:
            for ind in c.indicators:
                if ind.status in ("fail", "missing", "indeterminate"):
                    conds = [k for k in ind.conditions if k.status != "pass"] or ind.conditions
                    items.append((c, ind, conds))
        tiers.append((t, items))
    return {"tiers": tiers}


# ---------------------------------------------------------------- what-if


@dataclass(frozen=True)
class WhatIfRow:
    id: str
    label: str
    label_en: str
    unit: str
    kind: str
    current: object  # the value in the dossier (None: no evidence)
    failing: bool = False  # tested by a failing or missing condition


def whatif_rows(o, req: service.Request) -> list[WhatIfRow]:
    """The facts the outcome's indicators test, with the dossier's values (computed shares included); the facts
    of failing or missing conditions first (what a planner changes), then the others."""
    seen: dict[str, WhatIfRow] = {}
    first: list[str] = []
    for t in o.tiers + ([o.recognition] if o.recognition else []):
        for c in t.criteria:
            for ind in c.indicators:
                for k in ind.conditions:
                    if k.status in ("fail", "missing") and ind.status in ("fail", "missing") and k.fact not in first:
                        first.append(k.fact)
                    if k.fact in seen:
                        continue
                    kind = "boolean" if isinstance(k.threshold, bool) or k.op == "is_true" else "number"
                    seen[k.fact] = WhatIfRow(k.fact, k.fact_label.vi, k.fact_label.en, k.unit, kind, k.observed,
                                             False)
    rows = [WhatIfRow(**{**seen[f].__dict__, "failing": True}) for f in first]
    return rows + [r for f, r in seen.items() if f not in first]


def shown(value, lang: str) -> str:
    """A value as the what-if field shows it (the report's number format, without thousands spaces)."""
    from ntm.report.i18n import fmt_num

    if value is None:
        return ""
    return fmt_num(value, lang).replace("\u2009", "")


def whatif_changes(rows: list[WhatIfRow], form) -> dict:
    """Fields the user changed -> {fact: value}; an emptied field removes the evidence."""
    from ntm.batch.inputs import parse_number

    changes, problems = {}, []
    for r in rows:
        key = f"w.{r.id}"
        if key not in form:
            continue
        raw = str(form.get(key) or "").strip()
        if r.kind == "boolean":
            value = {"true": True, "false": False, "": None}.get(raw, raw)
            if value == r.current:
                continue
            if isinstance(value, str):
                problems.append(Problem(f"got '{raw}'", field=f"facts.{r.id}", expected="true or false"))
                continue
        else:
            if raw in (shown(r.current, "vi"), shown(r.current, "en")) and r.current is not None:
                continue
            if raw == "":
                value = None
            else:
                try:
                    value = parse_number(raw, r.unit)
                except ValueError as e:
                    problems.append(Problem(str(e), field=f"facts.{r.id}"))
                    continue
            if value == r.current or (value is not None and r.current is not None
                                      and not isinstance(r.current, bool) and float(value) == float(r.current)):
                continue
        if value is None and r.current is None:
            continue
        changes[r.id] = value
    if problems:
        raise NtmInputError(problems)
    return changes


# ---------------------------------------------------------------- batch


def batch_view(doc: dict | None, lang: str) -> dict:
    """The province summary's charts (ntm.report's SVG charts, the same data as the HTML batch report)."""
    if doc is None:
        return {"charts": []}
    from ntm.report import batch_html, svg

    charts = []
    s = doc.get("summary") or {}
    tiers = batch_html.tier_order(doc)
    st = s.get("tiers") or {}
    items = [(batch_html.tier_name(t, lang), int((st.get(t) or {}).get("met", 0) or 0)) for t in tiers if t in st]
    if items:
        title = "Số xã đạt từng mức" if lang == "vi" else "Communes meeting each tier"
        charts.append((title, svg.hbars(items, title)))
    hist = batch_html.histogram(doc)
    if hist:
        title = batch_html.bw("histogram", lang)
        charts.append((title, svg.columns(hist, title)))
    by_d = batch_html.highest_by_district(doc)
    if by_d:
        segs = [(k, batch_html.tier_name(k, lang) if k != "none" else
                 ("Chưa đạt" if lang == "vi" else "None")) for k in ("none", "standard", "advanced", "model")]
        title = "Mức cao nhất theo huyện" if lang == "vi" else "Highest tier by district"
        try:
            charts.append((title, svg.stacked(by_d, segs, title)))
        except TypeError:
            pass
    return {"charts": charts, "tiers_order": tiers}
