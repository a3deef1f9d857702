"""The batch record read straight from the engine's verdict equals the one reduced from the full Outcome."""

from __future__ import annotations

import glob
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")


def _both(inp, as_of=None):
    from ntm.batch import work
    from ntm.engine.evaluate import evaluate

    def attempt(f):
        work.new_batch()
        try:
            return f()
        except Exception as e:  # noqa: BLE001 - both ways must refuse the same input the same way
            return type(e).__name__, str(e)

    return attempt(lambda: work.record(evaluate(inp, as_of=as_of))), attempt(lambda: work.evaluate_record(inp, as_of))


def test_synthetic_communes_with_and_without_overlay():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import national

    from ntm.criteria.dossier import dossier_from_source
    from ntm.criteria.loader import LoadedRuleset, load_ruleset
    from ntm.criteria.overlay import load_overlay, merge
    from ntm.criteria.yamlsrc import Source
    from ntm.engine.evaluate import Inputs

    base = load_ruleset("vn-2021-2025")
    lo = load_overlay(OVERLAY, base.ruleset)
    merged = LoadedRuleset(merge(base.ruleset, lo.overlay), base.path, base.sha256)
    data = national.communes(150, seed=11, ruleset=merged.ruleset, overlay=lo)
    kinds = set()
    for k, d in enumerate(data):
        if k % 3 == 0:  # the national rules alone: without the overlay's own fact
            d = {**d, "facts": {f: v for f, v in d["facts"].items() if f != "waste_sorted_at_source_pct"}}
        ld = dossier_from_source(Source(d, {}, d["unit"]["code"]))
        inp = Inputs(ld, merged, lo) if k % 3 else Inputs(ld, base, None)
        slow, fast = _both(inp)
        assert fast == slow, d["unit"]["code"]
        kinds |= {(t, s) for t, s in slow["tiers"].items()} | {("prov", slow["decided_by_provisional"])}
        kinds |= {("gap", bool(slow["gaps"])), ("undecided", any(c["undecided"] for c in slow["criteria"].values()))}
    # the sample exercises every status, provisional decisions both ways, gaps and undecided criteria
    for want in [("standard", "met"), ("standard", "not_met"), ("prov", True), ("prov", False), ("gap", True),
                 ("undecided", True)]:
        assert want in kinds, want


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))))
def test_example_dossiers(path):
    import datetime as dt

    from ntm.engine.evaluate import gather

    for overlay in (None, OVERLAY):
        try:
            inp = gather(path, overlay=overlay)
        except Exception:  # noqa: BLE001 - an example that does not fit the overlay's ruleset
            continue
        slow, fast = _both(inp)
        assert fast == slow
        slow, fast = _both(inp, dt.date(2027, 1, 1))
        assert fast == slow


def test_outcome_objects_are_what_model_construct_builds():
    """outcome._new is model_construct without its per-field loop: same stored values, defaults, field order."""
    from ntm.engine import outcome as out

    full = dict(status="verified", note=None, set_by="national", source="national")
    a, b = out._new(out.ProvenanceOut, **full), out.ProvenanceOut.model_construct(**full)
    assert a.__dict__ == b.__dict__ and list(a.__dict__) == list(b.__dict__)
    assert a.model_fields_set == b.model_fields_set and a.model_dump() == b.model_dump()
    part = dict(text="x", document="QĐ")  # out of order, defaults missing
    a, b = out._new(out.CitationOut, **part), out.CitationOut.model_construct(**part)
    assert list(a.__dict__) == list(b.__dict__) and a.__dict__ == b.__dict__ and a == b
    assert a.model_fields_set == b.model_fields_set == {"text", "document"}
    with pytest.raises(TypeError):
        out._new(out.CitationOut, document="QĐ")
    with pytest.raises(TypeError):
        out._new(out.CitationOut, document="QĐ", text="x", nope=1)
