"""What every REST adapter needs from its request besides the resolver scope: absolute URLs."""

from starlette.requests import HTTPConnection

from gateway.state import GatewayState
from resolvers.uris import Uris


def uris_of(connection: HTTPConnection) -> Uris:
    """URL builders under the configured public base URL."""
    return Uris(GatewayState.of(connection).settings.public_base_url)


def request_uri(connection: HTTPConnection) -> str:
    """The URL of the request itself, under the public base URL rather than the Host header."""
    query = connection.url.query
    return f"{uris_of(connection).base}{connection.url.path}" + (f"?{query}" if query else "")
