"""A JSON response rendered with orjson: fast, and exact for UUIDs, datetimes and decimals."""

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

from planner.formats import JSON_TIMESTAMPS


class JSONResponse(StarletteJSONResponse):
    """JSON rendered by orjson."""

    def render(self, content: Any) -> bytes:
        """Serialize ``content``; UUIDs become strings, timestamps print as stored UTC.

        A REST body holds its timestamps as they are stored (naive UTC) and orjson prints
        them as ``planner.formats.format_timestamp`` does (``JSON_TIMESTAMPS``).
        """
        return orjson.dumps(content, option=JSON_TIMESTAMPS)
