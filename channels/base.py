"""The channel adapter protocol: one small abstract base, in the spirit of httpx transports.

An adapter sends one message and says what happened, typed by what the caller should
do next: ``ACCEPTED`` (done; keep the provider's id), ``TRANSIENT`` (try again later)
or ``PERMANENT`` (give up now; a hard bounce also feeds suppression). A transient
result also says how long the provider asked us to wait (``retry_after``) and whether
the message reached the provider at all (``reached``; see :class:`SendResult`).
Adapters never raise for a provider's refusal; they raise only for programming errors.

Capabilities are class attributes, so the dispatcher can read them without an
instance (``adapter_class("twilio").rate_per_second``):

``kinds``
    The message kinds the adapter carries (``"email"``, ``"sms"``).
``max_body_chars``
    The longest text body it can deliver, in characters, or ``None`` for no limit of
    its own. A longer body is a permanent failure before anything is sent.
``supports_html``
    Whether an HTML alternative reaches the recipient; if not, only the text does.
``rate_per_second``
    A sending rate the provider is known to sustain, for the dispatcher to apply when the
    configuration sets none; ``None`` means no default limit.
``concurrency``
    How many sends the dispatcher runs at once (one instance each) when the configuration
    sets none.

Configuration is printable without leaking it: ``repr(channel)`` lists the options the
adapter was built with (:meth:`Channel.options`), with every secret (passwords, tokens,
API keys, a password inside a URL) shown as ``***`` by :func:`redact_options`.

Provider replies are stored (``last_error``) and logged, so they are redacted before
they leave an adapter: every subclass's ``send`` is wrapped (``__init_subclass__``) so
that the reason of the result it returns passes through :meth:`Channel.redact_reply`,
that is :func:`redact_reply` with the adapter's own secrets. What is masked: those
secrets (every secret option, the password and secret query parameters of a URL
option) as written, URL-encoded and base64-encoded, alone and as an HTTP Basic or SMTP
``AUTH PLAIN`` credential; signed link tokens; e-mail addresses; phone numbers. An
adapter never needs code of its own for this, and a new adapter gets it too.
"""

from __future__ import annotations

import abc
import base64
import functools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final, Self
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from rapport.channels.options import OptionProblem, OptionSpec, from_signature
from rapport.channels.redaction import mask_personal

__all__ = [
    "REDACTED",
    "Channel",
    "Outcome",
    "OutgoingMessage",
    "SendResult",
    "redact_options",
    "redact_reply",
    "redact_url",
]

#: What a secret is shown as.
REDACTED: Final = "***"
#: Option (and URL query parameter) names whose values are secrets, whatever the adapter.
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api_?key|private_key$|credential|^auth", re.IGNORECASE
)
#: Secrets shorter than this are not looked for in replies (see :func:`redact_reply`).
_SHORTEST: Final = 4


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class SendResult:
    """What one send did, and what the caller should do next.

    ``retry_after`` and ``reached`` matter for transient results only; a permanent
    result is final whatever they say, and adapters leave them at their defaults there.
    """

    outcome: Outcome
    provider_id: str | None = None
    reason: str | None = None
    #: True when the provider says the address itself is bad (hard bounce, invalid
    #: number): the dispatcher then adds it to the suppression list.
    suppress: bool = False
    #: Seconds the provider asked us to wait before trying again (its ``Retry-After``,
    #: read by :func:`rapport.channels.retry_after.parse_retry_after`: 0 for a date in
    #: the past, at most 24 h), or None when it said nothing usable. The next attempt of
    #: the message waits at least this long, and the lane pauses that provider for it:
    #: a provider that says "429, come back in 120 s" is not asked again sooner.
    retry_after: float | None = None
    #: False when the message certainly never reached the provider: the connection was
    #: refused, reset or timed out while connecting, the name did not resolve, the TLS
    #: handshake or SMTP greeting, EHLO, STARTTLS or AUTH failed, or the lane was paused
    #: and called no provider at all. Such a try says nothing about the message, so the
    #: dispatcher does not count it as an attempt (an outage must not use up a
    #: message's attempts). When the request may have arrived (a reply came, or none came
    #: in time after it was sent) this stays True: we do not know, so it counts.
    reached: bool = True
    #: True when the request went out and no answer came back (no reply within the
    #: timeout, the connection dropped before the reply): the provider may have taken
    #: the message. A channel with several providers then does not hand it to the next
    #: one at once, which could not know its idempotency key and would send a second
    #: copy; it is retried later like any transient failure. An answer refusing the
    #: message (a 4xx/5xx reply, a 429) leaves this False.
    unanswered: bool = False

    @classmethod
    def accepted(cls, provider_id: str | None = None) -> SendResult:
        return cls(Outcome.ACCEPTED, provider_id=provider_id)

    @classmethod
    def transient(
        cls,
        reason: str,
        *,
        retry_after: float | None = None,
        reached: bool = True,
        unanswered: bool = False,
    ) -> SendResult:
        return cls(
            Outcome.TRANSIENT,
            reason=reason,
            retry_after=retry_after,
            reached=reached,
            unanswered=unanswered,
        )

    @classmethod
    def permanent(cls, reason: str, *, suppress: bool = False) -> SendResult:
        return cls(Outcome.PERMANENT, reason=reason, suppress=suppress)


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything an adapter needs to deliver one message; plain data, no ORM objects.

    ``idempotency_key`` is stable across retries and re-plans: e-mail adapters derive
    the Message-ID from it and HTTP providers receive it as an idempotency key, so a
    message re-sent after a crash can be dropped downstream.
    """

    idempotency_key: str
    kind: str  # "email" or "sms"
    to: str  # an e-mail address or an E.164 phone number
    text: str
    subject: str | None = None
    html: str | None = None
    to_name: str | None = None
    sender: str | None = None
    message_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    locale: str = "en"
    # Ids for logs and file names; never personal data.
    customer_id: str = ""
    campaign: str = ""


def without_name(result: SendResult, name: str | None) -> SendResult:
    """``result`` with each word of the recipient's ``name`` in its reason shown as
    ``[name]``, whatever its case: a provider's reply may quote the display name it was
    given ("mailbox of Jane Secret busy"), and the reason goes into the log and the
    outbox's ``last_error``, which carry ids, never names. Words of one letter stay."""
    if not result.reason or not name:
        return result
    words = sorted({w for w in name.split() if len(w) > 1}, key=len, reverse=True)
    if not words:
        return result
    # ASCII words whole ("Al" is no part of "mailbox"); others anywhere: Chinese and
    # Japanese write no spaces between a name and the words around it.
    pattern = re.compile(
        "|".join(rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w) for w in words),
        re.IGNORECASE,
    )
    reason = pattern.sub("[name]", result.reason)
    return result if reason == result.reason else replace(result, reason=reason)


def redact_url(url: str) -> str:
    """``url`` with the password and secret-looking query parameters shown as ``***``.

    >>> redact_url("smtp://shop:s3cret@mail.example:587?starttls=1")
    'smtp://shop:***@mail.example:587?starttls=1'
    >>> redact_url("https://sms.example/send?api_key=abc&route=fast")
    'https://sms.example/send?api_key=%2A%2A%2A&route=fast'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # unreadable (an IPv6 literal left open): show none of it
        return REDACTED
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{REDACTED}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_NAME.search(key) for key, _ in pairs):
            query = urlencode(
                [(key, REDACTED if _SECRET_NAME.search(key) else value) for key, value in pairs]
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_options(
    options: Mapping[str, Any], secret: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A copy of ``options`` safe to print: secrets, and passwords in URLs, are ``***``.

    A value is secret when its name is in ``secret`` or looks like one (``password``,
    ``token``, ``api_key``, ``secret``, ...); string values that are URLs lose their
    password. Unset (``None``) secrets stay ``None``, so a reader sees that none is set.
    """
    shown: dict[str, Any] = {}
    for name, value in options.items():
        if value is not None and (name in secret or _SECRET_NAME.search(name)):
            shown[name] = REDACTED
        elif isinstance(value, str) and "://" in value:
            shown[name] = redact_url(value)
        else:
            shown[name] = value
    return shown


def redact_reply(text: str, secrets: Iterable[str] = ()) -> str:
    """Provider reply text safe to store and log.

    Each of ``secrets`` (longest first; one shorter than four characters would mask
    bits of every word and protects nothing) becomes ``***``; signed tokens ``[token]``,
    e-mail addresses ``[email]`` and phone numbers ``[phone]`` by the rule the log
    filter (:mod:`rapport.engine.core.logs`) uses too (:mod:`rapport.channels.redaction`):
    dates and ids are left as they are.

    >>> redact_reply("535 bad login s3cret for bob@shop.example", ["s3cret"])
    '535 bad login *** for [email]'
    >>> redact_reply("550 +98 912 123 4567: no such number (2026-11-23)")
    '550 [phone]: no such number (2026-11-23)'
    """
    for secret in sorted({s for s in secrets if len(s) >= _SHORTEST}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return mask_personal(text)


def secret_forms(options: Mapping[str, Any], secret: frozenset[str] = frozenset()) -> set[str]:
    """Every form in which the secrets among ``options`` could come back in a reply:
    as written, URL-encoded and base64-encoded, and inside the HTTP Basic and SMTP
    ``AUTH PLAIN`` credentials a URL's user and password make."""
    found: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for name, value in options.items():
        if not isinstance(value, str) or not value:
            continue
        if name in secret or _SECRET_NAME.search(name):
            found.add(value)
        if "://" in value:
            try:
                parts = urlsplit(value)
            except ValueError:  # not a URL after all (an IPv6 literal left open)
                continue
            if parts.password:
                password = unquote(parts.password)
                found.update({parts.password, password})
                pairs.append((unquote(parts.username or ""), password))
            for key, item in parse_qsl(parts.query):
                if item and _SECRET_NAME.search(key):
                    found.add(item)
    forms = set(found)
    for value in found:
        forms.add(quote(value, safe=""))
        forms.update(_base64_forms(value))
    for user, password in pairs:
        forms.update(_base64_forms(f"{user}:{password}"))
        forms.update(_base64_forms(f"\0{user}\0{password}"))
    return forms


def _base64_forms(value: str) -> set[str]:
    """``value`` in standard and URL-safe base64, with and without padding."""
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    forms = {encoded, encoded.rstrip("="), encoded.translate(str.maketrans("+/", "-_"))}
    return {form for form in forms if len(form) >= 4}


class Channel(abc.ABC):
    """Base class of every adapter; subclasses set ``name``, ``kinds`` and capabilities."""

    #: The name configuration uses to pick this adapter (also its entry-point name).
    name: ClassVar[str]
    #: The message kinds this adapter can carry (set on the class; an instance may
    #: narrow it, as the recording adapter does).
    kinds: frozenset[str]
    #: The longest text body this adapter delivers, in characters; None: no own limit.
    max_body_chars: ClassVar[int | None] = None
    #: Whether an HTML alternative reaches the recipient.
    supports_html: ClassVar[bool] = False
    #: A default rate (messages per second) when configuration sets none; None: no limit.
    rate_per_second: ClassVar[float | None] = None
    #: Sends at once (one instance each) when configuration sets none.
    concurrency: ClassVar[int] = 1
    #: Option names holding secrets, beyond those :func:`redact_options` recognises.
    secret_options: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap the subclass's ``send``: every reason it returns is redacted, and each
        send is logged (at DEBUG, on the adapter module's logger) only once redacted."""
        super().__init_subclass__(**kwargs)
        send = cls.__dict__.get("send")
        if send is None or getattr(send, "_redacts_replies", False):
            return

        log = logging.getLogger(cls.__module__)

        @functools.wraps(send)
        async def redacting_send(self: Channel, message: OutgoingMessage) -> SendResult:
            result = without_name(self.redacted(await send(self, message)), message.to_name)
            log.debug(
                "%s sent: %s (%s)",
                self.name,
                result.outcome.value,
                result.reason or "no reason given",
                extra={
                    "idempotency_key": message.idempotency_key,
                    "customer_id": message.customer_id,
                    "campaign": message.campaign,
                    "outcome": result.outcome.value,
                },
            )
            return result

        redacting_send._redacts_replies = True  # type: ignore[attr-defined]
        setattr(cls, "send", redacting_send)  # noqa: B010 (assigning a method is refused)

    @classmethod
    def declared_options(cls) -> dict[str, OptionSpec] | None:
        """The options configuration may give this adapter: by default the parameters
        of ``__init__`` YAML can write (:func:`rapport.channels.options.from_signature`);
        None leaves them unchecked. An adapter whose :meth:`from_options` takes other
        keys than its ``__init__`` overrides this."""
        return from_signature(cls)

    @classmethod
    def value_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """What building the adapter from ``options`` would refuse in their values (an
        SMTP URL without a host, an unknown scheme), found without building it.

        Configuration loading reports these at the option's FILE:LINE, so a mistake is
        an error of ``campaigns validate`` and of every command, not a failure of the
        first dispatcher that builds the adapter. Called only when the options' keys and
        types fit; cheap and free of side effects (no file, socket or TLS context). By
        default nothing: the adapter's constructor still checks everything."""
        return []

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base_dir: Path) -> Self:
        """Build from the channel's config options; paths are relative to ``base_dir``."""
        return cls(**options)

    def redact_reply(self, text: str) -> str:
        """``text`` (a provider's reply) with this adapter's secrets, tokens, addresses
        and phone numbers masked (:func:`redact_reply`)."""
        forms: set[str] | None = self.__dict__.get("_secret_forms")
        if forms is None:  # the options do not change after construction
            forms = secret_forms(self.options(), self.secret_options)
            self.__dict__["_secret_forms"] = forms
        return redact_reply(text, forms)

    def redacted(self, result: SendResult) -> SendResult:
        """``result`` with its reason redacted (see :meth:`redact_reply`)."""
        if not result.reason:
            return result
        reason = self.redact_reply(result.reason)
        return result if reason == result.reason else replace(result, reason=reason)

    def options(self) -> dict[str, Any]:
        """The options this adapter was built with, secrets included; ``repr`` redacts."""
        return {}

    def unsupported(self, message: OutgoingMessage) -> SendResult | None:
        """A permanent failure if the message is of a kind or length this adapter cannot
        carry, else None; adapters call it first thing in :meth:`send`."""
        if message.kind not in self.kinds:
            return SendResult.permanent(f"the {self.name} channel cannot carry {message.kind!r}")
        limit = self.max_body_chars
        if limit is not None and len(message.text) > limit:
            return SendResult.permanent(
                f"text is {len(message.text)} characters; the {self.name} channel "
                f"carries at most {limit}"
            )
        return None

    @abc.abstractmethod
    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver one message and report the outcome."""

    async def aclose(self) -> None:
        """Release connections; the default adapter holds none."""
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        shown = redact_options(self.options(), self.secret_options)
        listed = ", ".join(f"{name}={value!r}" for name, value in shown.items())
        return f"{type(self).__name__}({listed})"
