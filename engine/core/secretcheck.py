"""Whether the secrets an operator gives are long enough to stay secret.

``RAPPORT_SECRET_KEY`` signs every link a customer is sent (HMAC-SHA1 through
itsdangerous): anyone holding one link can try keys offline, as fast as their machine
hashes, and a short key falls in seconds; with it they sign an unsubscribe or
preference link for any customer id and change that customer's consent. The bearer
tokens (the admin pages, webhooks, metrics) are guessed online, but a short one is
still a guess away. A key the product makes itself (:func:`rapport.engine.core.keys.new_key`)
is 64 characters; a secret given by hand must have at least :data:`MIN_CHARACTERS`.

Like a plain-HTTP ``web.base_url`` (:mod:`rapport.engine.core.baseurl`), a short secret
is a warning on a trial set-up and refused with ``production: true``. Messages name
the variable and the length, never the value.
"""

from __future__ import annotations

import logging

from rapport.engine.core.config import Settings
from rapport.engine.core.errors import ConfigError

__all__ = ["MIN_CHARACTERS", "check_secrets", "weak_secrets"]

log = logging.getLogger(__name__)

#: Characters a secret given by hand must have: 32 random characters from the
#: ``token_urlsafe`` alphabet are 192 bits, and ``openssl rand -hex 16`` gives 32.
MIN_CHARACTERS = 32


def weak_secrets(settings: Settings) -> list[str]:
    """Why each secret set is too short, one sentence each (none: all are fine)."""
    given = (
        ("RAPPORT_SECRET_KEY", settings.secret_key, "signs every link customers get"),
        ("RAPPORT_REPORT_TOKEN", settings.web.report_token, "opens the admin pages"),
        ("RAPPORT_WEBHOOK_TOKEN", settings.web.webhook_token, "authenticates webhooks"),
        ("RAPPORT_METRICS_TOKEN", settings.web.metrics_token, "opens /metrics"),
    )
    return [
        f"{name} is {len(value)} characters long: it {use}, and a secret shorter than "
        f"{MIN_CHARACTERS} characters can be guessed; make one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        for name, value, use in given
        if value is not None and len(value) < MIN_CHARACTERS
    ]


def check_secrets(settings: Settings) -> None:
    """Log a warning for each short secret; with ``production: true`` raise
    :class:`ConfigError` instead (the command then exits 1)."""
    weak = weak_secrets(settings)
    if weak and settings.production:
        raise ConfigError("; ".join(weak) + " (production: true refuses to start with it)")
    for why in weak:
        log.warning(why)
