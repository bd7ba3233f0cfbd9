"""Preference-centre logic: which consent changes a customer's choices amount to.

Pure functions, so the rules can be tested without a web server: the page shows one
switch per channel and topic; saving turns the switches into consent changes. A
switch turned on for a channel with double opt-in becomes ``pending`` until the
customer confirms: e-mail with the link in the confirmation e-mail, SMS by replying
YES to the confirmation text. Turned off, anything granted or pending is withdrawn.
Switches that did not move produce nothing, so saving twice records nothing new; nor
does the switch of a channel the customer has no address on, which the page shows
disabled (a browser never sends a disabled box, so its absence says nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Channels whose opt-in from the web counts only once the customer confirms it from
#: the address itself: a typo'd or someone else's e-mail address or phone number
#: must not start receiving marketing.
DOUBLE_OPT_IN = frozenset({"email", "sms"})


@dataclass(frozen=True)
class Switch:
    channel: str
    topic: str
    status: str | None  # granted, pending, withdrawn, or None (never asked)
    available: bool  # the customer has an address for the channel

    @property
    def on(self) -> bool:
        return self.status in ("granted", "pending")

    @property
    def field(self) -> str:
        return f"{self.channel}:{self.topic}"


def switches(
    channels: Iterable[str],
    topics: Iterable[str],
    current: Mapping[tuple[str, str], str],
    addresses: Mapping[str, str | None],
) -> list[Switch]:
    """The grid the page shows: every configured channel x topic with its state."""
    topics = list(topics)
    return [
        Switch(channel, topic, current.get((channel, topic)), bool(addresses.get(channel)))
        for channel in channels
        for topic in topics
    ]


def changes(grid: Iterable[Switch], wanted_on: set[str]) -> list[tuple[str, str, str]]:
    """(channel, topic, new status) for every switch whose position changed."""
    result = []
    for switch in grid:
        if not switch.available:
            continue  # shown disabled: the form never sends it, so it has not moved
        want = switch.field in wanted_on
        if want and not switch.on:
            status = "pending" if switch.channel in DOUBLE_OPT_IN else "granted"
            result.append((switch.channel, switch.topic, status))
        elif not want and switch.on:
            result.append((switch.channel, switch.topic, "withdrawn"))
    return result
