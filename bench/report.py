"""The table of a run, its targets (PASS/FAIL), its JSON and its chart."""

import json
from pathlib import Path
from typing import Any

Result = dict[str, Any]

MB = 1024 * 1024
RSS_LIMIT_MB = 250
SOAK_SLOPE_LIMIT_MB_PER_MIN = 1.0


def _find(results: list[Result], key: str) -> Result | None:
    return next((r for r in results if r["key"] == key), None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def comparisons(results: list[Result]) -> dict[str, str]:
    """The 'versus' text of each gateway row."""
    rps = {r["key"]: r["rps"] for r in results}
    text: dict[str, list[str]] = {}

    def add(key: str, value: float | None, what: str) -> None:
        if value is not None:
            text.setdefault(key, []).append(f"{value:.2f}x {what}")

    add("a/gateway", _ratio(rps.get("a/gateway"), rps.get("a/postgraphile")), "PostGraphile")
    add("a/gateway", _ratio(rps.get("a/gateway"), rps.get("a/baseline")), "baseline")
    add("b/gateway", _ratio(rps.get("b/gateway"), rps.get("b/postgraphile")), "PostGraphile")
    add("c/gateway", _ratio(rps.get("c/gateway"), rps.get("c/baseline")), "baseline")
    deep, first = _find(results, "e-deep/gateway"), _find(results, "e-first/gateway")
    if deep and first:
        add("e-deep/gateway", _ratio(deep["p50_ms"], first["p50_ms"]), "first page p50")
    deep, first = _find(results, "o-deep/gateway"), _find(results, "o-first/gateway")
    if deep and first:
        add("o-deep/gateway", _ratio(deep["p50_ms"], first["p50_ms"]), "first page p50")
    add("f-idle/gateway", _ratio(rps.get("f-idle/gateway"), rps.get("f/gateway")), "(f)")
    add("g/gateway", _ratio(rps.get("g/gateway"), rps.get("a/gateway")), "(a) on PostgreSQL")
    add("h/gateway", _ratio(rps.get("h/gateway"), rps.get("h/postgraphile")), "PostGraphile")
    return {key: ", ".join(parts) for key, parts in text.items()}


def targets(results: list[Result]) -> list[dict[str, Any]]:
    """The goal's targets (its floor), each with its measured value and PASS/FAIL.

    A value of None means not measured (its scenario, peer or column was left out).
    """
    a, a_peer = _find(results, "a/gateway"), _find(results, "a/postgraphile")
    b, b_peer = _find(results, "b/gateway"), _find(results, "b/postgraphile")
    c, c_base = _find(results, "c/gateway"), _find(results, "c/baseline")
    e, e_first = _find(results, "e-deep/gateway"), _find(results, "e-first/gateway")
    f, f_idle = _find(results, "f/gateway"), _find(results, "f-idle/gateway")
    g = _find(results, "g/gateway")
    o, o_first = _find(results, "o-deep/gateway"), _find(results, "o-first/gateway")
    estimate = _find(results, "t-estimate/gateway")
    i = _find(results, "i/gateway")
    rows = [
        (
            "(a) req/s >= 1.0 x PostGraphile",
            _ratio(a and a["rps"], a_peer and a_peer["rps"]),
            ">=",
            1.0,
        ),
        ("(a) gateway CPU ms/request <= 2.0", a and a.get("cpu_ms_per_request"), "<=", 2.0),
        ("(a) SQL statements/request <= 3", a and a.get("sql_per_request"), "<=", 3),
        (
            "(b) req/s >= 0.7 x PostGraphile",
            _ratio(b and b["rps"], b_peer and b_peer["rps"]),
            ">=",
            0.7,
        ),
        (
            "(c) req/s >= 1.0 x baseline",
            _ratio(c and c["rps"], c_base and c_base["rps"]),
            ">=",
            1.0,
        ),
        (
            "(e) deep page p50 <= 1.5 x first page p50",
            _ratio(e and e["p50_ms"], e_first and e_first["p50_ms"]),
            "<=",
            1.5,
        ),
        (
            "(o) deep page in another order p50 <= 1.5 x first page p50",
            _ratio(o and o["p50_ms"], o_first and o_first["p50_ms"]),
            "<=",
            1.5,
        ),
        ("(t) admin totalCountEstimate p50 ms <= 100", estimate and estimate["p50_ms"], "<=", 100),
        (
            "(f) with idle subscribers req/s >= 0.8 x (f) without",
            _ratio(f_idle and f_idle["rps"], f and f["rps"]),
            ">=",
            0.8,
        ),
        (
            "(g) SQLite req/s >= 0.5 x (a) on PostgreSQL",
            _ratio(g and g["rps"], a and a["rps"]),
            ">=",
            0.5,
        ),
    ]
    rows.append(("(i) 30 daily buckets p50 <= 50 ms", i and i["p50_ms"], "<=", 50))
    for scenario in "abcgh":
        r = _find(results, f"{scenario}/gateway")
        rows.append(
            (
                f"({scenario}) gateway p99 <= 2 x p50",
                _ratio(r and r["p99_ms"], r and r["p50_ms"]),
                "<=",
                2,
            )
        )
    gateway_rss = [r["rss_peak_mb"] for r in results if r["server"] == "gateway"]
    rows.append(
        (
            f"peak RSS per gateway worker <= {RSS_LIMIT_MB} MB (this run; trend: --soak)",
            max(gateway_rss) if gateway_rss else None,
            "<=",
            RSS_LIMIT_MB,
        )
    )
    checked = []
    for name, value, op, limit in rows:
        passed = value is not None and (value >= limit if op == ">=" else value <= limit)
        verdict = None if value is None else passed
        checked.append({"target": name, "value": value, "op": op, "limit": limit, "pass": verdict})
    return checked


def _db(name: str) -> str:
    return {"postgresql": "pg"}.get(name, name)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: list[Result]) -> str:
    versus = comparisons(results)
    header = (
        f"{'scenario':<36} {'server':<12} {'db':<6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'SQL/req':>7} {'CPU ms':>7} {'DB ms':>6} {'RSS MB':>7}  versus"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['label']:<36.36} {r['server']:<12} {_db(r['database']):<6} {_fmt(r['rps']):>8} "
            f"{_fmt(r['p50_ms']):>8} {_fmt(r['p99_ms']):>8} {r['errors']:>6} "
            f"{_fmt(r.get('sql_per_request'), 2):>7} {_fmt(r.get('cpu_ms_per_request')):>7} "
            f"{_fmt(r.get('db_cpu_ms_per_request')):>6} {_fmt(r['rss_peak_mb']):>7}  "
            f"{versus.get(r['key'], '')}"
        )
    return "\n".join(lines)


def targets_text(checked: list[dict[str, Any]]) -> str:
    lines = []
    for t in checked:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
        value = "not measured" if t["value"] is None else f"{t['value']:.2f}"
        lines.append(f"{verdict}  {t['target']:<62} {value} (limit {t['op']} {t['limit']})")
    return "\n".join(lines)


def markdown(results: list[Result], checked: list[dict[str, Any]]) -> str:
    """The table and targets as Markdown, for bench/README.md."""
    versus = comparisons(results)
    lines = [
        "| scenario | server | db | req/s | p50 ms | p99 ms | errors | SQL/req "
        "| CPU ms/req | DB CPU ms/req | RSS MB | versus |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['server']} | {r['database']} | {_fmt(r['rps'])} | "
            f"{_fmt(r['p50_ms'])} | {_fmt(r['p99_ms'])} | {r['errors']} | "
            f"{_fmt(r.get('sql_per_request'), 2)} | {_fmt(r.get('cpu_ms_per_request'))} | "
            f"{_fmt(r.get('db_cpu_ms_per_request'))} | {_fmt(r['rss_peak_mb'])} | "
            f"{versus.get(r['key'], '')} |"
        )
    lines += ["", "| target | measured | verdict |", "| --- | ---: | --- |"]
    for t in checked:
        verdict = {True: "PASS", False: "**FAIL**", None: "n/a"}[t["pass"]]
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        lines.append(f"| {t['target']} | {value} | {verdict} |")
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


_COLOURS = {"gateway": "#1f77b4", "postgraphile": "#d62728", "baseline": "#2ca02c"}


def chart(path: Path, results: list[Result], title: str) -> None:
    """Requests/s and p50/p99 latency per scenario and server, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['label']} [{r['server']}, {_db(r['database'])}]" for r in results]
    colours = [_COLOURS.get(r["server"], "grey") for r in results]
    positions = list(range(len(results)))[::-1]
    figure, (left, right, cost) = plt.subplots(
        1, 3, figsize=(19, 0.45 * len(results) + 2), sharey=True
    )
    left.barh(positions, [r["rps"] for r in results], color=colours)
    for y, r in zip(positions, results, strict=True):
        left.text(r["rps"], y, f" {r['rps']:,.0f}", va="center", fontsize=8)
    left.set_yticks(positions, labels, fontsize=8)
    left.set_xlabel("requests/s (higher is better)")
    height = 0.38
    right.barh(
        [p + height / 2 for p in positions],
        [r["p50_ms"] for r in results],
        height,
        color=colours,
        label="p50",
    )
    right.barh(
        [p - height / 2 for p in positions],
        [r["p99_ms"] for r in results],
        height,
        color=colours,
        alpha=0.45,
        label="p99",
    )
    right.set_xlabel("latency ms: p50 (solid), p99 (light); lower is better")
    right.legend(loc="lower right", fontsize=8)
    server_cpu = [r.get("cpu_ms_per_request") or 0 for r in results]
    db_cpu = [r.get("db_cpu_ms_per_request") or 0 for r in results]
    cost.barh(positions, server_cpu, color=colours, label="server process")
    cost.barh(positions, db_cpu, left=server_cpu, color="#999999", label="PostgreSQL backends")
    cost.set_xlabel("CPU ms per request (lower is better)")
    cost.legend(loc="lower right", fontsize=8)
    for axis in (left, right, cost):
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def slope_mb_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var * 60


def soak_chart(path: Path, series: dict[int, list[tuple[float, float]]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 4))
    for pid, points in series.items():
        axis.plot(
            [t / 60 for t, _ in points], [m for _, m in points], marker=".", label=f"pid {pid}"
        )
    axis.axhline(RSS_LIMIT_MB, color="red", linestyle="--", label=f"{RSS_LIMIT_MB} MB")
    axis.set_xlabel("minutes of load")
    axis.set_ylabel("RSS MB")
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
