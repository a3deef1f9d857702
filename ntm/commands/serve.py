# ruff: noqa: B008  (typer declares options as argument defaults)
"""`ntm serve`: the local web application and HTTP API, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import typer

from ntm.cli import app
from ntm.errors import NtmInputError


@app.command()
def serve(
    port: int = typer.Option(8000, "--port", "-p", help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. The default is this computer "
                             "only; give 0.0.0.0 to expose the server to the network deliberately."),
    register: str | None = typer.Option(None, "--register", help="Decision register (SQLite; default "
                                        "$NTM_REGISTER or ./ntm-register.sqlite)."),
    token_file: str | None = typer.Option(None, "--token-file", help="Require this bearer token (first line of "
                                          "the file) on every page and API call."),
    key: str | None = typer.Option(None, "--key", help="Council private key: records made here are signed."),
    signer: str | None = typer.Option(None, "--signer", help="The signing council's name, shown in records."),
    overlay: list[str] = typer.Option([], "--overlay", help="A provincial overlay file to offer (repeatable)."),
    workers: int | None = typer.Option(None, "--workers", help="Engine worker processes (crash and hang "
                                       "isolated; default: the number of CPUs). 0 evaluates in the server "
                                       "process: faster, but a crash in the engine stops the server."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds one evaluation may take before its worker "
                                  "is stopped."),
    max_upload_mb: float = typer.Option(5.0, "--max-upload", help="Largest request body, in MB."),
    max_rows: int = typer.Option(2000, "--max-rows", help="Most rows of one batch upload."),
) -> None:
    """Start the web application (Vietnamese first, English by a switch) and the HTTP API."""
    import os

    from ntm.audit.register import default_path
    from ntm.batch.pool import cpu_count
    from ntm.web.config import WebConfig, overlay_entries, read_token

    if not 0 < port < 65536:
        raise NtmInputError.single(f"{port} is not a port", field="--port", expected="1..65535")
    if workers is not None and workers < 0:
        raise NtmInputError.single(f"{workers} is not a number of workers", field="--workers", expected="0 or more")
    from ntm.batch.run import check_timeout

    check_timeout(timeout)
    if not 0 < max_upload_mb <= 1e6 or max_rows < 1:  # `not 0 < x` also refuses nan
        raise NtmInputError.single("limits must be positive", field="--max-upload/--max-rows")
    if signer and not key:
        raise NtmInputError.single("a signer needs a key", field="--signer", hint="add --key FILE")
    if key:
        from ntm.audit.keys import load_private

        load_private(key)  # a wrong key file is reported now, not on the first record
    n = cpu_count() if workers is None else workers
    loopback = host in ("127.0.0.1", "localhost", "::1")
    cfg = WebConfig(register=os.path.abspath(register or default_path()),
                    token=read_token(token_file) if token_file else None, key=key, signer=signer,
                    overlays=overlay_entries(overlay), workers=n, timeout=timeout,
                    max_upload=int(max_upload_mb * 1024 * 1024), max_rows=max_rows, batch_jobs=max(1, n),
                    # on loopback, answer only loopback names: a web page elsewhere cannot reach the server by
                    # pointing a DNS name at 127.0.0.1 (DNS rebinding)
                    allowed_hosts=("127.0.0.1", "localhost", "::1", "[::1]") if loopback else ("*",))
    if not loopback and cfg.token is None:
        typer.echo(f"warning: listening on {host} without --token-file: anyone who can reach this address can "
                   "use the server", err=True)
    import uvicorn

    from ntm.web.app import create_app

    typer.echo(f"ntm: http://{'[' + host + ']' if ':' in host else host}:{port}/  (Ctrl-C stops it)", err=True)
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning", access_log=False)
