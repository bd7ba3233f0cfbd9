"""Whether ``web.base_url`` is fit for the links messages carry.

Every link in a message (``List-Unsubscribe``, the preference centre, confirmations,
feedback) starts with ``web.base_url``. RFC 8058 requires the one-click unsubscribe URI
to be HTTPS, and a plain-HTTP link shows the customer's signed token to anyone on the
path, so a base URL that is not ``https://`` is a warning where it matters
(``rapport campaigns validate``, and the start of ``rapport run`` and ``rapport
dispatch``) and, with ``production: true``, a refusal.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from rapport.engine.core.config import Settings
from rapport.engine.core.errors import ConfigError

__all__ = ["check_base_url", "insecure_base_url"]

log = logging.getLogger(__name__)


def insecure_base_url(settings: Settings) -> str | None:
    """Why ``web.base_url`` is not fit for links in messages, or None when it is HTTPS."""
    url = settings.web.base_url
    parts = urlsplit(url)
    if parts.scheme.lower() == "https" and parts.hostname:
        return None
    return (
        f"web.base_url {url!r} is not HTTPS: every link in messages is plain HTTP, "
        "List-Unsubscribe included, which RFC 8058 requires to be HTTPS; set an "
        "https:// address customers can reach"
    )


def check_base_url(settings: Settings) -> None:
    """Log a warning when ``web.base_url`` is not HTTPS; with ``production: true``
    raise :class:`ConfigError` instead (the command then exits 1)."""
    why = insecure_base_url(settings)
    if why is None:
        return
    if settings.production:
        raise ConfigError(f"{why} (production: true refuses to start with it)")
    log.warning(why, extra={"base_url": settings.web.base_url})
