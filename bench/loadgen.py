"""Load from a separate process: wrk with the Lua scripts in bench/lua."""

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import http_request

LUA = Path(__file__).resolve().parent / "lua"
_STATEMENTS = re.compile(rb"^session_gateway_db_statements_total\s+([0-9.e+]+)\s*$", re.M)


@dataclass(frozen=True)
class Request:
    """One HTTP request of a scenario: GET with a query, or POST with a JSON body."""

    method: str
    path: str
    body: dict[str, Any] | None = None

    def spec(self) -> str:
        body = "" if self.body is None else json.dumps(self.body, separators=(",", ":"))
        return f"{self.method} {self.path}\n{body}".rstrip("\n")

    def raw_body(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Load:
    """How hard and how long: wrk's threads, connections and duration."""

    threads: int
    connections: int
    seconds: float
    timeout_seconds: float = 10


def run_wrk(
    wrk: str,
    port: int,
    load: Load,
    token: str | None,
    requests: list[Request] | None = None,
    devices: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Run wrk once against 127.0.0.1:port; its summary (see lua/report.lua)."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        work = Path(scratch)
        env = {
            **os.environ,
            "BENCH_LUA_DIR": str(LUA),
            "BENCH_WRK_OUT": str(work / "summary.json"),
            "BENCH_THREADS": str(load.threads),
            "BENCH_TOKEN": token or "",
        }
        if devices is not None:
            script = LUA / "lifecycle.lua"
            (work / "devices").write_text("".join(f"{d} {u}\n" for d, u in devices))
            env["BENCH_DEVICES"] = str(work / "devices")
        else:
            assert requests
            script = LUA / "request.lua"
            (work / "spec").write_text("\n--\n".join(r.spec() for r in requests) + "\n")
            env["BENCH_SPEC"] = str(work / "spec")
        argv = [wrk, "-t", str(load.threads), "-c", str(load.connections)]
        argv += ["-d", f"{load.seconds:g}s", "--timeout", f"{load.timeout_seconds:g}s"]
        argv += ["-s", str(script), f"http://127.0.0.1:{port}"]
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=load.seconds + 120
        )
        summary_path = work / "summary.json"
        if result.returncode != 0 or not summary_path.exists():
            raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr[-2000:]}")
        summary: dict[str, Any] = json.loads(summary_path.read_text())
    summary["stderr"] = result.stderr.strip()[-500:]
    return summary


def statements(port: int) -> float | None:
    """The gateway's SQL statement counter (of the worker that answers this request)."""
    status, body = http_request(port, "GET", "/metrics", timeout=10)
    if status != 200:
        return None
    match = _STATEMENTS.search(body)
    return float(match.group(1)) if match else None
