"""Audience rules: whether a customer is someone a campaign is meant for.

Pure: a function of the campaign's audience, the customer's profile and what the
planner derived for the day (stage, tier). Each miss names the rule that excluded
the customer, so ``rapport explain`` can say precisely why.

In a campaign file::

    audience:
      stages: [repeat, loyal]          # lifecycle stages (engine/customers/lifecycle.py)
      tiers: [vib, rouge]              # loyalty tiers from config.yaml
      rfm_segments: [champions, loyal] # RFM segments (lifecycle.segment_of)
      lifetime_value: {min: 100, max: 5000}   # base currency, both ends included
      countries: [IR, CN]
      locales: [fa, zh_CN]             # a language matches all its locales
      where:                           # every condition must hold
        - {field: order_count, gte: 3}
        - {field: country, not_in: [US, CA]}

A ``where`` condition is a ``field`` from :data:`CONDITION_FIELDS` and exactly one
operator: ``eq``, ``ne``, ``in``, ``not_in`` (any field) or ``gt``, ``gte``, ``lt``,
``lte`` (numeric fields). Text compares ignoring case, and ``-`` equals ``_`` in
locales. A condition on a value the customer does not have (no country, no
birthday for ``age``, no orders for ``days_since_last_order`` or ``segment``) is not
met, whatever the operator: a campaign only reaches people it can be sure about.
Nothing is evaluated as code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from rapport.engine.core.config import STAGES, Strict
from rapport.engine.customers.lifecycle import RFM, SEGMENTS, Segment, Stage, rfm_of, segment_of
from rapport.engine.triggers.occasions import same_day_in

if TYPE_CHECKING:
    from rapport.engine.customers.profile import CustomerProfile

ConditionField = Literal[
    "country",
    "locale",
    "language",
    "stage",
    "tier",
    "segment",
    "order_count",
    "lifetime_value",
    "days_since_last_order",
    "age",
    "timezone",
]
CONDITION_FIELDS: tuple[str, ...] = get_args(ConditionField)
NUMERIC_FIELDS = frozenset({"order_count", "lifetime_value", "days_since_last_order", "age"})
#: Fields whose value depends on the day the campaign is planned for.
#: The highest value a numeric field can take (none: no bound; the lowest is 0).
_HIGHEST = {"age": Decimal(150), "days_since_last_order": Decimal(36_500)}
DAY_FIELDS = frozenset({"segment", "days_since_last_order", "age"})
OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte")
Scalar = str | Decimal


class _Aliased(Strict):
    """Audience keys have YAML aliases (``min``/``max``); either spelling is read."""

    model_config = ConfigDict(populate_by_name=True)


class ValueRange(_Aliased):
    """An inclusive range in the base currency; give ``min``, ``max`` or both."""

    min: Decimal | None = Field(None, ge=0)
    max: Decimal | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> ValueRange:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class Condition(_Aliased):
    """``{field: order_count, gte: 3}``: one field, exactly one operator."""

    field: ConditionField
    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in", min_length=1)
    not_in: list[Scalar] | None = Field(None, min_length=1)
    gt: Decimal | None = None
    gte: Decimal | None = None
    lt: Decimal | None = None
    lte: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_yaml_booleans(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                values = value if isinstance(value, list) else [value]
                if key != "field" and any(isinstance(v, bool) for v in values):
                    raise ValueError(
                        f"{key}: YAML reads yes/no/on/off/true/false (and NO, Norway) as a "
                        "boolean; put the value in quotes"
                    )
        return data

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [op for op in OPERATORS if getattr(self, _attr(op)) is not None]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError(f"give exactly one operator ({', '.join(OPERATORS)}); found: {found}")
        op, value = given[0], getattr(self, _attr(given[0]))
        numeric = self.field in NUMERIC_FIELDS
        if op in ("gt", "gte", "lt", "lte") and not numeric:
            raise ValueError(f"{op} compares numbers; {self.field} is text, use eq, ne, in")
        for item in value if isinstance(value, list) else [value]:
            if numeric and not isinstance(item, Decimal):
                raise ValueError(f"{self.field} is a number; {item!r} is not")
            if numeric and _unreachable(op, item, _HIGHEST.get(self.field)):  # a typo: 180
                raise ValueError(
                    f"{self.field} {op} {item} reaches no customer ({self.field} is 0 to "
                    f"{_HIGHEST.get(self.field, 'any number')}); is it a typo?"
                )
            if not numeric and not isinstance(item, str):
                raise ValueError(f"{self.field} is text; put {item} in quotes")
            known = {"stage": STAGES, "segment": SEGMENTS}.get(self.field)
            if known is not None and item not in known:
                raise ValueError(f"unknown {self.field} {item!r}; known: {', '.join(known)}")
        return self

    @property
    def operator(self) -> tuple[str, Any]:
        """(operator as written in YAML, value)."""
        op = next(op for op in OPERATORS if getattr(self, _attr(op)) is not None)
        return op, getattr(self, _attr(op))

    @cached_property
    def target(self) -> Any:
        """The value compared with, once per campaign: text folded (:func:`_text`), the
        values of ``in`` and ``not_in`` a set. A file may list 100,000 values, folded
        again for each customer before (30 ms a customer)."""
        op, wanted = self.operator
        target = wanted if self.field in NUMERIC_FIELDS else _text(wanted)
        return frozenset(target) if op in ("in", "not_in") else target


def _unreachable(op: str, value: Decimal, highest: Decimal | None) -> bool:
    """Whether ``op value`` matches no value from 0 to ``highest`` (None: unbounded)."""
    above = highest is not None and value > highest
    match op:
        case "eq" | "in" | "gte":
            return value < 0 or above
        case "gt":
            return above or (highest is not None and value == highest)
        case "lt":
            return value <= 0
        case "lte":
            return value < 0
    return False


def _attr(op: str) -> str:
    return "in_" if op == "in" else op


class Audience(_Aliased):
    """Who may receive the campaign; an omitted rule means no restriction.

    A list rule may not be empty: ``stages: []`` would admit nobody, a campaign that
    validates and never sends (and crashed ``campaigns validate`` while it made a sample
    customer of a stage the audience admits), so it is refused at its line like any
    other mistake."""

    stages: list[Stage] | None = Field(None, min_length=1)
    tiers: list[str] | None = Field(None, min_length=1)
    rfm_segments: list[Segment] | None = Field(None, min_length=1)
    lifetime_value: ValueRange | None = None
    countries: list[str] | None = Field(None, min_length=1)
    locales: list[str] | None = Field(None, min_length=1)
    where: list[Condition] | None = Field(None, min_length=1)

    @property
    def needs_day(self) -> bool:
        return self.rfm_segments is not None or any(c.field in DAY_FIELDS for c in self.where or ())


@dataclass(frozen=True)
class AudienceMiss:
    """``code`` is the planner's reason code (``stage``, ``tier``, ``segment``, ...)."""

    code: str
    detail: str


def audience_miss(
    audience: Audience,
    customer: CustomerProfile,
    stage: str,
    tier: str,
    day: date | None = None,
) -> AudienceMiss | None:
    """The first audience rule the customer fails, or None when they are in it.

    ``day`` is the customer's local planning date; RFM segments and the ``where``
    fields ``segment``, ``days_since_last_order`` and ``age`` need it.
    """
    if day is None and audience.needs_day:
        raise TypeError("this audience depends on the day: pass day= to audience_miss")
    facts = _Facts(customer, stage, tier, day or date.min)
    if audience.stages is not None and stage not in audience.stages:
        return AudienceMiss("stage", f"stage {stage} is not targeted")
    if audience.tiers is not None and tier not in audience.tiers:
        return AudienceMiss("tier", f"tier {tier} is not targeted")
    if audience.rfm_segments is not None:
        segment = facts.value("segment")
        if segment is None:
            return AudienceMiss("segment", "no RFM segment: the customer has never ordered")
        if segment not in audience.rfm_segments:
            return AudienceMiss("segment", f"segment {segment} ({facts.rfm}) is not targeted")
    if audience.lifetime_value is not None:
        value, bounds = customer.history.lifetime_value, audience.lifetime_value
        if bounds.min is not None and value < bounds.min:
            return AudienceMiss("lifetime_value", f"lifetime value {value} is below {bounds.min}")
        if bounds.max is not None and value > bounds.max:
            return AudienceMiss("lifetime_value", f"lifetime value {value} is above {bounds.max}")
    if audience.countries is not None and (customer.country or "") not in audience.countries:
        return AudienceMiss("country", f"country {customer.country or 'unknown'} is not targeted")
    if audience.locales is not None and not _locale_matches(customer.locale, audience.locales):
        return AudienceMiss("locale", f"locale {customer.locale} is not targeted")
    for index, condition in enumerate(audience.where or ()):
        failed = _unmet(condition, facts)
        if failed is not None:
            return AudienceMiss("condition", f"where #{index + 1}: {failed}")
    return None


def _locale_matches(locale: str, wanted: list[str]) -> bool:
    language = locale.split("_")[0]
    return locale in wanted or language in wanted


class _Facts:
    """The customer's values for conditions, each computed once and only if asked."""

    def __init__(self, customer: CustomerProfile, stage: str, tier: str, day: date) -> None:
        self.customer, self.stage, self.tier, self.day = customer, stage, tier, day
        self._cache: dict[str, Any] = {}

    @cached_property
    def last_order(self) -> date | None:
        return self.customer.history.last_order_day(self.customer.timezone)

    @cached_property
    def rfm(self) -> RFM | None:
        return rfm_of(self.customer.history, self.last_order, self.day)

    def value(self, field: str) -> Any:
        if field not in self._cache:
            self._cache[field] = self._compute(field)
        return self._cache[field]

    def _compute(self, field: str) -> Any:
        customer, history = self.customer, self.customer.history
        birthday = customer.birthday
        match field:
            case "language":
                return customer.locale.replace("-", "_").split("_")[0]
            case "stage" | "tier":
                return getattr(self, field)
            case "segment":
                return segment_of(self.rfm) if self.rfm is not None else None
            case "order_count":
                return Decimal(history.order_count)
            case "lifetime_value":
                return history.lifetime_value
            case "days_since_last_order":
                return None if self.last_order is None else (self.day - self.last_order).days
            case "age":
                if birthday is None or birthday > self.day:
                    return None
                had_birthday = same_day_in(self.day.year, birthday) <= self.day
                return self.day.year - birthday.year - (0 if had_birthday else 1)
            case _:  # country, locale, timezone
                return getattr(customer, field)


#: Values of an ``in`` or ``not_in`` list a reason names.
SHOWN_VALUES = 10


def _unmet(condition: Condition, facts: _Facts) -> str | None:
    """Why the condition does not hold, or None when it does."""
    op, wanted = condition.operator
    actual = facts.value(condition.field)
    shown = wanted
    if isinstance(wanted, list):  # the first ten values, as a reason is one line
        more = f", ... {len(wanted) - SHOWN_VALUES} more" if len(wanted) > SHOWN_VALUES else ""
        shown = "[" + ", ".join(map(str, wanted[:SHOWN_VALUES])) + more + "]"
    asked = f"{condition.field} {op} {shown}"
    if actual is None:
        return f"{asked} is not met: {condition.field} is unknown"
    value = Decimal(actual) if condition.field in NUMERIC_FIELDS else _text(actual)
    target = condition.target
    holds = {
        "eq": lambda: value == target,
        "ne": lambda: value != target,
        "in": lambda: value in target,
        "not_in": lambda: value not in target,
        "gt": lambda: value > target,
        "gte": lambda: value >= target,
        "lt": lambda: value < target,
        "lte": lambda: value <= target,
    }[op]()
    return None if holds else f"{asked} is not met: {condition.field} is {actual}"


def _text(value: Any) -> Any:
    if isinstance(value, list):
        return [_text(v) for v in value]
    return str(value).replace("-", "_").casefold()
