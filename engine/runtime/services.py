"""The one place that builds the engine's long-lived services from Settings.

A link signer, a template renderer and the channel lanes are expensive to make (a
Jinja environment per locale, an SMTP connection pool, an HTTP client) and must be
made the same way by every entry point (daemon, demo, commands, web app), so they
are built here and nowhere else; everything below takes them as arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.keys import secret_key
from rapport.engine.delivery.lanes import ChannelLane, build_channels

if TYPE_CHECKING:  # a dispatcher renders nothing: Jinja is imported where it is used
    from rapport.engine.rendering.renderer import Renderer


def signer(settings: Settings) -> Signer:
    """Signs and verifies every customer link with RAPPORT_SECRET_KEY, or else the key
    kept in the database, which every process on that database shares (a link planned
    by one daemon opens on any other; see :mod:`rapport.engine.core.keys`)."""
    return Signer(secret_key(settings))


def renderer(settings: Settings) -> Renderer:
    """Renders the configured template tree, falling back to the default locale."""
    from rapport.engine.rendering.renderer import Renderer

    return Renderer.from_settings(settings)


def lanes(settings: Settings) -> dict[str, ChannelLane]:
    """A lane per configured channel, its adapters built once and reused."""
    return build_channels(settings)
