"""The content hash of a ruleset or overlay, and the YAML an import writes.

The file hash (`LoadedRuleset.sha256`) changes with comments and layout; the content hash is of what the
schema holds (every field, defaults included, canonical JSON), so a workbook round trip can be shown exact.
"""

from __future__ import annotations

import datetime as dt

import yaml
from pydantic import BaseModel

from ntm.audit.canonical import digest


def content_hash(model: BaseModel) -> str:
    return digest(model.model_dump(mode="json", by_alias=True))


class _Dumper(yaml.SafeDumper):
    """Block style, Unicode kept, no aliases (a ruleset repeats small mappings; anchors would only confuse)."""

    def ignore_aliases(self, data):
        return True


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(dt.date, lambda d, v: d.represent_scalar("tag:yaml.org,2002:timestamp", v.isoformat()))


def to_yaml(model: BaseModel, header: str = "") -> str:
    """The model as YAML: defaults left out, the schema's key order, dates as YAML dates."""
    data = model.model_dump(mode="python", by_alias=True, exclude_defaults=True)
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + body
