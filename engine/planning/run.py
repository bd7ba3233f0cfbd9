"""Planning a day: the effects around the pure planner.

Reads customers, consent and suppression in batches, asks the planner, renders each
newly planned message once, and writes each batch's messages to the outbox in one
transaction. A message already in the outbox is neither rendered nor written again.
Only customers some campaign could message that day are read (the SQL pre-filter of
:mod:`rapport.engine.planning.prefilter`). A real run also stores why it decided what
it did (every decision but ``no_occasion`` and ``already_planned``) in the same
transactions as the outbox rows (:mod:`rapport.engine.planning.decisions`). This is
the loop over one range of customer ids; :mod:`rapport.engine.planning.plan` cuts a
large run into ranges and shares them between processes (:mod:`rapport.engine.planning.shards`).
"""

from __future__ import annotations

import functools
import gc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, Engine
from sqlalchemy.exc import DBAPIError

from rapport.consent.links import LINKS
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.sms_cost import channel_limits
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError, Problem
from rapport.engine.core.keys import secret_key
from rapport.engine.core.models import MessageStatus
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.customers.profiles import IdRange, count_customers, iter_profile_batches
from rapport.engine.customers.recommend import CoPurchase, load_co_purchase
from rapport.engine.delivery import outbox
from rapport.engine.delivery.suppression import (
    suppression_snapshot,
)
from rapport.engine.planning import write_errors
from rapport.engine.planning.audiences import audiences_for
from rapport.engine.planning.context import message_context
from rapport.engine.planning.decisions import DecisionLog
from rapport.engine.planning.erased import without_erased
from rapport.engine.planning.history import lookback_days
from rapport.engine.planning.planner import (
    Decision,
    Reason,
    history_cutoff,
    plan,
)
from rapport.engine.planning.prefilter import candidate_clause
from rapport.engine.rendering.renderer import (
    SMS_TEXT,
    ChannelKind,
    RenderedMessage,
    Renderer,
    channel_kind,
)
from rapport.engine.rendering.sms_encoding import count_sms
from rapport.engine.triggers import event_query

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Called with each message planned (after it rendered).
PlannedCallback = Callable[[Decision, RenderedMessage], None]


@dataclass
class PlanReport:
    day: date
    #: Customers in the run (in its id range, or those asked for).
    customers: int = 0
    #: Customers read and asked about: the pre-filter leaves out those no campaign
    #: could message that day (see :mod:`rapport.engine.planning.prefilter`).
    candidates: int = 0
    planned: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    inserted: int = 0
    already_planned: int = 0
    #: Decisions sent to ``plan_decision`` (new, replaced or unchanged).
    decisions_stored: int = 0
    render_errors: list[str] = field(default_factory=list)

    @property
    def planned_total(self) -> int:
        return sum(self.planned.values())

    def add(self, other: PlanReport) -> None:
        """Fold in the report of another part of the same run (another id range)."""
        self.customers += other.customers
        self.candidates += other.candidates
        self.planned.update(other.planned)
        self.skipped.update(other.skipped)
        self.inserted += other.inserted
        self.decisions_stored += other.decisions_stored
        self.already_planned += other.already_planned
        self.render_errors.extend(other.render_errors)


#: The garbage collector's youngest threshold while planning (Python's default: 700).
YOUNG_THRESHOLD = 20_000


def _collector_frozen(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` with what already lives (compiled templates, settings, caches,
    modules) moved out of the garbage collector's reach, given back at the end: every
    full collection would otherwise walk it again, and a run allocates enough
    (profiles, orders, contexts) to start many; reading a batch took up to twice as
    long in a large process."""

    @functools.wraps(function)
    def frozen(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        gc.freeze()
        thresholds = gc.get_threshold()
        # Young collections every YOUNG_THRESHOLD allocations instead of 700: most of
        # what a batch allocates is freed by reference counting before it is looked at
        # (the 200k broadcast's collections: 1.17 -> 0.59 s of 32 s).
        gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *thresholds[1:])
        try:
            return function(*args, **kwargs)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    return frozen


@_collector_frozen
def plan_range(
    engine: Engine,
    settings: Settings,
    campaigns: Sequence[Campaign],
    day: date,
    now: datetime,
    *,
    renderer: Renderer,
    signer: Signer,
    dry_run: bool = False,
    on_planned: PlannedCallback | None = None,
    customer_ids: Sequence[str] | None = None,
    co_purchase: CoPurchase | None = None,
    id_range: IdRange | None = None,
    where: ColumnElement[bool] | None = None,
    before_write: Callable[[], None] | None = None,
) -> PlanReport:
    """Plan ``day`` in this process, batch by batch, for the customers of ``id_range``
    (all when None) or only ``customer_ids``; ``dry_run`` renders and reports but
    writes nothing. :func:`rapport.engine.planning.plan.run_plan` decides whether a
    run is cut into ranges shared between processes; each range comes here.
    ``where`` is the run's pre-filter when the caller has built it already.
    ``before_write`` is called after each batch is planned, before it is written (a
    daemon renews its shard's lease there; what it raises ends the run unwritten).
    """
    report = PlanReport(day=day)
    # ``retention.decision_days: 0`` keeps none (explain then always recomputes).
    keep = not dry_run and settings.retention.decision_days > 0
    log = DecisionLog(day, now) if keep else None
    by_id = {c.id: c for c in campaigns}
    cutoff = history_cutoff(day, now)
    # Asked about named customers, read them all (explain and preview want every
    # reason); otherwise read only those some campaign could message today.
    if customer_ids is not None:
        where = None
    elif where is None:
        where = candidate_clause(campaigns, day, now, settings)
    with engine.connect() as reader:
        coupon_key = secret_key(settings, engine)
        suppression = suppression_snapshot(reader)
        topics = {campaign.topic for campaign in campaigns}
        lookback = lookback_days(campaigns)
        # (template set, channel kind, locale) -> what its templates read.
        reading: dict[tuple[str, str, str], tuple[bool, tuple[str, ...]]] = {}
        # ... and the locale its customers read it in (Renderer.reading_locale).
        reading_locales: dict[tuple[str, str, str], str] = {}
        if where is not None:
            report.customers = count_customers(reader, id_range)
        batches = iter_profile_batches(
            reader,
            settings,
            cutoff,
            customer_ids=customer_ids,
            where=where,
            id_range=id_range,
            events=event_query([campaign.trigger for campaign in campaigns], day),
        )
        for batch in batches:
            report.candidates += len(batch)
            if where is None:
                report.customers += len(batch)
            profiles = {c.id: c for c in batch}
            audiences = audiences_for(reader, batch, day, suppression, topics, lookback)
            rows = []
            for decision in plan(batch, campaigns, audiences, day, now, settings):
                if log is not None:
                    log.add(decision)
                if decision.reason is Reason.HOLDOUT:
                    report.skipped[(decision.campaign, decision.reason.value)] += 1
                    rows.append(_row(decision, None, now, profiles[decision.customer_id]))
                    continue
                if not decision.selected:
                    report.skipped[(decision.campaign, decision.reason.value)] += 1
                    if decision.reason is Reason.ALREADY_PLANNED:
                        report.already_planned += 1
                    continue
                campaign = by_id[decision.campaign]
                channel, locale = decision.channel, decision.locale
                assert channel is not None and locale is not None  # set when selected
                kind = channel_kind(settings.channels[channel].kind or channel)
                template_set = decision.template_set or campaign.template_set
                # Who bought what together is built at most once per run, and only
                # when a template shows a recommendation.
                reads_key = (template_set, kind, locale)
                reads = reading.get(reads_key)
                if reads is None:
                    reads = reading[reads_key] = _reads(renderer, *reads_key)
                recommends, links = reads
                reading_locale = reading_locales.get(reads_key)
                if reading_locale is None:
                    reading_locale = reading_locales[reads_key] = renderer.reading_locale(
                        *reads_key
                    )
                if recommends and co_purchase is None:
                    co_purchase = load_co_purchase(reader, as_of=cutoff)
                context = message_context(
                    profiles[decision.customer_id],
                    decision,
                    campaign,
                    settings,
                    signer,
                    co_purchase=co_purchase if recommends else None,
                    coupon_key=coupon_key,
                    links=links,
                    reading_locale=reading_locale,
                )
                try:
                    rendered = renderer.render(template_set, kind, locale, context)
                    _sms_fits(renderer, rendered, campaign, settings, channel, template_set)
                except CampaignError as exc:
                    report.render_errors.append(_render_error(decision, exc))
                    if log is not None:  # it was kept as selected: say why it was not
                        log.rows.pop()
                        log.add(decision, Reason.RENDER_ERROR, _render_cause(exc))
                    report.skipped[(decision.campaign, Reason.RENDER_ERROR.value)] += 1
                    continue
                report.planned[(decision.campaign, channel, rendered.locale)] += 1
                rows.append(_row(decision, rendered, now, profiles[decision.customer_id]))
                if on_planned is not None:
                    on_planned(decision, rendered)
            if before_write is not None:
                before_write()
            if not dry_run and (rows or (log is not None and log.rows)):
                erased: list[int] = []
                inserted = write_batch(engine, rows, log, erased.append)
                report.inserted += inserted
                # A concurrent planner won the rest, but for customers erased meanwhile.
                report.already_planned += len(rows) - inserted - sum(erased)
    if log is not None:
        report.decisions_stored = log.written
    return report


def write_batch(
    engine: Engine,
    rows: list[dict[str, Any]],
    log: DecisionLog | None = None,
    on_erased: Callable[[int], None] | None = None,
) -> int:
    """A batch's outbox rows, and the decisions ``log`` kept, in one transaction;
    returns how many outbox rows were new. Rows and decisions of customers erased
    since the batch was read are left out (:mod:`rapport.engine.planning.erased`), and
    the number of rows given to ``on_erased``. A refusal of the database is a
    :class:`~rapport.engine.planning.write_errors.BatchWriteError` naming the customers
    (never the driver's error, which quotes the data)."""
    try:
        with engine.begin() as writer:
            kept = without_erased(writer, rows, log)
            if on_erased is not None and len(kept) < len(rows):
                on_erased(len(rows) - len(kept))
            inserted = outbox.enqueue(writer, kept)
            if log is not None:
                log.write(writer)
            return inserted
    except DBAPIError as exc:
        raise write_errors.refused(engine, rows, exc) from None


def _reads(
    renderer: Renderer, template_set: str, kind: ChannelKind, locale: str
) -> tuple[bool, tuple[str, ...]]:
    """Whether a message's templates show a recommendation, and the signed links they
    read (building or signing the others is wasted)."""
    links = tuple(
        name for name in LINKS if renderer.reads(template_set, kind, locale, f"links.{name}")
    )
    return renderer.reads(template_set, kind, locale, "recommendation"), links


class TooManySegments(Exception):
    """An SMS that takes more segments than its campaign's ``sms_max_segments``: each
    segment is billed, and ``campaigns validate`` measured only its sample customers."""


def _sms_fits(
    renderer: Renderer,
    rendered: RenderedMessage,
    campaign: Campaign,
    settings: Settings,
    channel: str,
    folder: str,
) -> None:
    """Raise :class:`CampaignError` for an SMS over the campaign's ``sms_max_segments``
    (from :class:`TooManySegments`) or longer than an adapter of ``channel`` carries
    (from :class:`TooLongForChannel`): a real customer's text (a long name, a Persian
    one) can run longer than the samples validation rendered, and is then not planned."""
    if rendered.subject is not None:
        return
    why: str | None = None
    cause: Exception | None = None
    limit = campaign.sms_max_segments
    if limit is not None and (segments := count_sms(rendered.text).segments) > limit:
        why = f"{segments} segments, {limit} allowed (sms_max_segments)"
        cause = TooManySegments(why)
    else:
        for adapter, most in channel_limits(settings, channel):
            if len(rendered.text) > most:
                why = f"{len(rendered.text)} characters; the {adapter} adapter carries {most}"
                cause = TooLongForChannel(why)
                break
    if why is not None:
        file = renderer.file_of(folder, SMS_TEXT, rendered.locale)
        raise CampaignError([Problem(file, None, why)]) from cause


class TooLongForChannel(Exception):
    """An SMS longer than an adapter of its channel carries (``max_body_chars``):
    it would fail for good at sending."""


def _render_error(decision: Decision, exc: CampaignError) -> str:
    """Where a template failed for whom, without the error's text.

    A template error's message can quote the data it was rendering (a name, say), and
    this line goes to terminals and logs; ``rapport preview`` shows the whole message
    to an operator who asks for that customer.
    """
    where, cause = _render_cause(exc).rsplit(": ", 1)
    return (
        f"{where}: {cause} for customer {decision.customer_id}; see `rapport preview "
        f"{decision.campaign} --customer {decision.customer_id} --date {decision.occasion.date}`"
        if decision.occasion
        else f"{where}: {cause} for customer {decision.customer_id}"
    )


def _render_cause(exc: CampaignError) -> str:
    """Which template failed, and the kind of error (never its text: see _render_error)."""
    where = (
        ", ".join(p.file if p.line is None else f"{p.file}:{p.line}" for p in exc.problems)
        or "template"
    )
    return f"{where}: {type(exc.__cause__ or exc).__name__}"


def _row(
    decision: Decision,
    rendered: RenderedMessage | None,
    now: datetime,
    customer: CustomerProfile,
) -> dict[str, Any]:
    """An outbox row; a held-out decision is recorded with no content and never sent.
    The customer's zone and country go with it, for the check before the send."""
    assert decision.occasion is not None and decision.channel is not None
    assert decision.topic is not None and decision.locale is not None
    assert decision.send_at is not None
    content: dict[str, Any] = {"status": MessageStatus.HELD_OUT}
    if rendered is not None:
        content = {
            "status": MessageStatus.QUEUED,
            "subject": rendered.subject,
            "body_text": rendered.text,
            "body_html": rendered.html,
            # An SMS is rendered without a subject; e-mail always has one.
            "segments": count_sms(rendered.text).segments if rendered.subject is None else None,
        }
    return outbox.outbox_row(
        customer_id=decision.customer_id,
        campaign=decision.campaign,
        occasion=decision.occasion.key,
        channel=decision.channel,
        topic=decision.topic,
        locale=decision.locale,
        variant=decision.variant,
        send_at=decision.send_at,
        expires_at=decision.expires_at,
        created_at=now,
        timezone=customer.timezone,
        country=customer.country,
        **content,
    )
