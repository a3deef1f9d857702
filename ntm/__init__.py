"""ntm-rules: Vietnam's New Rural Development (Nông thôn mới) criteria as code, decided by durable-rules.

Use it as a library::

    import ntm
    outcome = ntm.evaluate("xa.yaml", overlay="tinh.yaml")      # a path, a mapping or a Dossier model
    outcome.tier("standard").status                              # 'met' | 'not_met' | 'indeterminate'

The functions live in :mod:`ntm.api` and are imported on first use, so ``import ntm`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "evaluate",
    "evaluate_json",
    "whatif",
    "plan",
    "batch",
    "verify",
    "rulesets",
    "load_inputs",
    "merge",
    "RulesetInfo",
    "Outcome",
    "Dossier",
    "NtmInputError",
    "NtmError",
]

_FROM = {
    "evaluate": "ntm.api", "evaluate_json": "ntm.api", "whatif": "ntm.api", "plan": "ntm.api", "batch": "ntm.api",
    "verify": "ntm.api", "rulesets": "ntm.api", "load_inputs": "ntm.api", "merge": "ntm.api", "RulesetInfo": "ntm.api",
    "Outcome": "ntm.engine.outcome", "Dossier": "ntm.criteria.dossier",
    "NtmInputError": "ntm.errors", "NtmError": "ntm.errors",
}


def __getattr__(name: str):
    """Lazy public names: `ntm --help` must not pay for pydantic models it never uses."""
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'ntm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
