"""The stored data: every table in one module, as SQLAlchemy Core tables.

Customers and orders are keyed by the external id they were imported with, so an
import can upsert without a lookup and orders can reference customers directly.
Consent is kept twice on purpose: ``ConsentEvent`` is the append-only evidence trail
(what proves consent), ``ConsentState`` is the current answer per channel and topic
(what the planner and dispatcher read). Only :mod:`rapport.consent` writes either.

The tables were SQLModel classes, of which nothing but the table was ever used: code
selects columns and bulk-writes rows through Core (8-16x faster than loading
entities). Building them as classes imported SQLModel and SQLAlchemy's ORM and made a
pydantic model and an ORM mapping of each, about 100 ms of every command's start.
The Core definitions below are the same tables: same columns, types, nullability,
Python-side defaults, keys, constraints and indexes (the migrations create them).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.util import PopulateDict

from rapport.engine.core.timeutil import UTCDateTime


class MessageStatus(StrEnum):
    """Every state an outbox message can be in; the only place these strings live."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    #: In the campaign's control group: recorded for measurement, never sent.
    HELD_OUT = "held_out"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    PENDING = "pending"


class PartialIndex(Index):
    """An index of only the rows ``where`` holds, on SQLite and PostgreSQL alike.

    It means ``sqlite_where=`` plus ``postgresql_where=``, but SQLAlchemy checks such
    arguments by importing the dialect they name, so every command on SQLite imported
    the PostgreSQL dialect (about 20 ms of each start). Here a dialect's ``where`` is
    set when that dialect first reads the index's options, to create it or compare it
    (or when ``kwargs`` are asked for, which lists both). The migrations create these
    indexes with the same ``WHERE``.
    """

    _DIALECTS = ("sqlite", "postgresql")

    def __init__(self, name: str, *columns: str, where: str) -> None:
        super().__init__(name, *columns)
        self.where = text(where)

    @property
    def dialect_options(self) -> PopulateDict[str, Any]:
        options = self.__dict__.get("_partial_options")
        if options is None:
            options = self.__dict__["_partial_options"] = PopulateDict(self._options_for)
        return options

    @property
    def dialect_kwargs(self) -> Any:
        for dialect in self._DIALECTS:
            self.dialect_options[dialect]  # sets the dialect's where
        return super().dialect_kwargs

    def _options_for(self, dialect: str) -> Any:
        options = self._kw_reg_for_dialect_cls(dialect)
        if dialect in self._DIALECTS:
            options["where"] = self.where
        return options


#: Every table; what the migrations' environment compares with.
METADATA = MetaData()


def _id() -> Column[int]:
    """A table's own integer key, numbered by the database."""
    return Column("id", Integer, primary_key=True)


def _customer_id(**options: Any) -> Column[str]:
    return Column("customer_id", String(64), ForeignKey("customer.id"), nullable=False, **options)


def _time(name: str, *, nullable: bool = False) -> Column[Any]:
    """A moment, stored as naive UTC and read back aware (engine/core/timeutil.py)."""
    return Column(name, UTCDateTime(), nullable=nullable)


CUSTOMER = Table(
    "customer",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("first_name", String(200), nullable=False, default=""),
    Column("last_name", String(200), nullable=False, default=""),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("locale", String(35), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("country", String(2)),
    Column("birthday", Date),
    _time("created_at"),
    # ISO 4217: the currency money is shown to this customer in; None: the currency
    # of most of their orders (engine/customers/lifecycle.py, customer_currency).
    Column("currency", String(3)),
    # Set when the customer's personal data was erased on request; the row stays so
    # the consent evidence and order statistics keep their reference.
    _time("erased_at", nullable=True),
)

ORDERS = Table(
    "orders",
    METADATA,
    Column("id", String(64), primary_key=True),
    _customer_id(index=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False, default=1),
    Column("amount", Numeric(18, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    _time("ordered_at"),
)

# One change of consent, never updated or deleted: the proof.
CONSENT_EVENT = Table(
    "consent_event",
    METADATA,
    _id(),
    _customer_id(index=True),
    Column("channel", String(32), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(64), nullable=False),
    Column("wording", String(200)),
    # The language the person saw the wording in.
    Column("locale", String(35)),
    Column("ip", String(64)),
    Column("user_agent", String(500)),
    _time("captured_at"),
    _time("recorded_at"),
    UniqueConstraint(
        "customer_id",
        "channel",
        "topic",
        "status",
        "source",
        "captured_at",
        name="uq_consent_event_fact",
    ),
)

# The latest consent per customer, channel and topic, derived from the events.
CONSENT_STATE = Table(
    "consent_state",
    METADATA,
    _customer_id(primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    _time("captured_at"),
    Column("event_id", Integer, ForeignKey("consent_event.id"), nullable=False),
)

# Present only inside an erasure's transaction: lets the append-only trigger on
# consent_event accept clearing that customer's IP and user agent, nothing else.
ERASURE_PERMIT = Table(
    "erasure_permit",
    METADATA,
    Column("customer_id", String(64), primary_key=True),
)

# An address that must never be messaged again on a channel, whatever the consent.
SUPPRESSION = Table(
    "suppression",
    METADATA,
    _id(),
    Column("channel", String(32), nullable=False),
    Column("address", String(320), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", String(500)),
    _time("created_at"),
    UniqueConstraint("channel", "address", name="uq_suppression_address"),
    # Dispatch looks addresses up in both forms (plain, hashed), by address alone.
    Index("ix_suppression_address", "address"),
)


def idempotency_key(customer_id: str, campaign: str, occasion: str, channel: str) -> str:
    """The outbox's unique key: one message per (customer, campaign, occasion, channel).

    It is also the Message-ID / provider idempotency key, so a message resent after a
    crash carries the same key and the provider can drop it. Built here and nowhere else.
    """
    return f"{customer_id}:{campaign}:{occasion}:{channel}"


# A planned message: the transactional outbox the dispatcher drains.
# idempotency_key is unique, so planning the same occasion twice adds nothing, and it
# becomes the Message-ID / provider idempotency key so a resend after a crash can be
# dropped downstream.
OUTBOX = Table(
    "outbox_message",
    METADATA,
    _id(),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    # Read by customer through uq_outbox_occasion's leading column (migration 0017
    # dropped the single-column index that duplicated it).
    _customer_id(),
    Column("campaign", String(100), nullable=False),
    Column("occasion", String(150), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("locale", String(35), nullable=False),
    # Transactional messages (a double opt-in confirmation, a preference link the
    # customer asked for) need no marketing consent; suppression still applies.
    Column("transactional", Boolean, nullable=False, default=False),
    # The A/B variant rendered, when the campaign has variants.
    Column("variant", String(32)),
    # SMS segments the text costs (see engine/rendering/sms_encoding.py); None for e-mail.
    Column("segments", Integer),
    Column("status", String(16), nullable=False, default=MessageStatus.QUEUED),
    Column("subject", String()),
    Column("body_text", String(), nullable=False, default=""),
    Column("body_html", String()),
    _time("send_at"),
    _time("expires_at", nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    _time("lease_until", nullable=True),
    Column("claimed_by", String(100)),
    Column("provider_id", String(255)),
    Column("last_error", String()),
    _time("created_at"),
    _time("sent_at", nullable=True),
    # When the provider reported the message delivered (e-mail events, SMS receipts).
    _time("delivered_at", nullable=True),
    # The provider's final report: delivered, undelivered or failed (the first one
    # wins; e-mail delivery events and SMS receipts, engine/delivery/receipts.py).
    Column("delivery_status", String(16)),
    # The provider's error code with an undelivered or failed report (30005).
    Column("delivery_error", String(64)),
    # When retention removed the subject and bodies of this final message (the row
    # and what the reports count stay; see engine/delivery/retention.py).
    _time("pruned_at", nullable=True),
    # The customer's time zone and country when planned (migration 0020): where they
    # have changed by the send, quiet hours are checked again (engine/delivery/fence.py).
    Column("timezone", String(64)),
    Column("country", String(2)),
    # Claims read each channel's due rows in (send_at, id) order straight from this
    # index (engine/delivery/claims.py; migration 0019 added channel).
    Index("ix_outbox_due", "status", "channel", "send_at", "id"),
    # One message per occasion, whatever the channel: a consent change between two
    # planning ticks must not add the same greeting on a second channel.
    UniqueConstraint("customer_id", "campaign", "occasion", name="uq_outbox_occasion"),
    # Retention reads the rows not pruned yet by age (engine/delivery/retention.py).
    PartialIndex("ix_outbox_unpruned", "send_at", "id", where="pruned_at IS NULL"),
    # Delivery receipts find their message by the provider's id (only sent rows
    # have one; engine/delivery/receipts.py).
    PartialIndex("ix_outbox_provider_id", "provider_id", where="provider_id IS NOT NULL"),
)

# One answer to one feedback request (a customer and an occasion), never two.
# stage and tier are the customer's on the day they answered, so NPS by stage and
# tier reports who they were then, not who they became.
FEEDBACK_ANSWER = Table(
    "feedback_answer",
    METADATA,
    _id(),
    _customer_id(),
    Column("occasion", String(150), nullable=False),
    Column("campaign", String(100), nullable=False),
    Column("channel", String(32)),
    # 0-10: how likely the customer is to recommend us (a CHECK in the migration).
    Column("score", Integer, nullable=False),
    Column("comment", String()),
    Column("locale", String(35), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("tier", String(64), nullable=False),
    _time("answered_at"),
    UniqueConstraint("customer_id", "occasion", name="uq_feedback_request"),
    Index("ix_feedback_answer_answered_at", "answered_at"),
)

# One real (not dry) planning run of one day: its day and its "now". The processes
# sharing a run find its row by (day, started_at); decisions point at it
# (engine/planning/decisions.py).
PLAN_RUN = Table(
    "plan_run",
    METADATA,
    _id(),
    Column("day", Date, nullable=False),
    _time("started_at"),
    UniqueConstraint("day", "started_at", name="uq_plan_run"),
)

# What a real plan decided for one customer, campaign and planning day, and why.
# Compact on purpose (a broadcast stores one row per candidate): the reason's code, a
# short detail, the variant and the run; no_occasion and already_planned are not
# stored. The key (day, customer_id, campaign) serves explain and pruning; no foreign
# keys, so an insert checks nothing per row (engine/planning/decisions.py).
PLAN_DECISION = Table(
    "plan_decision",
    METADATA,
    Column("day", Date, primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("campaign", String(100), primary_key=True),
    # A rapport.engine.planning.planner.Reason code (lost_to_priority).
    Column("reason", String(24), nullable=False),
    Column("detail", String(200), nullable=False, default=""),
    Column("variant", String(32)),
    Column("plan_run", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# A bearer token of the HTTP API (engine/web/api.py): its name, its one scope (ingest,
# send or read) and the SHA-256 of the token, never the token itself, which is shown
# once when `rapport api-token create` makes it. A revoked token keeps its row
# (revoked_at), so its name cannot be reused by mistake.
API_TOKEN = Table(
    "api_token",
    METADATA,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("scope", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _time("created_at"),
    _time("revoked_at", nullable=True),
)

# Something that happened to a customer, told by another system through
# POST /api/v1/events (order_shipped, trial_ended), which an event trigger can follow
# (engine/triggers/events.py). event_key is the client's id of the event:
# (customer_id, name, event_key) is unique, so re-posting an event changes nothing.
# data is a small JSON object (at most 4,096 bytes) templates see as
# occasion.event.data. Rows older than retention.event_days are deleted by the nightly
# retention (engine/delivery/retention.py).
CUSTOMER_EVENT = Table(
    "customer_event",
    METADATA,
    _id(),
    _customer_id(),
    Column("name", String(64), nullable=False),
    Column("event_key", String(64), nullable=False),
    _time("occurred_at"),
    # The event's data: a JSON object as compact text (numbers read back as Decimal).
    Column("data", Text()),
    _time("recorded_at"),
    UniqueConstraint("customer_id", "name", "event_key", name="uq_customer_event_key"),
    # Retention deletes by age; planning reads recent events per customer through the
    # unique key's (customer_id, name) prefix.
    Index("ix_customer_event_occurred_at", "occurred_at"),
)

# One shard of a planning day on PostgreSQL: a range of customer ids that any daemon
# claims with a lease (engine/planning/shard_leases.py). lo is exclusive and hi
# inclusive (None: open); status is queued, running (owner holds it until
# lease_until) or done; attempts counts claims and fences a lost lease; planned_at is
# the "now" of the run that last finished it, which decides when it is planned again.
PLAN_SHARD = Table(
    "plan_shard",
    METADATA,
    Column("day", Date, primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("lo", String(64)),
    Column("hi", String(64)),
    Column("status", String(8), nullable=False, default="queued"),
    Column("owner", String(100)),
    _time("lease_until", nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    _time("planned_at", nullable=True),
    _time("finished_at", nullable=True),
)

# The provider's id of each inbound SMS keyword processed (consent/sms_ids.py): a
# retried delivery of one finds its id here and changes nothing, and gets the answer
# the first one got (reply: which reply it was). The primary key lets two deliveries
# at once process one. Rows go after SMS_ID_DAYS (30) with the nightly retention.
SMS_INBOUND_ID = Table(
    "sms_inbound_id",
    METADATA,
    Column("message_id", String(255), primary_key=True),
    _time("received_at"),
    Column("reply", String(16)),
    Index("ix_sms_inbound_id_received_at", "received_at"),
)
