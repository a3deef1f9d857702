"""`ntm schema`: JSON Schemas for editors and other programs."""

from __future__ import annotations

import json
import sys

import typer

from ntm.cli import SchemaKind, app


@app.command()
def schema(kind: SchemaKind = typer.Argument(..., help="Which JSON Schema to print.")) -> None:
    """Print the JSON Schema of rulesets, dossiers, overlays, outcomes, what-if results or plans (for editors
    and other programs)."""
    from ntm.criteria.dossier import Dossier
    from ntm.criteria.model import Ruleset
    from ntm.criteria.overlay import Overlay
    from ntm.engine.outcome import Outcome
    from ntm.engine.plan_result import PlanResult
    from ntm.engine.whatif import WhatIfResult

    model = {"ruleset": Ruleset, "dossier": Dossier, "overlay": Overlay, "outcome": Outcome,
             "whatif": WhatIfResult, "plan": PlanResult}[kind.value]
    results = (SchemaKind.outcome, SchemaKind.whatif, SchemaKind.plan)
    mode = "serialization" if kind in results else "validation"
    doc = model.model_json_schema(by_alias=True, mode=mode)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = f"https://ntm-rules.invalid/schema/{kind.value}.json"
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
