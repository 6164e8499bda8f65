"""`netoutcomes serve REGISTRY`: the web app over a registry (see docs/web.md).

Only typer at module level: the web stack (Starlette, uvicorn, argon2) is
imported inside the command so that `netoutcomes --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from netoutcomes.interfaces.cli.main import app


@app.command("serve")
def serve_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (this machine only by default)."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port."),
) -> None:
    """Serve the web app: login, patients, forms, screening, analysis, audit, export."""
    from netoutcomes.interfaces.web.serve import run_server

    run_server(registry, host, port)
