"""The five documented GET paths of the Session API."""

from starlette.routing import BaseRoute


def rest_routes() -> list[BaseRoute]:
    """The REST routes."""
    return []
