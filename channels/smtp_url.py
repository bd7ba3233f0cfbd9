"""The SMTP adapter's URL: ``smtp://[user:password@]host[:port][?starttls=1|0]
[&insecure_auth=1]`` or ``smtps://...``, read once into an :class:`SMTPServer`
(:mod:`rapport.channels.smtp` connects with it).

Every part of the URL means something or is refused: a parameter written twice (the
last won, so ``?starttls=1&starttls=0`` dropped the required STARTTLS), a path or a
fragment (never read) is an error at the option's ``config.yaml:LINE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from rapport.channels.hosts import address_problem

__all__ = ["SMTPServer", "SMTPURLError", "parse_smtp_url"]

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


class SMTPURLError(ValueError):
    """The SMTP URL cannot be used; the message never repeats the password."""


@dataclass(frozen=True)
class SMTPServer:
    """Where and how to connect, parsed from the URL."""

    host: str
    port: int
    use_tls: bool = False
    #: True: require STARTTLS; False: never; None: upgrade if the server offers it.
    start_tls: bool | None = None
    username: str | None = None
    password: str | None = None
    #: Send AUTH over an unencrypted connection (``?insecure_auth=1``).
    insecure_auth: bool = False

    def __repr__(self) -> str:
        auth = "user@" if self.username else ""
        scheme = "smtps" if self.use_tls else "smtp"
        return f"SMTPServer({scheme}://{auth}{self.host}:{self.port})"

    __str__ = __repr__


def parse_smtp_url(url: str) -> SMTPServer:
    """Parse ``smtp://[user:password@]host[:port][?starttls=1][&insecure_auth=1]`` or
    ``smtps://...``."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an IPv6 literal left open; the message quotes no part
        raise SMTPURLError(f"the SMTP URL is not valid: {exc}") from None
    if parts.scheme not in {"smtp", "smtps"}:
        raise SMTPURLError(f"SMTP URL must start with smtp:// or smtps://, not {parts.scheme!r}")
    if not parts.hostname:
        raise SMTPURLError("SMTP URL has no host")
    if problem := address_problem(parts):
        raise SMTPURLError(f"SMTP URL: {problem}")
    if parts.path not in {"", "/"} or parts.fragment or url.endswith("#"):
        part = "a fragment (#...)" if "#" in url else f"a path ({parts.path!r})"
        raise SMTPURLError(
            f"the SMTP URL has {part}, which SMTP has no use for; a '/', '?' or '#' in "
            "the password is written %2F, %3F or %23"
        )
    use_tls = parts.scheme == "smtps"
    flags: dict[str, bool] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in {"starttls", "insecure_auth"}:
            raise SMTPURLError(
                f"unknown SMTP URL parameter {key!r}; only 'starttls' and 'insecure_auth' are known"
            )
        if key in flags:  # the last would win: starttls=1&starttls=0 dropped STARTTLS
            raise SMTPURLError(f"the SMTP URL gives {key} twice; give it once")
        if value.lower() not in _TRUE | _FALSE:
            raise SMTPURLError(f"{key} must be 1 or 0, not {value!r}")
        flags[key] = value.lower() in _TRUE
    start_tls = flags.get("starttls")
    insecure_auth = flags.get("insecure_auth", False)
    if parts.username and start_tls is False and not use_tls and not insecure_auth:
        raise SMTPURLError(
            "the SMTP URL has a user but ?starttls=0: the password would be sent unencrypted; "
            "use smtps:// or STARTTLS, or add insecure_auth=1 on a network you trust"
        )
    if use_tls and start_tls:
        raise SMTPURLError("smtps:// is already TLS; drop ?starttls=1")
    if use_tls:
        start_tls = False
    try:
        port = parts.port
    except ValueError as exc:
        raise SMTPURLError("SMTP URL has an invalid port") from exc
    if port is None:
        port = 465 if use_tls else 587 if start_tls else 25
    return SMTPServer(
        host=parts.hostname,
        port=port,
        use_tls=use_tls,
        start_tls=start_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        insecure_auth=insecure_auth,
    )
