"""Run the web app with uvicorn, holding the registry (one writer) while it runs."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import uvicorn

from netoutcomes.errors import InputError
from netoutcomes.interfaces.web.app import create_app
from netoutcomes.registry.server_lock import serving

# uvicorn's own access log writes every path and query (a patient id is in the path):
# it is off, and the app logs the route's pattern instead (app.Headers).
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "uvicorn": {"handlers": ["err"], "level": "INFO"},
        "uvicorn.error": {"level": "INFO"},
        "netoutcomes.web": {"handlers": ["err"], "level": "INFO"},
    },
}


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_server(registry: str | Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    path = Path(registry)
    if not path.is_file():
        raise InputError(f"{path}: no such registry file")
    url = f"http://{host}:{port}"
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: with this
    # handler that ends in SystemExit, so the lock file below is removed on the way out.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with serving(path, url):
        app = create_app(path)
        log = logging.getLogger("netoutcomes.web")
        if host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("listening on %s: reachable from other machines; use HTTPS in front", host)
        uvicorn.run(
            app,
            host=host,
            port=port,
            access_log=False,
            log_config=LOG_CONFIG,
            server_header=False,
        )
