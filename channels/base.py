"""The channel adapter protocol: one small abstract base, in the spirit of httpx transports.

An adapter sends one message and says what happened, typed by what the caller should
do next: ``ACCEPTED`` (done; keep the provider's id), ``TRANSIENT`` (try again later)
or ``PERMANENT`` (give up now; a hard bounce also feeds suppression). Adapters never
raise for a provider's refusal; they raise only for programming errors.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    reason: str | None = None
    #: True when the provider says the address itself is bad (hard bounce, invalid
    #: number): the dispatcher then adds it to the suppression list.
    suppress: bool = False

    @classmethod
    def accepted(cls, provider_id: str | None = None) -> SendResult:
        return cls(Outcome.ACCEPTED, provider_id=provider_id)

    @classmethod
    def transient(cls, reason: str) -> SendResult:
        return cls(Outcome.TRANSIENT, reason=reason)

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


class Channel(abc.ABC):
    """Base class of every adapter; subclasses set ``name`` and ``kinds``."""

    #: The name configuration uses to pick this adapter (also its entry-point name).
    name: ClassVar[str]
    #: The message kinds this adapter can carry.
    kinds: ClassVar[frozenset[str]]

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base_dir: Path) -> Self:
        """Build from the channel's config options; paths are relative to ``base_dir``."""
        return cls(**options)

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
