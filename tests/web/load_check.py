"""Load check (not a test, not timed in CI): 50 concurrent page loads on the demo registry.

    .venv/bin/python tests/web/load_check.py [--requests 50]

Builds the SYNTHETIC demo registry in a temporary folder, starts `netoutcomes serve`
on a free port, signs an analyst in, then loads the patients list, timelines, the
screening page and the home page, all at once, and prints the errors and the
latency percentiles. The figures in docs/web.md come from this script.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from netoutcomes.registry.users import add_user
from netoutcomes.study.run import build_demo_registry

PAGES = ["/", "/patients", "/screening", "/screening/verdicts"] + [
    f"/patients/SYN-{i:03d}" for i in range(1, 40)
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(base: str, n: int) -> tuple[list[float], list[str]]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        data = {"csrf_token": token.group(1), "name": "load-analyst", "password": "load-check-2026"}
        assert (await client.post("/login", data=data)).status_code in (200, 303)
        await client.get("/patients")  # the first screening is computed once, then cached

        async def one(url: str) -> tuple[float, str | None]:
            started = time.perf_counter()
            response = await client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            return (
                elapsed,
                None if response.status_code == 200 else f"{url}: {response.status_code}",
            )

        results = await asyncio.gather(*(one(PAGES[i % len(PAGES)]) for i in range(n)))
    return [r[0] for r in results], [r[1] for r in results if r[1]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        registry = build_demo_registry(Path(tmp) / "registry.duckdb")
        add_user(registry, "load-analyst", "analyst", "load-check-2026", by="load check")
        port = _free_port()
        code = "from netoutcomes.interfaces.cli.main import main; main()"
        server = subprocess.Popen(
            [sys.executable, "-c", code, "serve", str(registry), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            times, errors = asyncio.run(_run(f"http://127.0.0.1:{port}", args.requests))
        finally:
            server.terminate()
            server.wait(timeout=10)
    times.sort()
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    print(f"{len(times)} concurrent page loads, {len(errors)} errors")
    print(f"median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms")
    for error in errors:
        print("error:", error)


if __name__ == "__main__":
    main()
