"""Where a gateway worker spends its CPU under load: py-spy samples, summarized.

``record`` samples one worker with py-spy (``--nonblocking``, so the worker is never
paused) while wrk drives it; idle time (the event loop waiting for sockets) is left out,
so the shares are shares of CPU time. ``summarize`` folds the raw stacks by package
(self time of the innermost frame) and by function (self and inclusive time).
"""

import re
import subprocess
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")

# First match wins: the package a frame's file belongs to.
PACKAGES = (
    ("strawberry/", "Strawberry"),
    ("graphql/", "graphql-core"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("asyncpg/", "asyncpg"),
    ("aiosqlite/", "aiosqlite"),
    ("sqlite3/", "sqlite3"),
    ("aiodataloader", "aiodataloader"),
    ("uvicorn/", "uvicorn"),
    ("httptools/", "uvicorn"),
    ("starlette/", "Starlette"),
    ("prometheus_client/", "prometheus_client"),
    ("gateway/", "gateway (this project)"),
    ("resolvers/", "resolvers (this project)"),
    ("loaders/", "loaders (this project)"),
    ("storage/", "storage (this project)"),
    ("asyncio/", "asyncio"),
    ("uvloop/", "asyncio"),
    ("json/", "json"),
    ("orjson", "json"),
    ("uuid.py", "uuid"),
    ("datetime.py", "datetime"),
    ("enum.py", "enum"),
    ("typing.py", "typing"),
    ("dataclasses.py", "dataclasses"),
    ("inspect.py", "inspect"),
)


def record(
    py_spy: str, pid: int, seconds: float, output: Path, rate: int = 200
) -> "subprocess.Popen[bytes]":
    """Start sampling ``pid`` for ``seconds`` into ``output`` (py-spy's raw format)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    argv = [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(output)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for frame in stack.split(";"):
        match = _FRAME.match(frame)
        frames.append((match["function"], match["file"]) if match else (frame, ""))
    return frames, int(count)


def package_of(file: str) -> str:
    for needle, name in PACKAGES:
        if needle in file:
            return name
    return "other"


def summarize(raw: Path, top: int = 15) -> str:
    """A text report of the samples in ``raw``."""
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        frames, count = parsed
        total += count
        function, file = frames[-1]
        by_package[package_of(file)] += count
        self_time[f"{function} ({file})"] += count
        for name in {f"{f} ({p})" for f, p in frames}:
            inclusive[name] += count
    if not total:
        return "no samples (was the worker busy? is ptrace allowed?)"

    def share(count: int) -> str:
        return f"{100 * count / total:5.1f}%"

    lines = [f"{total} samples of CPU time", "", "self time by package:"]
    lines += [f"  {share(c)}  {name}" for name, c in by_package.most_common()]
    lines += ["", f"top {top} functions by self time:"]
    lines += [f"  {share(c)}  {name}" for name, c in self_time.most_common(top)]
    lines += ["", f"top {top} functions of this project by inclusive time:"]
    own = [
        (name, c)
        for name, c in inclusive.most_common()
        if any(p in name for p in ("(gateway/", "(resolvers/", "(loaders/", "(storage/"))
    ]
    lines += [f"  {share(c)}  {name}" for name, c in own[:top]]
    lines += ["", f"top {top} library functions by inclusive time (below the event loop):"]
    skip = ("asyncio/", "uvloop", "runners.py", "<module>", "cli.py", "uvicorn/main.py")
    libraries = [
        (name, c)
        for name, c in inclusive.most_common()
        if not any(s in name for s in skip) and c < total
    ]
    lines += [f"  {share(c)}  {name}" for name, c in libraries[:top]]
    return "\n".join(lines)
