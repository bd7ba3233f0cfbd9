"""Find channel adapters by name through the ``rapport.channels`` entry-point group.

Built-ins register themselves in Rapport's own ``pyproject.toml``; a third party ships
an adapter by declaring, in its package::

    [project.entry-points."rapport.channels"]
    my_sms = "my_package.sms:MySMSChannel"

and configuration then says ``adapter: my_sms``. Nothing in the engine changes.

The built-ins are also listed in :data:`BUILT_INS`, used when their entry point is
missing (a source checkout whose installed metadata predates a new adapter). An entry
point of the same name wins, as it always has.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Final

from rapport.channels.base import Channel
from rapport.channels.options import ENV_SUFFIX, OptionProblem, option_problems

__all__ = [
    "BUILT_INS",
    "ENTRY_POINT_GROUP",
    "AdapterOptionsError",
    "InvalidAdapterError",
    "UnknownAdapterError",
    "adapter_class",
    "adapter_names",
    "build_channel",
    "check_options",
]

ENTRY_POINT_GROUP: Final = "rapport.channels"
#: The adapters Rapport ships, as ``module:attribute`` like entry-point values.
BUILT_INS: Final = {
    "console": "rapport.channels.console:ConsoleChannel",
    "file": "rapport.channels.file:FileChannel",
    "http_sms": "rapport.channels.http_sms:HTTPSMSChannel",
    "smtp": "rapport.channels.smtp:SMTPChannel",
    "twilio": "rapport.channels.twilio:TwilioSMSChannel",
    "webhook": "rapport.channels.webhook:WebhookChannel",
}
#: Keys of a channel's configuration that pick the adapter, not configure it.
_ROUTING_KEYS: Final = frozenset({"adapter", "kind"})


class UnknownAdapterError(LookupError):
    """No adapter is registered under that name; the message lists the known ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known) or "none"
        super().__init__(f"unknown channel adapter {name!r}; known adapters: {listed}")
        self.name = name
        self.known = known


class InvalidAdapterError(TypeError):
    """An entry point under that name does not load a :class:`Channel` subclass."""


class AdapterOptionsError(ValueError):
    """The options do not fit the adapter (unknown or missing option, bad value)."""


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    """Registered entry points (the first of a name wins), then built-ins not registered.

    Read once per process: scanning the installed distributions takes a few
    milliseconds, and a lane builds one adapter per connection (16 for SMTP and SMS).
    """
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    for name, value in BUILT_INS.items():
        found.setdefault(name, EntryPoint(name, value, ENTRY_POINT_GROUP))
    return found


def adapter_names() -> list[str]:
    """The names configuration may use, sorted."""
    return sorted(_entry_points())


def adapter_class(name: str) -> type[Channel]:
    """The adapter class registered as ``name``."""
    found = _entry_points()
    if name not in found:
        raise UnknownAdapterError(name, sorted(found))
    loaded = found[name].load()
    if not (isinstance(loaded, type) and issubclass(loaded, Channel)):
        raise InvalidAdapterError(
            f"entry point {name!r} ({found[name].value}) is not a Channel subclass"
        )
    return loaded


def build_channel(
    name: str,
    options: Mapping[str, Any],
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> Channel:
    """Build the adapter ``name`` from its configuration options.

    Options the adapter does not declare (:meth:`Channel.declared_options`), of the
    wrong type, or missing are refused with :class:`AdapterOptionsError` before the
    adapter is called.

    ``adapter`` and ``kind`` keys are routing, not options, and are ignored, so the
    caller may pass a channel's whole configuration block. An option ``X_env: VAR``
    gives option ``X`` the value of environment variable ``VAR`` (from ``environ``,
    default ``os.environ``), so secrets need not sit in the file::

        auth_token_env: TWILIO_AUTH_TOKEN
    """
    cls = adapter_class(name)
    own = {key: value for key, value in options.items() if key not in _ROUTING_KEYS}
    if problems := option_problems(name, cls.declared_options(), own):
        raise AdapterOptionsError(
            f"channel adapter {name!r}: " + "; ".join(p.message for p in problems)
        )
    try:
        own = _from_environment(own, os.environ if environ is None else environ)
        return cls.from_options(own, Path(base_dir))
    except (TypeError, ValueError) as exc:  # unknown or missing option, malformed URL
        raise AdapterOptionsError(f"channel adapter {name!r}: {exc}") from exc


def check_options(name: str, options: Mapping[str, Any]) -> list[OptionProblem]:
    """What is wrong with ``options`` for adapter ``name`` by what it declares (unknown
    keys, the accepted ones listed; wrong types; required ones missing), without
    building it: configuration loading reports these with their FILE:LINE."""
    cls = adapter_class(name)
    own = {key: value for key, value in options.items() if key not in _ROUTING_KEYS}
    return option_problems(name, cls.declared_options(), own) or cls.value_problems(own)


def _from_environment(options: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``options`` with every ``X_env: VAR`` replaced by ``X: <value of VAR>``."""
    resolved = dict(options)
    for key, variable in options.items():
        if not key.endswith(ENV_SUFFIX) or key == ENV_SUFFIX:
            continue
        target = key.removesuffix(ENV_SUFFIX)
        if target in options:
            raise ValueError(f"give {target!r} or {key!r}, not both")
        if not isinstance(variable, str) or variable not in environ:
            raise ValueError(f"{key}: environment variable {variable!r} is not set")
        del resolved[key]
        resolved[target] = environ[variable]
    return resolved
