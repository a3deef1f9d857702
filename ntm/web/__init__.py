"""`ntm serve`: the local web application and the HTTP API (FastAPI, Jinja2 templates, a vendored htmx)."""
