"""``python -m bench.run``: the gateway against PostGraphile 5 and a hand-written limit.

One command: installs what the bench needs (pinned), seeds PostgreSQL and SQLite with the
gateway's own seed command (once), starts every server with production settings, drives
one at a time with wrk from a separate process (warm-up, then measurement; a scenario's
servers one right after another, so that drift does not skew their ratio), and prints one
table with its targets. The same goes to bench/results/latest.json and latest.png.
``--soak 600`` instead runs ten minutes of mixed load and reports the memory trend.
See bench/README.md.
"""

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from bench import tools
from bench.tools import BENCH, log

RESULTS = BENCH / "results"
DATA = BENCH / "data"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/sgw_bench"
DEFAULT_SQLITE = "sqlite+aiosqlite:///bench/data/sgw_bench.db"
SCENARIOS = "abcdefghiot"
LIVE_PROOF = "l"  # in --only: the live update proof at full size (bench.live_proof)
THREE_LEVELS_LABEL = "(h) GraphQL three-level catalog read"
DAILY_STATS_LABEL = "(i) GraphQL sessionStats, 30 daily buckets"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of warm-up per scenario")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per scenario")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--sessions", type=int, default=1_000_000, help="PostgreSQL sessions")
    parser.add_argument(
        "--sqlite-sessions",
        type=int,
        default=1_000_000,
        help="SQLite sessions for (g); 0 skips (g)",
    )
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--sqlite-url", default=DEFAULT_SQLITE)
    parser.add_argument("--reseed", action="store_true", help="drop both databases and seed again")
    parser.add_argument(
        "--deep-page",
        type=int,
        default=9_800,
        help="(e): page number at limit=100 of the ended sessions (9,810 pages of 1M seeded)",
    )
    parser.add_argument(
        "--ordered-deep-page",
        type=int,
        default=5_000,
        help="(o): page number at first=100 of the ended sessions by end time (walked once)",
    )
    parser.add_argument("--devices", type=int, default=200, help="(f): free devices to cycle")
    parser.add_argument(
        "--idle-subscribers",
        type=int,
        default=1000,
        help="(f) again with this many idle subscriptions connected (over 40 sockets); 0 skips",
    )
    parser.add_argument(
        "--only",
        default=SCENARIOS + LIVE_PROOF,
        help=f"scenarios to run, a subset of {SCENARIOS}, and {LIVE_PROOF} for the live "
        "update proof (bench.live_proof)",
    )
    parser.add_argument("--no-peers", action="store_true", help="skip PostGraphile and baseline")
    parser.add_argument(
        "--profile",
        type=float,
        default=0,
        metavar="SECONDS",
        help="also sample the gateway with py-spy for SECONDS under (a) and under (c)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        default=0,
        metavar="SECONDS",
        help="instead of the scenarios: mixed load for SECONDS, RSS sampled every 10 s",
    )
    parser.add_argument(
        "--scaling",
        default="",
        metavar="COUNTS",
        help="instead of the scenarios: (a) and (c) with each number of workers in COUNTS "
        "(e.g. 1,2,4), saying whether the cores or the database bind (results/scaling.json)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="with --scaling: run each worker count again reading from a streaming replica "
        "of the local cluster (pg_basebackup -R, as the tests make one)",
    )
    parser.add_argument(
        "--max-minutes", type=float, default=60, help="stop everything after this long"
    )
    return parser


class Bench:
    """One run: its options, its fixtures, and the results so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        from bench import datasets, loadgen

        self.args = args
        self.load = loadgen.Load(args.threads, args.connections, args.duration)
        self.warmup = loadgen.Load(args.threads, args.connections, args.warmup)
        self.wrk = tools.ensure_wrk()
        self.results: list[dict[str, Any]] = []
        self.checks: dict[str, str] = {}
        self.answers: dict[str, Any] = {}
        self.logs = RESULTS / "logs"
        self.pg_url = args.database_url
        self.live: dict[str, Any] | None = None
        self.dsn = datasets.plain_dsn(args.database_url)
        self.database = self.dsn.rsplit("/", 1)[-1]
        self.sessions = args.sessions  # the sessions seeded, once the database is prepared

    # -- measuring

    def measure(self, server: Any, monitor: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """``_measure`` with the server's memory monitor sampling (an idle one sleeps)."""
        with monitor.sampling():
            return self._measure(server, monitor, *args, **kwargs)

    def _measure(
        self,
        server: Any,
        monitor: Any,
        key: str,
        label: str,
        database: str,
        token: str | None,
        requests: list[Any] | None = None,
        devices: list[tuple[str, str]] | None = None,
        prepare: Any = None,
    ) -> dict[str, Any]:
        """Warm up, then measure one scenario; ``prepare()`` runs before each wrk run."""
        from bench import loadgen

        scenario, server_name = key.split("/")
        scenario = scenario[0]  # e-first, e-deep: both (e)
        log(f"{key}: {label} — warm-up {self.args.warmup:g} s, measure {self.args.duration:g} s")
        monitor.reset_peak()
        if self.args.warmup > 0:
            if prepare:
                prepare()
            loadgen.run_wrk(self.wrk, server.port, self.warmup, token, requests, devices)
        if prepare:
            prepare()
        count_sql = server_name == "gateway" and self.args.workers == 1
        before = loadgen.statements(server.port) if count_sql else None
        cpu_before = _cpu_seconds(server)
        db_before = monitor.backend_cpu()
        machine_before = _machine_busy_seconds()
        summary = loadgen.run_wrk(self.wrk, server.port, self.load, token, requests, devices)
        cpu = _cpu_seconds(server) - cpu_before
        db_cpu = monitor.backend_cpu() - db_before
        machine_busy = _machine_busy_seconds() - machine_before
        after = loadgen.statements(server.port) if count_sql else None
        peak = monitor.peak()
        requests_done = summary["requests"]
        seconds = summary["duration_us"] / 1e6
        errors = summary["errors"]
        latency = summary["latency_us"]
        sql = None
        if before is not None and after is not None and requests_done:
            sql = (after - before) / requests_done
        result = {
            "key": key,
            "scenario": scenario,
            "label": label,
            "server": server_name,
            "database": database,
            "requests": requests_done,
            "seconds": round(seconds, 3),
            "rps": requests_done / seconds if seconds else 0.0,
            "p50_ms": latency["p50"] / 1000,
            "p90_ms": latency["p90"] / 1000,
            "p99_ms": latency["p99"] / 1000,
            "mean_ms": latency["mean"] / 1000,
            "max_ms": latency["max"] / 1000,
            "errors": sum(errors.values()),
            "error_detail": errors,
            "sql_per_request": sql,
            "cpu_ms_per_request": cpu * 1000 / requests_done if requests_done else None,
            "db_cpu_ms_per_request": db_cpu * 1000 / requests_done
            if requests_done and monitor.database
            else None,
            "bytes_per_request": summary["bytes"] / requests_done if requests_done else None,
            "rss_peak_mb": max(peak.values(), default=0) / 2**20,
            "rss_peak_mb_per_worker": [round(v / 2**20, 1) for v in peak.values()],
            "workers": self.args.workers if server_name == "gateway" else 1,
            "error_samples": summary.get("error_samples", []),
            "load_average_1min": round(os.getloadavg()[0], 2),
            # Cores busy while wrk ran: the gateway's workers, PostgreSQL's backends of
            # the bench database, and the whole machine (wrk and everyone else included).
            "gateway_cores": cpu / seconds if seconds else None,
            "db_cores": db_cpu / seconds if seconds and monitor.database else None,
            "machine_cores": machine_busy / seconds if seconds else None,
        }
        log(
            f"{key}: {result['rps']:.1f} req/s, p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, "
            f"SQL/req {'-' if sql is None else f'{sql:.2f}'}, "
            f"CPU {result['cpu_ms_per_request'] or 0:.1f} ms/req "
            f"(PostgreSQL {result['db_cpu_ms_per_request'] or 0:.1f}), "
            f"RSS {result['rss_peak_mb']:.0f} MB"
        )
        self.results.append(result)
        return result

    def phase(self, name: str, run: Any, *args: Any) -> None:
        """Run one phase; a failure is reported and the other phases still run."""
        try:
            run(*args)
        except (Exception, SystemExit) as error:
            log(f"{name} failed: {error!r}")
            self.check(f"{name}: the phase ran", f"{type(error).__name__}: {error}")

    def check(self, name: str, problem: str | None) -> None:
        self.checks[name] = problem or "ok"
        if problem:
            log(f"CHECK FAILED {name}: {problem}")

    def wants(self, scenario: str) -> bool:
        return scenario in self.args.only

    # -- the phases

    # -- the read scenarios: every server up at once, each scenario's servers in a row

    def reads(self, token: str, fx: Any, peers: bool, sqlite: bool) -> None:
        """Measure the read scenarios with every server up, a scenario's servers one after another.

        This machine's speed drifts by up to a third within minutes, so a ratio is only as
        good as the nearness of its two measurements: PostGraphile's and the baseline's (a)
        run right after the gateway's, (g) right before it. A server not being measured
        sits idle, its monitor paused.
        """
        from bench import servers

        with contextlib.ExitStack() as stack:
            up: dict[str, tuple[Any, Any]] = {}

            def start(name: str, server: Any, database: str | None) -> None:
                try:
                    running = servers.running(server, database=database, paused=True)
                    up[name] = stack.enter_context(running)
                except (Exception, SystemExit) as error:
                    self.check(f"{name}: the server starts", f"{type(error).__name__}: {error}")

            gateway = servers.gateway(self.pg_url, self.args.workers, self.logs)
            start("gateway", gateway, self.database)
            if "gateway" not in up:
                return
            if peers and any(self.wants(s) for s in "abh"):
                start("postgraphile", servers.postgraphile(self.dsn, self.logs), self.database)
            if peers and any(self.wants(s) for s in "ac"):
                start("baseline", servers.baseline(self.dsn, self.logs), self.database)
            if sqlite:
                name = "gateway-sqlite"
                start(
                    "sqlite",
                    servers.gateway(self.args.sqlite_url, self.args.workers, self.logs, name),
                    None,
                )
            steps = {
                "a": self.read_a,
                "b": self.read_b,
                "c": self.read_c,
                "d": self.read_d,
                "e": self.read_e,
                "h": self.read_h,
                "i": self.read_i,
                "o": lambda up, token, fx: self.ordered(*up["gateway"], token),
                "t": lambda up, token, fx: self.counts(*up["gateway"], token),
            }
            for scenario, step in steps.items():
                if self.wants(scenario) or (scenario == "a" and "sqlite" in up):
                    self.phase(f"({scenario})", step, up, token, fx)

    def read_a(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(a) on the gateway, (g) the same on SQLite, then PostGraphile and the baseline."""
        from bench import datasets, servers
        from bench import scenarios as sc

        gw, monitor = up["gateway"]
        request = sc.frontend_list(fx.location_id)
        answer = servers.http_json(gw.port, "POST", "/graphql", request.body, token)
        self.check("a: gateway answers without errors", sc.check_graphql(answer))
        ids = sc.frontend_ids(answer)
        self.check("a: 50 sessions", None if len(ids) == 50 else f"{len(ids)} sessions")
        self.answers["a"] = answer["data"]
        label = "(a) GraphQL frontend list"
        if "sqlite" in up:
            lite, lite_monitor = up["sqlite"]
            lite_token = datasets.admin_token(self.args.sqlite_url)
            answer = servers.http_json(lite.port, "POST", "/graphql", request.body, lite_token)
            self.check("g: gateway on SQLite answers without errors", sc.check_graphql(answer))
            self.check(
                "g: SQLite answers the same JSON as PostgreSQL",
                sc.compare("data", self.answers["a"], answer.get("data")),
            )
            label_g = "(g) = (a) on SQLite"
            self.measure(lite, lite_monitor, "g/gateway", label_g, "sqlite", lite_token, [request])
        if not self.wants("a"):
            return
        self.measure(gw, monitor, "a/gateway", label, "postgresql", token, [request])
        if "postgraphile" in up:
            peer, peer_monitor = up["postgraphile"]
            pg_request = sc.frontend_list_postgraphile(fx.location_id)
            answer = servers.http_json(peer.port, "POST", "/graphql", pg_request.body)
            self.check("a: PostGraphile answers without errors", sc.check_graphql(answer))
            self.check(
                "a: PostGraphile lists the same sessions",
                sc.compare("ids", ids, sc.postgraphile_ids(answer)),
            )
            self.measure(
                peer, peer_monitor, "a/postgraphile", label, "postgresql", None, [pg_request]
            )
        if "baseline" in up:
            base, base_monitor = up["baseline"]
            answer = servers.http_json(base.port, "POST", "/graphql", request.body, token)
            self.check(
                "a: baseline answers the same JSON",
                sc.compare("data", self.answers["a"], answer["data"]),
            )
            self.measure(base, base_monitor, "a/baseline", label, "postgresql", token, [request])
        self.profile(gw, "a", token, [request])

    def read_b(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(b) a node with every field, on the gateway then on PostGraphile."""
        from bench import scenarios as sc
        from bench import servers

        gw, monitor = up["gateway"]
        label = "(b) GraphQL node, every field"
        request = sc.node(fx.session_id)
        answer = servers.http_json(gw.port, "POST", "/graphql", request.body, token)
        self.check("b: gateway answers without errors", sc.check_graphql(answer))
        found = (answer.get("data") or {}).get("node") or {}
        self.check("b: the session", None if found.get("uuid") == fx.session_id else "not found")
        self.measure(gw, monitor, "b/gateway", label, "postgresql", token, [request])
        if "postgraphile" in up:
            peer, peer_monitor = up["postgraphile"]
            request = sc.node_postgraphile(fx.session_id)
            answer = servers.http_json(peer.port, "POST", "/graphql", request.body)
            found = (answer.get("data") or {}).get("sessionByRowId") or {}
            self.check(
                "b: PostGraphile finds the session",
                None if found.get("rowId") == fx.session_id else f"{answer!r:.200}",
            )
            self.measure(peer, peer_monitor, "b/postgraphile", label, "postgresql", None, [request])

    def read_c(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(c) the REST v2 list, on the gateway then on the baseline."""
        from bench import scenarios as sc
        from bench import servers

        gw, monitor = up["gateway"]
        label = "(c) REST v2 list, limit 100"
        answer = servers.http_json(gw.port, "GET", sc.V2_LIST.path, token=token)
        count = len(answer["data"])
        self.check("c: 100 sessions", None if count == 100 else f"{count}")
        self.measure(gw, monitor, "c/gateway", label, "postgresql", token, [sc.V2_LIST])
        if "baseline" in up:
            base, base_monitor = up["baseline"]
            body = servers.http_json(base.port, "GET", sc.V2_LIST.path, token=token)
            self.check("c: baseline answers the same JSON", sc.compare("body", answer, body))
            self.measure(base, base_monitor, "c/baseline", label, "postgresql", token, [sc.V2_LIST])
        self.profile(gw, "c", token, [sc.V2_LIST])

    def read_d(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(d) the REST v1 list."""
        from bench import scenarios as sc
        from bench import servers

        gw, monitor = up["gateway"]
        answer = servers.http_json(gw.port, "GET", sc.V1_LIST.path, token=token)
        count = len(answer["data"])
        self.check("d: 100 sessions", None if count == 100 else f"{count}")
        label = "(d) REST v1 list, page_size 100"
        self.measure(gw, monitor, "d/gateway", label, "postgresql", token, [sc.V1_LIST])

    def read_e(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(e) the first page of the ended sessions and one 9,800 pages deep."""
        from bench import scenarios as sc
        from bench import servers

        gw, monitor = up["gateway"]
        first = sc.ended_page()
        cursor, page = self.deep_cursor(gw.port, token)
        deep = sc.ended_page(token=cursor)
        for name, request in (("first", first), ("deep", deep)):
            answer = servers.http_json(gw.port, "GET", request.path, token=token)
            count = len(answer["data"])
            self.check(f"e: 100 sessions on the {name} page", None if count == 100 else f"{count}")
        label = "(e) REST v2 ended, first page"
        self.measure(gw, monitor, "e-first/gateway", label, "postgresql", token, [first])
        label = f"(e) REST v2 ended, page {page:,}"
        self.measure(gw, monitor, "e-deep/gateway", label, "postgresql", token, [deep])

    def read_h(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(h) the three-level catalog read, on the gateway then on PostGraphile."""
        from bench import scenarios as sc
        from bench import servers

        gw, monitor = up["gateway"]
        request = sc.THREE_LEVELS_REQUEST
        answer = servers.http_json(gw.port, "POST", "/graphql", request.body, token)
        self.check("h: gateway answers without errors", sc.check_graphql(answer))
        devices = [len(d) for d in sc.three_levels_devices(answer)]
        self.check(
            "h: 20 locations of 10 devices",
            None if devices == [10] * 20 else f"devices per location: {devices}",
        )
        label = THREE_LEVELS_LABEL
        self.measure(gw, monitor, "h/gateway", label, "postgresql", token, [request])
        if "postgraphile" not in up:
            return
        peer, peer_monitor = up["postgraphile"]
        request = sc.THREE_LEVELS_POSTGRAPHILE_REQUEST
        theirs = servers.http_json(peer.port, "POST", "/graphql", request.body)
        self.check("h: PostGraphile answers without errors", sc.check_graphql(theirs))
        self.check(
            "h: PostGraphile lists the same 20 locations in the same order",
            sc.compare(
                "locations",
                sc.three_levels_locations(answer),
                sc.three_levels_locations_postgraphile(theirs),
            ),
        )
        self.check(
            "h: PostGraphile has the same devices and current sessions",
            sc.compare(
                "devices",
                sc.three_levels_devices(answer),
                sc.three_levels_devices_postgraphile(theirs),
            ),
        )
        self.measure(peer, peer_monitor, "h/postgraphile", label, "postgresql", None, [request])

    def read_i(self, up: dict[str, Any], token: str, fx: Any) -> None:
        """(i) sessionStats in 30 daily buckets."""
        from bench import scenarios as sc
        from bench import servers

        gw, monitor = up["gateway"]
        found = servers.http_json(
            gw.port, "POST", "/graphql", sc.last_reference(fx.location_id).body, token
        )
        self.check("i: gateway answers without errors", sc.check_graphql(found))
        last = found["data"]["sessionStats"][0]["lastReferenceTime"]
        request = sc.daily_stats(fx.location_id, last)
        answer = servers.http_json(gw.port, "POST", "/graphql", request.body, token)
        self.check("i: gateway answers without errors", sc.check_graphql(answer))
        days = len((answer.get("data") or {}).get("sessionStats") or [])
        # 30 UTC days hold 30 or 31 local days (the edges fall inside local days).
        self.check("i: 30 daily buckets", None if days in (30, 31) else f"{days} buckets")
        self.measure(gw, monitor, "i/gateway", DAILY_STATS_LABEL, "postgresql", token, [request])

    def ordered(self, gw: Any, monitor: Any, token: str) -> None:
        """(o): the first page and a deep one of a list in another order than the default."""
        from bench import scenarios as sc
        from bench import servers

        first = sc.ordered_page()
        cursor, page = self.ordered_cursor(gw.port, token)
        deep = sc.ordered_page(cursor)
        for name, request in (("first", first), ("deep", deep)):
            answer = servers.http_json(gw.port, "POST", "/graphql", request.body, token)
            self.check(
                f"o: 50 ended sessions by end time on the {name} page",
                sc.check_ordered_page(answer),
            )
        label = "(o) GraphQL by end time, first page"
        self.measure(gw, monitor, "o-first/gateway", label, "postgresql", token, [first])
        label = f"(o) GraphQL by end time, page {page:,}"
        self.measure(gw, monitor, "o-deep/gateway", label, "postgresql", token, [deep])

    def counts(self, gw: Any, monitor: Any, token: str) -> None:
        """(t): an admin's count of every session, exact and estimated."""
        from bench import scenarios as sc
        from bench import servers

        for key, field, request, tolerance in (
            ("t-exact", "totalCount", sc.TOTAL_COUNT_REQUEST, 0.0),
            ("t-estimate", "totalCountEstimate", sc.TOTAL_COUNT_ESTIMATE_REQUEST, 0.1),
        ):
            answer = servers.http_json(gw.port, "POST", "/graphql", request.body, token)
            self.check(
                f"t: {field} of {self.sessions:,} sessions",
                sc.check_count(answer, field, self.sessions, tolerance),
            )
            label = f"(t) GraphQL admin {field}"
            self.measure(gw, monitor, f"{key}/gateway", label, "postgresql", token, [request])

    def gateway_lifecycle(self, token: str, fx: Any) -> None:
        from bench import datasets, live_idle, servers
        from bench import scenarios as sc

        needed = 2 * self.args.connections
        if len(fx.devices) < needed:
            raise SystemExit(f"(f) needs {needed} free devices, found {len(fx.devices)}")
        server = servers.gateway(self.pg_url, self.args.workers, self.logs, "gateway-f")
        server.env.update(live_idle.SERVER_SETTINGS)  # the idle subscribers' sockets, uncapped
        device_ids = [device for device, _ in fx.devices]

        def end_open_sessions() -> None:
            # wrk stops with sessions started and not ended yet: end them through the API,
            # so every device of the pool is free again. Starts still in flight when wrk
            # stopped commit a moment later: wait for them first.
            time.sleep(2)
            for session_id in datasets.open_sessions(self.pg_url, device_ids):
                answer = servers.http_json(
                    gw.port, "POST", "/graphql", sc.end(session_id).body, token
                )
                self.check("f: leftover sessions end", sc.check_graphql(answer))

        with servers.running(server, database=self.database) as (gw, monitor):
            self.measure(
                gw,
                monitor,
                "f/gateway",
                "(f) lifecycle: start + end mutations",
                "postgresql",
                token,
                devices=fx.devices,
                prepare=end_open_sessions,
            )
            end_open_sessions()
            subscribers = self.args.idle_subscribers
            if subscribers > 0:
                tokens = live_idle.idle_tokens(self.pg_url)
                with live_idle.IdleSubscribers(gw.port, tokens, subscribers) as idle:
                    result = self.measure(
                        gw,
                        monitor,
                        "f-idle/gateway",
                        f"(f) lifecycle, {idle.opened:,} idle subscribers",
                        "postgresql",
                        token,
                        devices=fx.devices,
                        prepare=end_open_sessions,
                    )
                result["idle_subscriptions"] = idle.opened
                sent = idle.received + idle.ended
                self.check(
                    "f-idle: idle subscriptions are sent nothing",
                    f"{idle.received} updates, {idle.ended} ended" if sent else None,
                )
                end_open_sessions()
        datasets.restore_seeded(self.pg_url)

    def live_proof(self) -> None:
        """Live updates at full size, on the live benchmark's own database."""
        import asyncio

        from bench import live_proof
        from bench.live_writers import DEFAULT_URL

        self.live = asyncio.run(live_proof.prove(DEFAULT_URL, self.logs))
        problems = self.live["problems"]
        self.check(
            "live: 2,000 subscriptions get exactly their changes, in order, for a statement "
            "per change",
            "; ".join(problems) if problems else None,
        )

    # -- (e): a cursor 10,000 pages deep, walked once and kept

    def deep_cursor(self, port: int, token: str) -> tuple[str, int]:
        from bench import scenarios as sc
        from bench import servers

        page = self.args.deep_page
        cache = DATA / "deep-cursor.json"
        database = self.dsn.rsplit("@", 1)[-1]
        kept = json.loads(cache.read_text()) if cache.exists() else {}
        if kept.get("database") == database and (kept.get("page"), kept.get("list")) == (
            page,
            sc.ENDED,
        ):
            path = sc.ended_page(token=kept["token"]).path
            status, body = servers.http_request(port, "GET", path, token=token)
            if status == 200 and len(json.loads(body)["data"]) == 100:
                log(f"(e): reusing the cursor of page {page:,} kept in {cache.name}")
                return kept["token"], page
        rows = (page - 1) * 100
        log(f"(e): walking {rows:,} ended sessions deep, 1000 a page (once; the cursor is kept)")
        started = time.monotonic()
        cursor: str | None = None
        walked = 0
        while walked < rows:
            request = sc.ended_page(min(1000, rows - walked), cursor)
            answer = servers.http_json(port, "GET", request.path, token=token)
            cursor = answer["pagination_token"]
            walked += len(answer["data"])
            if cursor is None:
                raise SystemExit(f"(e): the list ends after {walked:,} sessions; lower --deep-page")
            if walked % 100_000 == 0:
                log(f"(e): {walked:,} deep after {time.monotonic() - started:.0f} s")
        assert cursor is not None
        DATA.mkdir(parents=True, exist_ok=True)
        kept = {"database": database, "list": sc.ENDED, "page": page, "token": cursor}
        cache.write_text(json.dumps(kept) + "\n")
        return cursor, page

    def ordered_cursor(self, port: int, token: str) -> tuple[str, int]:
        """(o): the cursor of a deep page, walked once (100 a page) and kept."""
        from bench import scenarios as sc
        from bench import servers

        page = self.args.ordered_deep_page
        cache = DATA / "deep-cursor-ordered.json"
        database = self.dsn.rsplit("@", 1)[-1]
        kept = json.loads(cache.read_text()) if cache.exists() else {}
        if (kept.get("database"), kept.get("page")) == (database, page):
            answer = servers.http_json(
                port, "POST", "/graphql", sc.ordered_page(kept["token"]).body, token
            )
            if sc.check_ordered_page(answer) is None:
                log(f"(o): reusing the cursor of page {page:,} kept in {cache.name}")
                return kept["token"], page
        log(f"(o): walking {(page - 1) * 100:,} ended sessions by end time (once; kept)")
        cursor: str | None = None
        for walked in range(1, page):
            answer = servers.http_json(
                port, "POST", "/graphql", sc.ordered_walk(cursor).body, token
            )
            problem = sc.check_graphql(answer)
            if problem:
                raise SystemExit(f"(o): {problem}")
            info = answer["data"]["sessions"]["pageInfo"]
            cursor = info["endCursor"]
            if not info["hasNextPage"]:
                raise SystemExit(f"(o): the list ends after {walked:,} pages; lower the page")
        assert cursor is not None
        DATA.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"database": database, "page": page, "token": cursor}) + "\n")
        return cursor, page

    # -- profiling

    def profile(self, server: Any, scenario: str, token: str, requests: list[Any]) -> None:
        if not self.args.profile:
            return
        from bench import loadgen
        from bench import profile as spy

        workers = server.workers()
        raw = RESULTS / f"profile-{scenario}.raw.txt"
        log(f"profiling ({scenario}) with py-spy for {self.args.profile:g} s")
        sampler = spy.record(tools.script("py-spy"), workers[0].pid, self.args.profile, raw)
        time.sleep(0.5)
        load = loadgen.Load(self.args.threads, self.args.connections, self.args.profile + 1)
        loadgen.run_wrk(self.wrk, server.port, load, token, requests)
        _, stderr = sampler.communicate(timeout=120)
        if not raw.exists():
            log(f"py-spy failed: {stderr.decode()[-500:]}")
            return
        summary = spy.summarize(raw)
        (RESULTS / f"profile-{scenario}.txt").write_text(summary + "\n")
        print(f"\nprofile of ({scenario}):\n{summary}\n", flush=True)

    # -- the run

    def run(self) -> int:
        from bench import datasets, report

        args = self.args
        started = time.monotonic()
        busy = _busy_percent()
        peers = not args.no_peers and any(self.wants(s) for s in "abch")
        if peers:
            tools.ensure_node_packages()
        count = datasets.prepare_postgres(self.pg_url, args.sessions, args.reseed)
        self.sessions = count
        sqlite_count = None
        if self.wants("g") and args.sqlite_sessions > 0:
            sqlite_count = datasets.prepare_sqlite(
                args.sqlite_url, args.sqlite_sessions, args.reseed
            )
        token = datasets.admin_token(self.pg_url)
        fx = datasets.fixtures(self.pg_url, args.devices)
        log(f"location {fx.location_id}, session {fx.session_id}, {len(fx.devices)} free devices")
        measuring = time.monotonic()

        self.phase("reads", self.reads, token, fx, peers, bool(sqlite_count))
        if self.wants("f"):
            self.phase("lifecycle", self.gateway_lifecycle, token, fx)
        if self.wants(LIVE_PROOF):
            self.phase("live update proof", self.live_proof)

        order = {k: i for i, k in enumerate(SCENARIOS)}
        servers_order = {"gateway": 0, "postgraphile": 1, "baseline": 2}
        self.results.sort(key=lambda r: (order[r["scenario"]], servers_order[r["server"]]))
        checked = report.targets(self.results)
        meta = {
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "gateway_commit": tools.git_commit(),
            "machine": _machine(),
            "options": {k: v for k, v in vars(args).items()},
            "postgresql_sessions": count,
            "sqlite_sessions": sqlite_count,
            "location_id": fx.location_id,
            "session_id": fx.session_id,
            "cpu_busy_before_percent": busy,
            "setup_seconds": round(measuring - started, 1),
            "measure_seconds": round(time.monotonic() - measuring, 1),
        }
        document = {
            "meta": meta,
            "results": self.results,
            "targets": checked,
            "checks": self.checks,
            "live_proof": self.live,
            "table": report.table(self.results),
            "markdown": report.markdown(self.results, checked),
        }
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report.write_json(RESULTS / "latest.json", document)
        report.write_json(RESULTS / "history" / f"{stamp}.json", document)
        title = (
            f"session-gateway {meta['gateway_commit']} — {count:,} sessions, "
            f"{args.workers} worker(s), "
            f"wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per scenario"
        )
        report.chart(RESULTS / "latest.png", self.results, title)

        print()
        print(report.table(self.results))
        print()
        print(report.targets_text(checked))
        if self.live is not None:
            live = self.live
            print(
                f"\nlive updates: {live['deliveries']:,} of {live['deliveries_expected']:,} "
                f"deliveries to {live['subscriptions']:,} subscriptions on 2 processes for "
                f"{live['changes']} changes in {live['seconds_to_last_delivery']} s, "
                f"{live['cpu_ms_per_delivery']} ms CPU per delivery, statements per process "
                f"{live['statements_per_process']}"
            )
        failed_checks = {k: v for k, v in self.checks.items() if v != "ok"}
        print(
            f"\nanswer checks: {len(self.checks) - len(failed_checks)} of {len(self.checks)} ok"
            + "".join(f"\n  FAILED {k}: {v}" for k, v in failed_checks.items())
        )
        if args.workers > 1:
            print("SQL/req is per worker process; it is left out with --workers > 1")
        print(f"\nwrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.png'}")
        print(f"setup {meta['setup_seconds']:.0f} s, measuring {meta['measure_seconds']:.0f} s")
        return 0

    def scaling(self) -> int:
        """(a) and (c) with 1, 2, 4 ... workers (and with a replica): what binds at each."""
        from bench import datasets, report, servers
        from bench import scenarios as sc

        args = self.args
        counts = [int(n) for n in args.scaling.split(",") if n.strip()]
        count = datasets.prepare_postgres(self.pg_url, args.sessions, args.reseed)
        token = datasets.admin_token(self.pg_url)
        fx = datasets.fixtures(self.pg_url, 0)
        busy = _busy_percent()
        scenarios = [
            ("a", "(a) GraphQL frontend list", sc.frontend_list(fx.location_id)),
            ("c", "(c) REST v2 list, limit 100", sc.V2_LIST),
        ]
        with contextlib.ExitStack() as stack:
            setups: list[tuple[int, str | None]] = [(n, None) for n in counts]
            if args.replica:
                from tests.replica import streaming_replica

                log("making a streaming replica of the local cluster (pg_basebackup -R)")
                replica = stack.enter_context(streaming_replica())
                setups += [(n, replica.url(self.pg_url)) for n in counts]
            for workers, replica_url in setups:
                args.workers = workers  # what measure() records, and SQL/req only at 1
                name = f"gateway-{workers}w" + ("-replica" if replica_url else "")
                extra = {"DATABASE_REPLICA_URLS": replica_url} if replica_url else {}
                if workers > 1:  # each worker's pool must fit max_connections
                    extra |= {"DB_POOL_SIZE": "12", "DB_MAX_OVERFLOW": "4"}
                server = servers.gateway(self.pg_url, workers, self.logs, name, extra)
                with servers.running(server, database=self.database) as (gw, monitor):
                    for key, label, request in scenarios:
                        result = self.measure(
                            gw, monitor, f"{key}/gateway", label, "postgresql", token, [request]
                        )
                        result["replica"] = replica_url is not None
                        if replica_url:
                            result["reads_routed"] = _reads_routed(gw.port)
                        result["binds"] = _binds(result)
        document = {
            "meta": {
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "gateway_commit": tools.git_commit(),
                "machine": _machine(),
                "options": dict(vars(args)),
                "postgresql_sessions": count,
                "cpu_busy_before_percent": busy,
            },
            "results": self.results,
            "table": scaling_table(self.results),
        }
        report.write_json(RESULTS / "scaling.json", document)
        print()
        print(document["table"])
        print(f"\nwrote {RESULTS / 'scaling.json'}")
        return 0

    def soak(self) -> int:
        from bench import datasets, report, servers
        from bench import scenarios as sc

        args = self.args
        datasets.prepare_postgres(self.pg_url, args.sessions, args.reseed)
        token = datasets.admin_token(self.pg_url)
        fx = datasets.fixtures(self.pg_url, 0)
        requests = [
            sc.frontend_list(fx.location_id),
            sc.node(fx.session_id),
            sc.V2_LIST,
            sc.V1_LIST,
        ]
        from bench import loadgen

        server = servers.gateway(self.pg_url, args.workers, self.logs, "gateway-soak")
        with servers.running(server, interval=10) as (gw, monitor):
            log(f"soak: mixed (a)(b)(c)(d) load for {args.soak:g} s, RSS every 10 s")
            load = loadgen.Load(args.threads, args.connections, args.soak)
            summary = loadgen.run_wrk(self.wrk, gw.port, load, token, requests)
            samples = list(monitor.samples)
        series: dict[int, list[tuple[float, float]]] = {}
        for t, rss in samples:
            for pid, value in rss.items():
                series.setdefault(pid, []).append((t, value / 2**20))
        workers = []
        for pid, points in series.items():
            second_half = [p for p in points if p[0] >= args.soak / 2]
            workers.append(
                {
                    "pid": pid,
                    "peak_mb": max(m for _, m in points),
                    "last_mb": points[-1][1],
                    "slope_mb_per_min": report.slope_mb_per_minute(points),
                    "slope_second_half_mb_per_min": report.slope_mb_per_minute(second_half),
                    "samples": [(round(t, 1), round(m, 2)) for t, m in points],
                }
            )
        peak = max((w["peak_mb"] for w in workers), default=0.0)
        slope = max((w["slope_second_half_mb_per_min"] or 0.0 for w in workers), default=0.0)
        checked = [
            {
                "target": f"RSS per worker <= {report.RSS_LIMIT_MB} MB "
                f"after {args.soak / 60:g} min",
                "value": peak,
                "op": "<=",
                "limit": report.RSS_LIMIT_MB,
                "pass": peak <= report.RSS_LIMIT_MB,
            },
            {
                "target": "no upward trend: RSS slope over the second half (MB/min)",
                "value": slope,
                "op": "<=",
                "limit": report.SOAK_SLOPE_LIMIT_MB_PER_MIN,
                "pass": slope <= report.SOAK_SLOPE_LIMIT_MB_PER_MIN,
            },
        ]
        seconds = summary["duration_us"] / 1e6
        document = {
            "meta": {
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "gateway_commit": tools.git_commit(),
                "machine": _machine(),
                "options": vars(args),
            },
            "load": {
                "requests": summary["requests"],
                "rps": summary["requests"] / seconds if seconds else 0,
                "errors": summary["errors"],
                "p50_ms": summary["latency_us"]["p50"] / 1000,
                "p99_ms": summary["latency_us"]["p99"] / 1000,
            },
            "workers": workers,
            "targets": checked,
        }
        report.write_json(RESULTS / "soak.json", document)
        report.soak_chart(
            RESULTS / "soak.png", series, f"gateway RSS under mixed load ({args.workers} worker(s))"
        )
        load_info = document["load"]
        print(
            f"\nsoak: {load_info['requests']:,} requests, {load_info['rps']:.1f} req/s, "
            f"errors {sum(load_info['errors'].values())}"
        )
        for w in workers:
            print(
                f"worker {w['pid']}: peak {w['peak_mb']:.1f} MB, last {w['last_mb']:.1f} MB, "
                f"slope {w['slope_mb_per_min'] or 0:.2f} MB/min overall, "
                f"{w['slope_second_half_mb_per_min'] or 0:.2f} MB/min over the second half"
            )
        print(report.targets_text(checked))
        print(f"\nwrote {RESULTS / 'soak.json'} and {RESULTS / 'soak.png'}")
        return 0


def _machine() -> dict[str, Any]:
    import platform

    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def scaling_table(results: list[dict[str, Any]]) -> str:
    """One Markdown row per worker count, replica and scenario: throughput and CPU."""
    lines = [
        "| scenario | workers | replica | req/s | p50 ms | p99 ms | gateway CPU ms/req "
        "| PostgreSQL CPU ms/req | cores busy: gateway / PostgreSQL / machine | binds |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]

    def number(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    for r in sorted(results, key=lambda r: (r["scenario"], r.get("replica", False), r["workers"])):
        cores = " / ".join(
            number(r.get(k), 2) for k in ("gateway_cores", "db_cores", "machine_cores")
        )
        lines.append(
            f"| {r['label']} | {r['workers']} | {'yes' if r.get('replica') else 'no'} "
            f"| {number(r['rps'])} | {number(r['p50_ms'])} | {number(r['p99_ms'])} "
            f"| {number(r['cpu_ms_per_request'], 2)} | {number(r['db_cpu_ms_per_request'], 2)} "
            f"| {cores} | {r.get('binds', '')} |"
        )
    return "\n".join(lines)


def _binds(result: dict[str, Any]) -> str:
    """What limited a run: every core busy, each worker at its core, or neither."""
    cores = os.cpu_count() or 1
    gateway = result.get("gateway_cores") or 0.0
    database = result.get("db_cores") or 0.0
    machine = result.get("machine_cores") or 0.0
    if machine >= 0.9 * cores:
        others = machine - gateway - database  # wrk, and whatever else runs
        if others > gateway + database:
            return f"the cores ({machine:.2f} of {cores} busy, {others:.2f} by wrk and others)"
        side = "the gateway" if gateway >= database else "PostgreSQL"
        return f"the cores ({machine:.2f} of {cores} busy; {side} uses most)"
    if gateway >= 0.9 * result["workers"]:
        return "the gateway workers (each near a whole core)"
    if database >= 0.9 * cores / 2:
        return "PostgreSQL"
    return "neither: the clients wait on round trips"


def _reads_routed(port: int) -> dict[str, float]:
    """``session_gateway_db_reads_routed_total`` by target, from one worker's /metrics."""
    from bench import servers

    status, body = servers.http_request(port, "GET", "/metrics", timeout=5)
    routed: dict[str, float] = {}
    if status != 200:
        return routed
    for line in body.decode().splitlines():
        if line.startswith("session_gateway_db_reads_routed_total{"):
            target = line.split('target="', 1)[1].split('"', 1)[0]
            routed[target] = float(line.rsplit(" ", 1)[1])
    return routed


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every core, every process)."""
    import psutil

    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _cpu_seconds(server: Any) -> float:
    """User + system CPU time of the server's workers so far (those alive now)."""
    import psutil

    total = 0.0
    for worker in server.workers():
        try:
            times = worker.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _busy_percent(seconds: float = 3) -> float:
    """How busy the machine is before the bench starts; others' work skews the numbers."""
    import psutil

    busy = psutil.cpu_percent(interval=seconds)
    if busy > 15:
        log(
            f"WARNING: the machine is {busy:.0f}% busy before the bench starts: "
            "other processes share the 2 cores and the numbers will be low and noisy"
        )
    return busy


def _watchdog(minutes: float) -> None:
    """Stop every server this run started, and the run, after ``minutes``."""

    def expire() -> None:
        from bench import servers

        log(f"the bench ran longer than {minutes:g} minutes: stopping")
        servers.stop_all()
        os._exit(3)

    timer = threading.Timer(minutes * 60, expire)
    timer.daemon = True
    timer.start()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    unknown = set(args.only) - set(SCENARIOS + LIVE_PROOF)
    if unknown:
        letters = SCENARIOS + LIVE_PROOF
        raise SystemExit(f"--only takes letters of {letters}, not {''.join(sorted(unknown))}")
    tools.ensure_python_packages()
    RESULTS.mkdir(parents=True, exist_ok=True)
    _watchdog(args.max_minutes)

    def terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    bench = Bench(args)
    try:
        if args.soak:
            return bench.soak()
        return bench.scaling() if args.scaling else bench.run()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        from bench import servers

        servers.stop_all()


if __name__ == "__main__":
    sys.exit(main())
