"""Prometheus metrics of one gateway process, in a registry of its own (not the global one)."""

import re
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from storage.replicas import ReadRouter

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_OPERATION_NAMES = 200  # clients choose names: past this many, new ones count as "other"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class Metrics:
    """Request counts and latency by route, and SQL statements sent to the database."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._operation_names: set[str] = set()
        self.requests = Counter(
            "session_gateway_requests_total",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "session_gateway_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.db_statements = Counter(
            "session_gateway_db_statements_total",
            "SQL statements sent to the session store",
            registry=self.registry,
        )
        self.graphql_operations = Counter(
            "session_gateway_graphql_operations_total",
            "GraphQL operations run, by operation type and name, and whether they had errors",
            ["type", "name", "outcome"],
            registry=self.registry,
        )
        self.graphql_executions = Counter(
            "session_gateway_graphql_executions_total",
            "GraphQL operations over HTTP and subscription events by execution lane (planned "
            "or reference) and why one was left to the reference path",
            ["lane", "reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "session_gateway_rate_limited_total",
            "Requests refused because the caller's budget was spent",
            registry=self.registry,
        )
        self.loader_batches = Histogram(
            "session_gateway_loader_batch_size",
            "Keys per batched database look-up, by loader",
            ["loader"],
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=self.registry,
        )
        self.pool_checked_out = Gauge(
            "session_gateway_db_pool_checked_out",
            "Database connections in use by this process",
            registry=self.registry,
        )
        self._read_paths: _ReadPaths | None = None
        self._replicas: _Replicas | None = None
        self.subscriptions = Gauge(
            "session_gateway_open_subscriptions",
            "Live subscriptions open in this process",
            registry=self.registry,
        )

    def watch(self, checked_out: Callable[[], int], subscriptions: Callable[[], int]) -> None:
        """Read pool use and open subscriptions when metrics are scraped."""
        self.pool_checked_out.set_function(checked_out)
        self.subscriptions.set_function(subscriptions)

    def watch_reads(self, compiled: Callable[[], int], by_path: Mapping[str, int]) -> None:
        """Report the statements compiled and the reads by path when metrics are scraped."""
        if self._read_paths is None:  # once, however often the app's lifespan starts
            self._read_paths = _ReadPaths(compiled, by_path)
            self.registry.register(self._read_paths)

    def watch_replicas(self, router: "ReadRouter") -> None:
        """Report the replicas' state and lag, and reads by target, when metrics are scraped."""
        if self._replicas is not None:
            self.registry.unregister(self._replicas)
        self._replicas = _Replicas(router)
        self.registry.register(self._replicas)

    def observe_batch(self, loader: str, size: int) -> None:
        """Record the size of one loader batch."""
        self.loader_batches.labels(loader).observe(size)

    def count_operation(self, kind: str, name: str | None, failed: bool) -> None:
        """Record one GraphQL operation."""
        outcome = "error" if failed else "ok"
        self.graphql_operations.labels(kind, self._operation_label(name), outcome).inc()

    def count_execution(self, lane: str, reason: str) -> None:
        """Record the lane one GraphQL operation (or event) ran on, with a fallback's reason."""
        self.graphql_executions.labels(lane, reason).inc()

    def _operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if name in self._operation_names:
            return name
        if not _NAME.fullmatch(name) or len(self._operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        self._operation_names.add(name)
        return name

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        # Label values clients control are bounded, or they could grow the registry forever.
        method = method if method in HTTP_METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        if status == 429:
            self.rate_limited.inc()
        self.latency.labels(method, route).observe(seconds)

    def count_statement(self) -> None:
        """Record one SQL statement."""
        self.db_statements.inc()

    def response(self, _request: Request) -> Response:
        """The metrics in Prometheus text format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _ReadPaths(Collector):
    """The read path's counters, read from ``storage.database`` when metrics are scraped."""

    def __init__(self, compiled: Callable[[], int], by_path: Mapping[str, int]) -> None:
        self.compiled, self.by_path = compiled, by_path

    def collect(self) -> Iterator[CounterMetricFamily]:
        """``session_gateway_db_reads_total{path}`` and ``..._statements_compiled_total``."""
        reads = CounterMetricFamily(
            "session_gateway_db_reads",
            "Reads run by this process: by the driver (compiled once) or by SQLAlchemy"
            " (a statement on its first run, or one built for a single request); 'packed':"
            " the driver's reads on SQLite whose rows came as one JSON document, 'carried':"
            " token checks that rode along another read",
            labels=["path"],
        )
        for path, count in self.by_path.items():
            reads.add_metric([path], count)
        yield reads
        compiled = CounterMetricFamily(
            "session_gateway_db_statements_compiled",
            "Read statements compiled for the driver by this process; flat once warm, since"
            " statements are built once per shape (a rise under steady load is a defect)",
        )
        compiled.add_metric([], self.compiled())
        yield compiled


class _Replicas(Collector):
    """The read replicas' state and lag, and where reads ran, read when metrics are scraped."""

    def __init__(self, router: ReadRouter) -> None:
        self.router = router

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """``session_gateway_replica_*`` gauges and ``session_gateway_db_reads_routed_total``."""
        routed = CounterMetricFamily(
            "session_gateway_db_reads_routed",
            "Reads of HTTP requests by where they ran: a replica, or the primary (writes, "
            "a principal's reads before a replica has replayed its last write, fallbacks)",
            labels=["target"],
        )
        for target, count in self.router.reads_by_target.items():
            routed.add_metric([target], count)
        yield routed
        rotation = GaugeMetricFamily(
            "session_gateway_replica_in_rotation",
            "1 while the replica serves reads; 0 while it is down or lags too far",
            labels=["replica"],
        )
        lag = GaugeMetricFamily(
            "session_gateway_replica_lag_seconds",
            "How far the replica's replay is behind the primary, in seconds (+Inf: unreachable)",
            labels=["replica"],
        )
        lag_bytes = GaugeMetricFamily(
            "session_gateway_replica_lag_bytes",
            "WAL bytes the replica has yet to replay, at the last check",
            labels=["replica"],
        )
        for replica in self.router.replicas:
            rotation.add_metric([replica.name], 1 if replica.in_rotation else 0)
            lag.add_metric([replica.name], replica.lag_seconds)
            lag_bytes.add_metric([replica.name], replica.lag_bytes)
        yield rotation
        yield lag
        yield lag_bytes
