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


def changes(
    grid: Iterable[Switch], wanted_on: set[str], shown: set[str] | None = None
) -> list[tuple[str, str, str]]:
    """(channel, topic, new status) for every switch the customer moved.

    ``shown`` holds the switches the page showed on when it was rendered (its hidden
    ``shown`` fields). A box sent as the page showed it did not move, whatever happened
    since: a STOP, an unsubscribe or a confirmation made meanwhile stands, and a page
    left open across it asks for nothing again (no "reply YES" text to a number that
    said STOP). Without ``shown`` (a form not from the page) the current state stands
    for what was shown."""
    result = []
    for switch in grid:
        if not switch.available:
            continue  # shown disabled: the form never sends it, so it has not moved
        want = switch.field in wanted_on
        was = switch.on if shown is None else switch.field in shown
        if want == was:
            continue
        if want and not switch.on:
            status = "pending" if switch.channel in DOUBLE_OPT_IN else "granted"
            result.append((switch.channel, switch.topic, status))
        elif not want and switch.on:
            result.append((switch.channel, switch.topic, "withdrawn"))
    return result
