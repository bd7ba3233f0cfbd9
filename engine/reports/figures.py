"""The figures of ``rapport report``: customers, campaigns, consent and feedback.

One function, :func:`build_report`, reads the database and returns a plain,
JSON-ready dictionary; the terminal tables, the JSON and the HTML page all format
that same dictionary, so they can never disagree. Every definition is stated in
docs/reports.md and in the docstring of the function computing it.

Times are bucketed in UTC (months, days); a period is whole UTC days, ``start`` to
``end`` inclusive. Amounts are converted to the tier base currency with the
configured rates (an order in a currency without a rate counts as 0). Lifecycle
stage, tier and RFM segment use each customer's own time zone, as the planner does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Connection, and_, func, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import (
    CONSENT_EVENT,
    FEEDBACK_ANSWER,
    OUTBOX,
    MessageStatus,
)
from rapport.engine.core.timeutil import as_utc
from rapport.engine.reports.conversions import campaign_metrics, uplift
from rapport.engine.reports.customer_figures import MAX_LIFESPAN_YEARS, cohorts, customer_metrics
from rapport.engine.reports.distribution import distributions
from rapport.engine.reports.period import Period, rate, ratio, utc_day, utc_month
from rapport.engine.reports.variants import VariantOrder
from rapport.engine.reports.variants import variant_order as load_variant_order

__all__ = [
    "MAX_LIFESPAN_YEARS",
    "Period",
    "build_report",
    "campaign_metrics",
    "cohorts",
    "consent_health",
    "customer_metrics",
    "distributions",
    "feedback",
    "nps",
    "sends_per_day",
    "uplift",
]


def sends_per_day(connection: Connection, period: Period) -> list[dict[str, Any]]:
    """Messages sent (status sent, by ``sent_at``) per UTC day and channel."""
    day = utc_day(connection, OUTBOX.c.sent_at)
    rows = connection.execute(
        select(day, OUTBOX.c.channel, func.count())
        .where(
            OUTBOX.c.status == MessageStatus.SENT,
            OUTBOX.c.sent_at >= period.begin,
            OUTBOX.c.sent_at < period.finish,
        )
        .group_by(day, OUTBOX.c.channel)
    )
    counts = {(found, channel): int(n) for found, channel, n in rows}
    return [{"day": d, "channel": c, "sent": n} for (d, c), n in sorted(counts.items())]


def consent_health(connection: Connection, period: Period) -> list[dict[str, Any]]:
    """Opt-ins (events ``granted``) and opt-outs (``withdrawn``) per UTC month, channel
    and topic, by ``captured_at``; ``opt_out_share`` = opt-outs / (opt-ins + opt-outs)."""
    month = utc_month(connection, CONSENT_EVENT.c.captured_at)
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for found, channel, topic, status, n in connection.execute(
        select(month, CONSENT_EVENT.c.channel, CONSENT_EVENT.c.topic, CONSENT_EVENT.c.status)
        .add_columns(func.count())
        .where(
            CONSENT_EVENT.c.captured_at >= period.begin,
            CONSENT_EVENT.c.captured_at < period.finish,
            CONSENT_EVENT.c.status.in_(["granted", "withdrawn"]),
        )
        .group_by(month, CONSENT_EVENT.c.channel, CONSENT_EVENT.c.topic, CONSENT_EVENT.c.status)
    ):
        counts[(found, channel, topic)][status] += int(n)
    return [
        {
            "month": month,
            "channel": channel,
            "topic": topic,
            "opt_ins": found["granted"],
            "opt_outs": found["withdrawn"],
            "opt_out_share": rate(ratio(found["withdrawn"], found["granted"] + found["withdrawn"])),
        }
        for (month, channel, topic), found in sorted(counts.items())
    ]


def nps(scores: Counter[int]) -> dict[str, Any]:
    """Net promoter score of the answers counted per score (0-10): % promoters (9-10)
    minus % detractors (0-6)."""
    answers = sum(scores.values())
    promoters = sum(n for score, n in scores.items() if score >= 9)
    detractors = sum(n for score, n in scores.items() if score <= 6)
    return {
        "answers": answers,
        "promoters": promoters,
        "passives": answers - promoters - detractors,
        "detractors": detractors,
        "nps": None if not answers else round(100 * (promoters - detractors) / answers, 4),
    }


def feedback(connection: Connection, period: Period) -> dict[str, Any]:
    """NPS of the answers given in the period, overall and by campaign, stage and tier
    (the customer's on the day they answered), and every non-empty comment. The
    answers are counted in the database (per campaign, stage, tier and score); only
    the comments, which the report lists, are read one by one."""
    answer = FEEDBACK_ANSWER.c
    in_period = and_(answer.answered_at >= period.begin, answer.answered_at < period.finish)
    overall: Counter[int] = Counter()
    groups: dict[str, dict[str, Counter[int]]] = {
        key: defaultdict(Counter) for key in ("campaign", "stage", "tier")
    }
    for campaign, stage, tier, score, n in connection.execute(
        select(answer.campaign, answer.stage, answer.tier, answer.score, func.count())
        .where(in_period)
        .group_by(answer.campaign, answer.stage, answer.tier, answer.score)
    ):
        overall[score] += n
        for key, name in (("campaign", campaign), ("stage", stage), ("tier", tier)):
            groups[key][name][score] += n
    comments = connection.execute(
        select(
            answer.customer_id,
            answer.campaign,
            answer.occasion,
            answer.score,
            answer.comment,
            answer.locale,
            answer.stage,
            answer.tier,
            answer.answered_at,
        )
        .where(in_period, answer.comment.is_not(None), answer.comment != "")
        .order_by(answer.answered_at, answer.id)
    )

    def grouped(key: str) -> dict[str, Any]:
        return {name: nps(scores) for name, scores in sorted(groups[key].items())}

    return {
        "overall": nps(overall),
        "by_campaign": grouped("campaign"),
        "by_stage": grouped("stage"),
        "by_tier": grouped("tier"),
        "comments": [
            {
                "customer_id": row.customer_id,
                "campaign": row.campaign,
                "occasion": row.occasion,
                "score": row.score,
                "comment": row.comment,
                "locale": row.locale,
                "stage": row.stage,
                "tier": row.tier,
                "answered_at": as_utc(row.answered_at).isoformat(),
            }
            for row in comments
        ],
    }


def build_report(
    connection: Connection,
    settings: Settings,
    period: Period,
    *,
    window_days: int = 7,
    active_days: int = 365,
    variant_order: VariantOrder | None = None,
) -> dict[str, Any]:
    """Everything ``rapport report`` shows, as plain JSON-ready data. The control of
    each A/B test is the first variant of ``variant_order`` (default: as listed in
    the campaign files). Nothing here holds every order, message or event: customer
    figures, sends, consent and NPS are counted in the database, stages and tiers
    stream each customer's orders through a small summary, and the campaigns stream
    their messages in runs."""
    if variant_order is None:
        variant_order = load_variant_order(settings)
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "base_currency": settings.tiers.base_currency,
        "attribution_window_days": window_days,
        "customers": customer_metrics(connection, settings, period, active_days),
        "cohorts": cohorts(connection, period),
        "distribution": distributions(connection, settings, period),
        "campaigns": campaign_metrics(connection, settings, period, window_days, variant_order),
        "sends_per_day": sends_per_day(connection, period),
        "consent": consent_health(connection, period),
        "feedback": feedback(connection, period),
    }
