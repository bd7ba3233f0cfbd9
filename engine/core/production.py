"""What ``production: true`` refuses and a trial set-up is warned of, checked together.

A plain-HTTP ``web.base_url`` (:mod:`rapport.engine.core.baseurl`), a secret short
enough to guess (:mod:`rapport.engine.core.secretcheck`) and a sender still at the
shipped example addresses (:mod:`rapport.engine.core.sendercheck`) each spoil every
message sent. A command that sends (``rapport run``, ``rapport dispatch``) checks them
all when it starts: with ``production: true`` it refuses to start, naming every one in
one line; otherwise it logs a warning and goes on, as a trial should.
"""

from __future__ import annotations

import logging

from rapport.engine.core.baseurl import check_base_url, insecure_base_url
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.secretcheck import check_secrets, weak_secrets
from rapport.engine.core.sendercheck import placeholder_sender

__all__ = ["check_production", "unfit_for_production"]

log = logging.getLogger(__name__)


def unfit_for_production(settings: Settings) -> list[str]:
    """Why the settings would spoil the messages sent, one sentence each (none: fine)."""
    whys = [why for why in (insecure_base_url(settings),) if why is not None]
    return whys + weak_secrets(settings) + placeholder_sender(settings)


def check_production(settings: Settings) -> None:
    """With ``production: true``, raise :class:`ConfigError` naming everything
    :func:`unfit_for_production` finds (the command exits 1); otherwise log warnings."""
    whys = unfit_for_production(settings)
    if whys and settings.production:
        raise ConfigError("; ".join(whys) + " (production: true refuses to start with it)")
    check_base_url(settings)
    check_secrets(settings)
    if examples := placeholder_sender(settings):
        keys = ", ".join(why.split(" ", 1)[0] for why in examples)
        log.warning(
            "the sender is still the shipped example (%s): mail from or to it reaches "
            "nobody; production: true refuses to start with it",
            keys,
        )
