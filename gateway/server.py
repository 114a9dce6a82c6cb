"""How ``session-gateway serve`` runs uvicorn: trusted proxies, time limits, logging.

uvicorn bounds the idle time between two requests of a connection (keep-alive) but not
the time a client takes to send one: a client that opens a connection and sends its
headers a byte at a time holds it for as long as it likes. ``HeaderTimeoutProtocol``
closes a connection whose request headers are not complete ``REQUEST_HEADER_TIMEOUT``
seconds after its first byte (or after the connection opened), with a 408. A body sent
too slowly is refused by the app itself (``gateway.limits.read_body``).

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the proxies
``FORWARDED_ALLOW_IPS`` names; by default from none, so a client cannot pick its own
address (and with it a fresh rate-limit bucket) by sending the header.
"""

import asyncio
from typing import Any

from uvicorn import Config, Server
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from gateway.config import Settings
from gateway.logs import logging_config

_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 42\r\n\r\n"
    b"the request headers took too long to send\n"
)


class ServerConfig(Config):
    """uvicorn's configuration plus the request header time limit its protocol reads."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose headers arrive too slowly."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout: float = getattr(config, "header_timeout", 0.0)
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request of a kept-alive connection

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.header_timeout and self.header_deadline is None:
            self.header_deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _expire(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    keep_alive: int,
    graceful_timeout: int,
) -> None:
    """Serve ``gateway.app:serving_app`` until stopped, in ``workers`` processes."""
    trusted = settings.forwarded_allow_ips
    config = ServerConfig(
        "gateway.app:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        lifespan="on",
        http=HeaderTimeoutProtocol,
        header_timeout=settings.request_header_timeout,
        timeout_graceful_shutdown=graceful_timeout,
        timeout_keep_alive=keep_alive,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
        access_log=False,  # session_gateway.access replaces it (see gateway.logs)
    )
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's start-up failure status
