"""The API functions' own settings (every API handler's CORS)."""

from ocp.settings.base import _Settings


class ConsoleSettings(_Settings):
    """Where the operator console is served from, for the API functions' CORS headers."""

    console_origin: str | None = None
    """`https://<the console's CloudFront domain>`; unset (locally the console shares the API's origin): no
    cross-origin caller is answered with CORS headers."""
