"""The absolute URLs the API hands out, built from the configured public base URL."""

import uuid


class Uris:
    """Builds resource URLs under one public base URL, from ids or their text."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def session_v2(self, user_id: uuid.UUID | str, session_id: uuid.UUID | str) -> str:
        """A session's own v2 URL."""
        return f"{self.base}/session/v2/users/{user_id}/sessions/{session_id}"

    def session_v1(self, session_id: uuid.UUID | str) -> str:
        """A parking session's own (deprecated) v1 URL."""
        return f"{self.base}/session/v1/device-sessions/{session_id}"

    def location(self, location_id: uuid.UUID | str) -> str:
        """A location's URL."""
        return f"{self.base}/location/v1/locations/{location_id}"

    def device(self, device_id: uuid.UUID | str) -> str:
        """A device's URL."""
        return f"{self.base}/device/v1/devices/{device_id}"

    def fleet(self, fleet_id: uuid.UUID | str) -> str:
        """A fleet's URL."""
        return f"{self.base}/fleet/v1/fleets/{fleet_id}"
