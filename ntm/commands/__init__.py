"""CLI commands, one module per area; each registers itself on `ntm.cli.app` when imported."""
