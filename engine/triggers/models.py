"""What a campaign file may write under ``trigger:``, one model per ``type``.

Each model checks only what the file itself can get wrong; names that depend on the
operator's configuration (tiers) are checked in ``campaigns.model._cross_check``. How each
trigger finds its occasion is in :mod:`rapport.engine.triggers`; every date is the
customer's own local date.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import holidays.constants
from pydantic import Field, field_validator, model_validator

from rapport.engine.core.config import Strict
from rapport.engine.customers.events import data_text, event_name
from rapport.engine.customers.fields import FieldInvalid
from rapport.engine.triggers.cron import CronSchedule, parse_cron
from rapport.engine.triggers.tones import Tone

#: Every holiday category the ``holidays`` package knows; countries support a subset.
HOLIDAY_CATEGORIES = frozenset(
    value
    for key, value in vars(holidays.constants).items()
    if key.isupper() and isinstance(value, str) and value.isidentifier() and value.islower()
)


Days = Annotated[int, Field(ge=0, le=365)]


def _celebrations() -> list[Tone]:
    return ["celebration"]


class BirthdayTrigger(Strict):
    """The customer's birthday (29 February is celebrated on 28 February otherwise).

    ``days_before: N`` sends N days ahead, ``days_after: N`` N days late; give one of
    them at most. Key ``birthday:<year of the birthday>``.
    """

    type: Literal["birthday"]
    days_before: int = Field(0, ge=0, le=60)
    days_after: int = Field(0, ge=0, le=60)

    @model_validator(mode="after")
    def _one_offset(self) -> BirthdayTrigger:
        if {"days_before", "days_after"} <= self.model_fields_set:
            raise ValueError("give days_before or days_after, not both")
        return self


class AnniversaryTrigger(Strict):
    """The anniversary of the customer's sign-up (``created_at``, in their time zone).

    ``years: [1, 2, 5]`` limits it to those anniversaries; without it every one from
    the first counts. Sign-ups on 29 February are celebrated on 28 February in other
    years. Key ``anniversary:<year>``.
    """

    type: Literal["anniversary"]
    years: list[Annotated[int, Field(ge=1, le=200)]] | None = Field(None, min_length=1)


class HolidayTrigger(Strict):
    """A holiday of the customer's country, from the ``holidays`` package.

    ``categories`` picks the kinds of holiday: ``public`` (the default), ``optional``,
    ``bank``, ``half_day``, religious calendars such as ``islamic`` or ``catholic``,
    ...; each country offers some of them, and the others simply never match.
    ``names`` keeps only holidays whose English name contains one of the given texts
    (case ignored). ``tones`` keeps only holidays of those tones (see
    :mod:`rapport.engine.triggers.tones`): ``celebration`` by default, so days of
    observance and mourning are left alone unless a campaign asks for them, and no
    day that holds a mourning holiday is a celebration's occasion. ``days_before: N``
    sends N days ahead. Adjacent holiday days (除夕 and 春节, the Nowruz days) form
    one run, which is one occasion: on its first day with a wanted holiday (an eve
    only when ``names`` selects it). Days off "observed" in lieu of a holiday and
    substituted rest days are never occasions. Key ``holiday:<English name>:<day>``.
    """

    type: Literal["holiday"]
    names: list[Annotated[str, Field(min_length=1)]] | None = Field(None, min_length=1)
    categories: list[str] = Field(default_factory=lambda: ["public"], min_length=1)
    tones: list[Tone] = Field(default_factory=_celebrations, min_length=1)
    days_before: int = Field(0, ge=0, le=60)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, categories: list[str]) -> list[str]:
        unknown = [c for c in categories if c not in HOLIDAY_CATEGORIES]
        if unknown:
            raise ValueError(
                f"unknown holiday category {unknown[0]!r}; known: "
                + ", ".join(sorted(HOLIDAY_CATEGORIES))
            )
        return categories


class ReorderTrigger(Strict):
    """N days after the customer's last order of a SKU, when they may be running out.

    ``skus`` sets a replenishment interval per SKU; ``days_after`` is the interval for
    every other SKU, or, when omitted, only the listed SKUs qualify. ``learn: true``
    uses the customer's own rhythm instead: the median gap, in days, between their
    orders of the SKU (rounded to the nearest day), once they have ordered it on at
    least two different days; otherwise the configured interval applies, and a SKU
    with neither has no occasion. With ``learn: true`` and neither ``skus`` nor
    ``days_after``, every SKU ordered on two days or more qualifies. Key
    ``reorder:<SKU>:<day of the last order of it>``.
    """

    type: Literal["reorder"]
    days_after: int | None = Field(None, ge=1, le=3650)
    skus: dict[str, Annotated[int, Field(ge=1, le=3650)]] = Field(default={})
    learn: bool = False

    @model_validator(mode="after")
    def _some_interval(self) -> ReorderTrigger:
        if self.days_after is None and not self.skus and not self.learn:
            raise ValueError("give days_after, skus or learn: true")
        return self

    def interval_for(self, sku: str) -> int | None:
        return self.skus.get(sku, self.days_after)

    def covers(self, sku: str) -> bool:
        """Whether this SKU can have an occasion at all."""
        return sku in self.skus or self.days_after is not None or not self.skus


class WelcomeTrigger(Strict):
    """``days_after`` days (0 = the same day) after the customer's first order, or
    after they signed up with ``after: signup``.

    Key ``welcome:<first order id>``, or ``welcome:signup``.
    """

    type: Literal["welcome"]
    after: Literal["first_order", "signup"] = "first_order"
    days_after: Days = 0


class WinbackTrigger(Strict):
    """The day the customer's last order becomes exactly ``days_without_order`` days
    old, so one occasion per lapse; customers who never ordered never qualify.

    Key ``winback:<day of the last order>``.
    """

    type: Literal["winback"]
    days_without_order: int = Field(ge=1, le=3650)


class TierReachedTrigger(Strict):
    """The day the customer's loyalty tier rises, by trailing 12-month spend.

    The tier at the end of the local day is compared with the tier at the end of the
    day before; ``tiers: [vib, rouge]`` keeps only rises to one of those tiers or
    above. A customer whose spend drops below a threshold (old orders age out) and
    later rises again is congratulated again. Key ``tier:<new tier>:<day>``.
    """

    type: Literal["tier_reached"]
    tiers: list[str] | None = Field(None, min_length=1)


class FeedbackTrigger(Strict):
    """``days_after_order`` days after each order: one occasion per order.

    Key ``feedback:<order id>``.
    """

    type: Literal["feedback"]
    days_after_order: Days


class RecurringTrigger(Strict):
    """Dates matching a cron expression, in the customer's local calendar.

    ``cron: "0 10 1 * *"`` is the 1st of every month. Only the day fields matter; the
    minute and hour fields are checked but ignored (the ``send_window`` sets the
    time). See :mod:`rapport.engine.triggers.cron`. Key ``recurring:<day>``.
    """

    type: Literal["recurring"]
    cron: str

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str) -> str:
        parse_cron(cron)
        return cron

    @property
    def schedule(self) -> CronSchedule:
        return parse_cron(self.cron)


#: The longest ``delay`` an event trigger may have, and the form it is written in.
MAX_EVENT_DELAY = 365
_DELAY = re.compile(r"(\d{1,3})([dw])")


class EventTrigger(Strict):
    """``delay`` after an event another system posted (``POST /api/v1/events``):
    ``{type: event, name: order_shipped, delay: 2d}`` has an occasion on the
    customer's local day two days after the local day the event occurred on.

    ``name`` is the event's name (a lower-case identifier); ``delay`` is days or
    weeks (``0d``, the same day, up to ``365d`` or ``52w``; default ``0d``). Several
    events of the name on one local day make one occasion, about the first of them.
    ``sample_data`` is the ``data`` ``rapport campaigns validate`` and previews
    render the templates with (``occasion.event.data``), so a template that reads
    ``occasion.event.data.carrier`` is checked. Key ``event:<name>:<local day of the
    event>``.
    """

    type: Literal["event"]
    name: str
    delay: str = "0d"
    sample_data: dict[str, Any] = Field(default={})

    @field_validator("name")
    @classmethod
    def _known_form(cls, name: str) -> str:
        try:
            return event_name(name)
        except FieldInvalid as exc:
            raise ValueError(exc.reason) from None

    @field_validator("delay", mode="before")
    @classmethod
    def _with_unit(cls, delay: object) -> object:
        if isinstance(delay, int) and not isinstance(delay, bool):  # delay: 2
            raise ValueError(
                f"{delay} has no unit: write {delay}d for days or {delay}w for weeks "
                f"(0d to {MAX_EVENT_DELAY}d)"
            )
        return delay

    @field_validator("delay")
    @classmethod
    def _delay_form(cls, delay: str) -> str:
        match = _DELAY.fullmatch(delay.strip())
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1) if match else -1
        if not 0 <= days <= MAX_EVENT_DELAY:
            raise ValueError(
                f"{delay!r} is not a delay: write days or weeks from 0d to "
                f"{MAX_EVENT_DELAY}d, e.g. 2d or 1w"
            )
        return delay.strip()

    @field_validator("sample_data")
    @classmethod
    def _small_json(cls, data: dict[str, Any]) -> dict[str, Any]:
        try:
            data_text(data)
        except FieldInvalid as exc:
            raise ValueError(exc.reason) from None
        return data

    @property
    def days(self) -> int:
        """The delay in days."""
        match = _DELAY.fullmatch(self.delay)
        assert match is not None  # checked when the file was read
        return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


Trigger = Annotated[
    BirthdayTrigger
    | AnniversaryTrigger
    | HolidayTrigger
    | ReorderTrigger
    | WelcomeTrigger
    | WinbackTrigger
    | TierReachedTrigger
    | FeedbackTrigger
    | RecurringTrigger
    | EventTrigger,
    Field(discriminator="type"),
]
