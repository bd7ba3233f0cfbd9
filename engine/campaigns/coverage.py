"""Which synthetic customers ``rapport campaigns validate`` renders a campaign for.

One sample customer misses a typo inside ``{% if customer.tier == "rouge" %}``;
every combination of tiers, stages, RFM segments, holiday tones and optional fields
would be thousands of renders per template. :func:`covering_traits` takes a small
set in which every value the campaign can reach appears at least once:

- the typical sample (:func:`rapport.engine.campaigns.samples.sample_context`), first;
- sample *i* of *n* (*n* the longest list) with the *i*-th tier, lifecycle stage of
  a customer who ordered, RFM segment and holiday tone, shorter lists cycling;
- one sample with every optional value absent that a customer of the campaign can
  lack: no first or last name, no recommendation, no country and no birthday, and no
  orders at all (no last order, favourite, segment nor days since) when someone who
  never ordered can get the campaign; its ``customer.locale`` has a region
  (``en_US`` for the ``en`` folder), as most customers' have.

Only reachable values are taken: the tiers in config.yaml (for ``tier_reached``, those
its ``tiers`` rise to), the audience's ``stages``, ``tiers`` and ``rfm_segments`` when
it lists them, the holiday tones the trigger keeps. A customer without orders is left
out when the trigger is about an order (reorder, feedback, winback, a welcome after
the first order, a tier reached) or the audience needs orders, so a template that may
rightly assume a last order is not blamed. Each campaign's A/B variants, channels and
locales are rendered by :mod:`rapport.engine.campaigns.validate` on top of these.

A sample mixes several values, so when one fails :func:`culprit` tries each of its
values alone on the typical sample to name the one that reaches the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

from rapport.engine.campaigns.audience import Audience
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import TYPICAL, Traits
from rapport.engine.core.config import STAGES, Settings
from rapport.engine.customers.lifecycle import SEGMENTS
from rapport.engine.triggers.models import HolidayTrigger, TierReachedTrigger, WelcomeTrigger

__all__ = ["covering_traits", "culprit"]

#: Triggers whose occasion is an order: every customer who has one has ordered.
_ABOUT_AN_ORDER = frozenset({"reorder", "feedback", "winback", "tier_reached"})
#: ``where`` fields a customer without orders never meets.
_ORDER_FIELDS = frozenset({"order_count", "lifetime_value", "days_since_last_order", "segment"})


def covering_traits(campaign: Campaign, settings: Settings) -> list[Traits]:
    """The synthetic customers to render the campaign's templates for (typical first)."""
    audience = campaign.audience
    tiers = _tiers(campaign, settings)
    stages = [s for s in STAGES if s != "prospect" and _admits(audience.stages, s)]
    segments = [s for s in SEGMENTS if _admits(audience.rfm_segments, s)]
    trigger = campaign.trigger
    tones = list(trigger.tones) if isinstance(trigger, HolidayTrigger) else []
    longest = max(len(tiers), len(stages), len(segments), len(tones))
    found = [TYPICAL]
    for i in range(longest):
        found.append(
            Traits(
                tier=_nth(tiers, i),
                stage=_nth(stages, i),
                segment=_nth(segments, i),
                tone=_nth(tones, i),
            )
        )
    conditions = {c.field for c in audience.where or ()}
    found.append(
        Traits(
            named=False,
            recommendation=False,
            country=audience.countries is not None or "country" in conditions,
            birthday=trigger.type == "birthday" or "age" in conditions,
            ordered=not _reaches_the_orderless(campaign, audience, conditions),
            regional=True,
        )
    )
    return list(dict.fromkeys(found))


def culprit(traits: Traits, fails: Callable[[Traits], bool]) -> str:
    """What in ``traits`` reaches a problem: the first of its values that ``fails``
    alone on the typical sample, else all of them (a combination reaches it)."""
    for alone in traits.single():
        if fails(alone):
            return ", ".join(alone.labels())
    return ", ".join(traits.labels())


def _tiers(campaign: Campaign, settings: Settings) -> list[str]:
    levels = [level.name for level in settings.tiers.levels]
    trigger = campaign.trigger
    if isinstance(trigger, TierReachedTrigger):
        # A rise to one of ``tiers`` or above; without it, any rise (not to the lowest).
        listed = [levels.index(t) for t in trigger.tiers or () if t in levels]
        levels = levels[min(listed) :] if listed else levels[1:] or levels
    return [t for t in levels if _admits(campaign.audience.tiers, t)]


def _reaches_the_orderless(
    campaign: Campaign, audience: Audience, conditions: AbstractSet[str]
) -> bool:
    """Whether a customer who never ordered can get the campaign."""
    trigger = campaign.trigger
    if trigger.type in _ABOUT_AN_ORDER:
        return False
    if isinstance(trigger, WelcomeTrigger) and trigger.after == "first_order":
        return False
    bounds = audience.lifetime_value
    return (
        _admits(audience.stages, "prospect")
        and audience.rfm_segments is None
        and (bounds is None or bounds.min is None or bounds.min <= 0)
        and not conditions & _ORDER_FIELDS
    )


def _admits(listed: Sequence[str] | None, value: str) -> bool:
    return listed is None or value in listed


def _nth(values: Sequence[str], i: int) -> str | None:
    return values[i % len(values)] if values else None
