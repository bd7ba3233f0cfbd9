"""What many tests build: defined once here, imported by the tests that need them.

Customers (a profile for the pure tests, a row for the database tests), settings on the
repository's campaigns and templates, a planned day and the sample data it plans, due
messages in the outbox for the process-level tests, the ``rapport`` command run in this
process or as a process of its own, and a customer with her orders, occasion and
decision to build a message's context from.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.customers.lifecycle import OrderHistory, OrderLine
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.delivery.outbox import outbox_row
from rapport.engine.planning.context import message_context
from rapport.engine.planning.planner import Decision, Reason
from rapport.engine.triggers import Occasion

#: The tests' folder (tests/scenarios/ holds data) and the repository: its campaigns/,
#: templates/, docs/ and config.yaml.
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
#: The secret key of the settings the tests build.
TEST_SECRET = "test-secret"
#: The day the planning tests plan (Thanksgiving 2026, a Thursday), and the moment they
#: plan it: before the day has started in any time zone.
DAY = date(2026, 11, 26)
PLAN_AT = datetime.combine(DAY, time(0), tzinfo=UTC) - timedelta(hours=14)


# -- settings and customers -------------------------------------------------------------
def make_settings(**changes: Any) -> Settings:
    """Settings on the repository's campaigns and templates, with the test secret key."""
    return Settings(**{"base_dir": REPO, "secret_key": TEST_SECRET, **changes})


def profile(**fields: Any):  # type: ignore[no-untyped-def]
    """A CustomerProfile for the pure tests: customer C1, Persian, in Tehran, unless
    ``fields`` say otherwise (each test module passes the rest it relies on)."""
    from rapport.engine.customers.profile import CustomerProfile

    data: dict[str, Any] = {
        "id": "C1",
        "locale": "fa_IR",
        "timezone": "Asia/Tehran",
        "country": "IR",
        **fields,
    }
    return CustomerProfile(**data)


def insert_customer(engine: Engine | Connection, customer_id: str, **values: Any) -> None:
    """One customer row: ``values`` over an empty name, Persian locale, Tehran time
    and a sign-up on 1 January 2024."""
    row = {
        "id": customer_id,
        "first_name": "",
        "last_name": "",
        "locale": "fa_IR",
        "timezone": "Asia/Tehran",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        **values,
    }
    if isinstance(engine, Connection):
        engine.execute(insert(CUSTOMER).values(row))
        return
    with engine.begin() as connection:
        connection.execute(insert(CUSTOMER).values(row))


def consent_trail(engine: Engine, customer_id: str) -> list[Any]:
    """The customer's consent evidence, oldest first."""
    from rapport.consent.state import history

    with engine.connect() as connection:
        return history(connection, customer_id)


def scalar(engine: Engine, query: Any) -> Any:
    """The single value ``query`` selects (0 for none)."""
    with engine.connect() as connection:
        return connection.execute(query).scalar() or 0


# -- a planned day ----------------------------------------------------------------------
def seed_sample(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    customers: int = 72,
    data_seed: int = 3,
    day: date = DAY,
) -> None:
    """Import a generated sample (customers, orders, consent) dense around ``day``;
    every row must load."""
    from rapport.engine.customers.importer import import_file
    from rapport.engine.customers.sample import generate

    files = generate(tmp_path / "data", day, customers=customers, seed=data_seed)
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("consent", files.consent),
    ):
        report = import_file(engine, settings, kind, path)
        assert report.rejected == 0, report.problems


def plan_day(
    engine: Engine,
    settings: Settings,
    day: date = DAY,
    plan_at: datetime = PLAN_AT,
    **options: Any,
):  # type: ignore[no-untyped-def]
    """Plan ``day`` at ``plan_at`` with the settings' campaigns and templates, signing
    links with the test secret (``options`` go to run_plan)."""
    from rapport.consent.tokens import Signer
    from rapport.engine.campaigns.model import require_campaigns
    from rapport.engine.planning.plan import run_plan
    from rapport.engine.rendering.renderer import Renderer

    return run_plan(
        engine,
        settings,
        require_campaigns(settings),
        day,
        plan_at,
        renderer=Renderer(settings.templates_path, settings.locales.default),
        signer=Signer(TEST_SECRET),
        **options,
    )


# -- the rapport command, run in this process -----------------------------------------
@dataclass(frozen=True)
class Ran:
    """What a ``rapport`` command did: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def run_rapport(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> Ran:
    """``rapport ARGS`` in ``cwd``, run as the console script runs it but in this process.

    ``main()`` (the console script's entry point, which maps exceptions to exit codes and
    configures logging) is called with ``sys.argv`` set, inside Click's test isolation:
    stdin is ``input`` (never a terminal), stdout and stderr are captured, the caller's
    ``RAPPORT_*`` variables are removed and ``env`` is added. The exit code is what
    ``main()`` passed to ``sys.exit`` (0 when it returned). An exception ``main()`` does
    not map propagates and fails the test, where a process would print a traceback.
    """
    from click.testing import CliRunner

    from rapport.engine.cli.app import restore_collector
    from rapport.engine.cli.main import main

    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("RAPPORT_")}
    environment.update(env or {})
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    argv, directory = sys.argv, os.getcwd()
    with CliRunner().isolation(input=input, env=environment) as (out, err, _):
        sys.argv = ["rapport", *args]
        os.chdir(cwd)
        try:
            main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:  # sys.exit("message"): Python prints it and exits 1
                print(exc.code, file=sys.stderr)
                code = 1
        finally:
            restore_collector()  # main() paused the garbage collector for start-up
            sys.argv = argv
            os.chdir(directory)
            root.handlers[:] = handlers
            root.setLevel(level)
            for name, old in levels.items():
                logging.getLogger(name).setLevel(old)
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


# -- the rapport command, as a separate process forked without start-up cost -----------
def _rapport_in_child(args: list[str], env: dict[str, str], cwd: str) -> None:
    """The body of a forked ``rapport`` process: what the console script runs."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.argv = ["rapport", *args]
    from rapport.engine.cli.main import main

    main()


def start_rapport_process(*args: str, cwd: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    """``rapport ARGS`` as a separate process (a ``multiprocessing.Process``; ``pid``,
    ``kill()``, ``join()``, ``exitcode``), with exactly ``env`` as its environment.

    It is forked from multiprocessing's fork server, a clean process that has imported
    Rapport's dispatch stack once, so a start costs milliseconds instead of an
    interpreter's start-up; tests that start many processes (the SIGKILL test) use it.
    Output goes nowhere.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    # The commands import their heavy modules inside the command (start-up stays fast),
    # so the fork server imports them once here, or every start would pay for them again.
    context.set_forkserver_preload(
        [
            "rapport.engine.cli.main",
            "rapport.engine.cli.jsonout",
            "rapport.engine.core.config",
            "rapport.engine.core.db",
            "rapport.engine.delivery.outcomes",
            "rapport.engine.runtime.daemon",
            "rapport.engine.runtime.dispatchers",
            "rapport.channels.smtp",
            "rapport.channels.http_sms",
            "factories",
        ]
    )
    process = context.Process(
        target=_rapport_in_child, args=(list(args), dict(env), str(cwd)), daemon=True
    )
    process.start()
    return process


# -- due messages, for the process-level tests (crash safety, daemons) ----------------


@dataclass(frozen=True)
class Persona:
    """Who the seeded customers are and what their messages say."""

    prefix: str
    first_name: str
    last_name: str
    phone_prefix: str
    phone_digits: int  # after the prefix
    locale: str
    subject: str
    text: str  # formatted with the message number as {n}


PERSIAN = Persona(
    "K",
    "سارا",
    "احمدی",
    "+98912",
    7,
    "fa_IR",
    "پیشنهاد ویژه",
    "پیام شماره {n} — لغو: STOP",
)
CHINESE = Persona("P", "伟", "王", "+86138", 8, "zh_CN", "双十一", "消息 {n} 回复STOP退订")


def daytime_zone(now: datetime | None = None) -> str:
    """A time zone (``Etc/GMT-N`` is UTC+N) where it is about noon at ``now``, for
    customers whose messages a test sends on the real clock."""
    hour = (now or datetime.now(UTC)).hour
    offset = 12 - hour  # -11 .. 12: Etc/GMT+11 .. Etc/GMT-12 all exist
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"


def seed_due_messages(
    url: str, messages: int, customers: int, persona: Persona, campaign: str
) -> None:
    """Migrate, add customers with e-mail and SMS consent, and queue ``messages`` due
    now, alternating e-mail and SMS."""
    from rapport.consent.store import ConsentChange, record_consent
    from rapport.engine.core.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    people = [
        {
            "id": f"{persona.prefix}{n:04d}",
            "first_name": persona.first_name,
            "last_name": persona.last_name,
            "email": f"{persona.prefix.lower()}{n}@example.com",
            "phone": f"{persona.phone_prefix}{n:0{persona.phone_digits}d}",
            "locale": persona.locale,
            # About noon now: the check before a send applies quiet hours where the
            # customer is, and these are due on the real clock at any hour.
            "timezone": daytime_zone(now),
            "created_at": now,
        }
        for n in range(customers)
    ]
    with engine.begin() as connection:
        connection.execute(insert(CUSTOMER), people)
        record_consent(
            connection,
            [
                ConsentChange(p["id"], channel, "offers", "granted", "test", now)
                for p in people
                for channel in ("email", "sms")
            ],
            recorded_at=now,
        )
        connection.execute(
            insert(OUTBOX),
            [
                outbox_row(
                    customer_id=people[n % customers]["id"],
                    campaign=campaign,
                    occasion=str(n),
                    channel=channel,
                    topic="offers",
                    locale=persona.locale,
                    subject=persona.subject if channel == "email" else None,
                    body_text=persona.text.format(n=n),
                    status=MessageStatus.QUEUED,
                    send_at=now,
                    created_at=now,
                )
                for n in range(messages)
                for channel in (("email",) if n % 2 == 0 else ("sms",))
            ],
        )
    engine.dispose()


def outbox_statuses(url: str) -> Counter[str]:
    from rapport.engine.core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
        found = Counter({status: n for status, n in rows})
    engine.dispose()
    return found


# -- a message's context, for the planning context tests ------------------------------
#: Customer C-42, Persian, in Tehran, with five order lines; her 2026 birthday; and the
#: coupon key, settings and link signer her contexts are built with. The context test
#: modules import these under their short names (``CUSTOMER``, ``build``, ...).
COUPON_KEY = "coupon-key-for-tests"
CONTEXT_SETTINGS = Settings(base_dir=REPO)
LINK_SIGNER = Signer("link-key-for-tests")


def order_line(
    order_id: str, sku: str, day: date, quantity: int = 1, amount: str = "10", hour: int = 12
) -> OrderLine:
    return OrderLine(
        id=order_id,
        sku=sku,
        quantity=quantity,
        amount=Decimal(amount),
        currency="USD",
        ordered_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
        day=day,
    )


def order_history(*lines: OrderLine) -> OrderHistory:
    return OrderHistory.from_orders(lines, datetime(2030, 1, 1, tzinfo=UTC))


CONTEXT_ORDERS = (
    order_line("O-1", "SERUM-30ML", date(2025, 11, 2), quantity=2),
    order_line("O-2", "TEA-SAMPLER", date(2025, 12, 20), quantity=1),
    order_line("O-3", "SERUM-30ML", date(2026, 1, 9), quantity=1),
    order_line("O-4", "COFFEE-1KG", date(2026, 2, 19), quantity=2, amount="63.00"),
    order_line("O-5", "CLEANSER-150ML", date(2026, 2, 19), quantity=1, amount="22.00"),
)
CONTEXT_CUSTOMER = CustomerProfile(
    id="C-42",
    locale="fa_IR",
    timezone="Asia/Tehran",
    first_name="سارا",
    last_name="احمدی",
    email="sara@example.com",
    country="IR",
    birthday=date(1993, 3, 1),
    history=order_history(*CONTEXT_ORDERS),
)
CONTEXT_BIRTHDAY = Occasion("birthday", "birthday:2026", date(2026, 3, 1), years=33)


def context_campaign(offer: dict[str, Any] | None = None, **trigger: Any) -> Campaign:
    """Campaign "test": e-mail on a birthday (or on ``trigger``), with ``offer``."""
    data = {
        "name": "Test",
        "trigger": trigger or {"type": "birthday"},
        "topic": "birthday",
        "channels": ["email"],
        "offer": offer or {},
    }
    return Campaign.model_validate(data).model_copy(update={"id": "test"})


def context_decision(occasion: Occasion = CONTEXT_BIRTHDAY, **changes: Any) -> Decision:
    """C-42 selected for an e-mail of campaign "test", a VIB repeat customer."""
    base = Decision(
        customer_id=CONTEXT_CUSTOMER.id,
        campaign="test",
        reason=Reason.SELECTED,
        channel="email",
        occasion=occasion,
        # 09:00 in Tehran on 1 March 2026.
        send_at=datetime(2026, 3, 1, 5, 30, tzinfo=UTC),
        stage="repeat",
        tier="vib",
    )
    return replace(base, **changes)


def build_context(
    customer: CustomerProfile = CONTEXT_CUSTOMER,
    made: Decision | None = None,
    offer: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """message_context for ``customer`` (C-42), the coupon key unless ``options`` say."""
    options.setdefault("coupon_key", COUPON_KEY)
    return message_context(
        customer,
        made or context_decision(),
        context_campaign(offer),
        CONTEXT_SETTINGS,
        LINK_SIGNER,
        **options,
    )


def seed_birthdays(engine: Engine, customers: int, day: date) -> list[str]:
    """``customers`` customers C0000... in UTC-12, all born on ``day``'s month and day
    and agreeing to birthday e-mail: each gets exactly one birthday e-mail planned on
    ``day`` (whose local window lies ahead of any moment of the day before it in UTC)."""
    from rapport.consent.store import ConsentChange, record_consent

    now = datetime.now(UTC)
    ids = [f"C{n:04d}" for n in range(customers)]
    people = [
        {
            "id": customer,
            "email": f"{customer.lower()}@example.com",
            "locale": "en",
            "timezone": "Etc/GMT+12",
            "birthday": day.replace(year=1990) if (day.month, day.day) != (2, 29) else day,
            "created_at": now - timedelta(days=400),
        }
        for customer in ids
    ]
    with engine.begin() as connection:
        connection.execute(insert(CUSTOMER), people)
        changes = [ConsentChange(c, "email", "birthday", "granted", "test", now) for c in ids]
        record_consent(connection, changes, recorded_at=now)
    return ids


def config_problems(tmp_path: Path, text: str) -> list[str]:
    """The problems ``load_settings`` finds in ``text`` written as tmp_path/config.yaml,
    each without the file's name (``LINE: field: message``)."""
    import pytest

    from rapport.engine.core.config import load_settings
    from rapport.engine.core.errors import ConfigError

    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})
    return [str(p).removeprefix(f"{config}:") for p in raised.value.problems]
