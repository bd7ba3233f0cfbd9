"""A/B results of a campaign: each variant's conversion against the control variant.

The planner records the variant of every message it plans (outbox ``variant``).
:func:`rapport.engine.reports.figures.campaign_metrics` counts, per variant, the sent
messages and those converted (the funnel's rule: an order of the customer within the
attribution window after ``sent_at``); this module turns those counts into rows.

The control arm is the variant listed first in the campaign file (the campaign model
has no other way to mark one). Variants no longer in the file, or all of them when the
file cannot be read, follow in name order; the control is the first variant, in that
order, with messages in the period. Held-out messages (the holdout, which also carries
a variant) and messages without a variant are not part of any arm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rapport.engine.campaigns.model import campaign_files, load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError
from rapport.engine.reports.intervals import difference

#: Campaign id -> its variant names in the order of the campaign file.
VariantOrder = Mapping[str, Sequence[str]]


def variant_order(settings: Settings) -> dict[str, list[str]]:
    """The variants of every campaign file that loads, in file order (a file that
    does not load is skipped: its variants fall back to name order)."""
    directory: Path = settings.campaigns_path
    if not directory.is_dir():
        return {}
    order: dict[str, list[str]] = {}
    for path in campaign_files(directory):
        try:
            campaign = load_campaign(path, settings)
        except CampaignError:
            continue
        if campaign.variants:
            order[campaign.id] = [v.name for v in campaign.variants]
    return order


def variant_results(
    arms: Mapping[str, Sequence[int]], listed: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per variant from ``arms`` (variant -> [sent, converted]): its sent,
    converted and conversion rate, and for every variant but the control its rate
    minus the control's with a 95 % Newcombe interval (``vs_control``; None when
    either arm has no sent message)."""
    if not arms:
        return []
    position = {name: index for index, name in enumerate(listed)}
    names = sorted(arms, key=lambda name: (position.get(name, len(position)), name))
    control_sent, control_converted = arms[names[0]]
    rows = []
    for index, name in enumerate(names):
        sent, converted = arms[name]
        rows.append(
            {
                "variant": name,
                "control": index == 0,
                "sent": sent,
                "converted": converted,
                "conversion_rate": None if not sent else round(converted / sent, 6),
                "vs_control": None
                if index == 0
                else difference(converted, sent, control_converted, control_sent),
            }
        )
    return rows
