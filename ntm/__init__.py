"""ntm-rules: Vietnam's New Rural Development (Nông thôn mới) criteria as code, decided by durable-rules."""

__version__ = "0.1.0"
