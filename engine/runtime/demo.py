"""``rapport demo``: a realistic day, end to end, on a fresh checkout.

It builds its own SQLite store under ``var/demo`` (so it never touches the
operator's database), imports a generated sample through the normal import path,
then simulates the months before the demo's day with the engine's own planner and
dispatcher under a simulated clock, with customers' delivery events, orders,
unsubscribes and NPS answers recorded through the engine's entry points
(:mod:`rapport.engine.runtime.demo_history`), so ``rapport report`` right after it
has funnels, uplift, A/B results, NPS and cohorts to show. Finally it plans one day
that has birthdays, a holiday and reorder nudges, and dispatches it through the file
channel while a simulated clock walks through the day: messages leave in each
recipient's local send window, as they would in production.

Its links are signed with the key kept in the demo's own database (never the
operator's ``RAPPORT_SECRET_KEY``), so they open in ``rapport serve`` pointed at that
database: the summary ends with that command, ready to paste (:func:`serve_command`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign, require_campaigns
from rapport.engine.core.config import ChannelConfig, DatabaseConfig, Settings, load_settings
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.core.errors import CampaignError, UserError
from rapport.engine.core.keys import stored_key
from rapport.engine.core.models import OUTBOX
from rapport.engine.customers.importer import Kind, import_file
from rapport.engine.customers.sample import MARKETS, generate
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.planning.plan import run_plan
from rapport.engine.planning.planner import Decision
from rapport.engine.rendering.renderer import RenderedMessage
from rapport.engine.runtime import services
from rapport.engine.runtime.demo_folder import DEMO_MARKER
from rapport.engine.runtime.demo_history import (
    HISTORY_DAYS,
    History,
    grant_more_topics,
    history_span,
    simulate_history,
)
from rapport.engine.triggers.calendars import holidays_on

Echo = Callable[[str], None]

#: What a demo folder holds; a folder with nothing else is an older demo's.
DEMO_ENTRIES = frozenset(
    {
        DEMO_MARKER,
        "data",
        "outbox",
        "rapport.db",
        "rapport.db-wal",
        "rapport.db-shm",
        "rapport.db-journal",
        "secret.key",
    }
)


def next_holiday(start: date, countries: tuple[str, ...], horizon: int = 400) -> date:
    """The first day on or after ``start`` that is a public holiday in one of ``countries``."""
    for offset in range(horizon):
        day = start + timedelta(days=offset)
        if any(holidays_on(country, day) for country in countries):
            return day
    return start


class NotADemoFolder(UserError):
    """``--dir`` names a folder the demo did not make: it is never emptied."""


def replace_demo_folder(directory: Path) -> None:
    """Empty ``directory`` for a new demo run, or create it.

    The demo starts from nothing, so an earlier run's folder is removed first; but
    ``--dir .`` or ``--dir ~/shop`` must not wipe an operator's project. Only a folder
    that holds the demo's marker, or nothing but what a demo writes (a run of an
    older version, which wrote no marker), is removed. Such an older run always has
    its sample's ``data`` folder: without it, the same names are a project's ``var/``
    (its ``rapport.db``, ``secret.key`` and ``outbox``), which is never removed. A
    symbolic link named as ``--dir`` is refused, not followed."""
    if directory.is_symlink():
        raise NotADemoFolder(
            f"{directory}: a symbolic link; the demo replaces only a real folder: "
            "choose another --dir"
        )
    if directory.exists() and not directory.is_dir():
        raise NotADemoFolder(f"{directory}: not a folder; choose another --dir")
    if directory.is_dir():
        entries = {entry.name for entry in directory.iterdir()}
        older = entries <= DEMO_ENTRIES and (directory / "data").is_dir()
        if entries and DEMO_MARKER not in entries and not older:
            shown = ", ".join(sorted(entries - DEMO_ENTRIES)[:3]) or ", ".join(sorted(entries)[:3])
            raise NotADemoFolder(
                f"{directory}: not a folder made by rapport demo (it holds {shown}); "
                "the demo replaces only its own folder: choose another --dir"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / DEMO_MARKER).write_text(
        "Made by rapport demo; the next run replaces this folder.\n", encoding="utf-8"
    )


def _demo_campaigns(settings: Settings) -> list[Campaign]:
    """The campaigns the demo plans with, checked before anything is written."""
    if not settings.campaigns_path.is_dir():
        raise CampaignError(
            f"{settings.campaigns_path}: campaigns folder not found; run rapport demo "
            "in the checkout or in a project made by rapport init, or set campaigns_dir "
            "in config.yaml"
        )
    return require_campaigns(settings)


def demo_settings(settings: Settings, directory: Path) -> Settings:
    directory = directory.resolve()
    outbox = str(directory / "outbox")
    return settings.model_copy(
        update={
            "database": DatabaseConfig(url=f"sqlite:///{directory / 'rapport.db'}"),
            "channels": {
                "email": ChannelConfig(adapter="file", kind="email", path=outbox),
                "sms": ChannelConfig(adapter="file", kind="sms", path=outbox),
            },
            "secret_key_file": directory / "secret.key",
            # The demo's links are signed with its own database's key, which
            # ``rapport serve`` on that database reads too (see serve_command).
            "secret_key": None,
        }
    )


def run_demo(
    base: Settings,
    directory: Path,
    *,
    customers: int = 360,
    seed: int = 7,
    day: date | None = None,
    history_days: int = HISTORY_DAYS,
    echo: Echo = print,
    config_file: Path | None = None,
) -> dict[str, object]:
    """Run the demo and print its summary; returns the figures for tests.

    ``config_file`` is the configuration the demo was run with (None: built-in
    defaults); the commands the summary suggests name it."""
    settings = demo_settings(base, directory)
    campaigns = _demo_campaigns(settings)
    replace_demo_folder(directory)
    countries = tuple(m.country for m in MARKETS)
    the_day = day or next_holiday(datetime.now(UTC).date() + timedelta(days=1), countries)
    holiday_names = {c: names for c in countries if (names := holidays_on(c, the_day))}

    echo(f"Rapport demo: {the_day.isoformat()} in {directory}")
    if holiday_names:
        listed = "; ".join(f"{', '.join(n)} ({c})" for c, n in holiday_names.items())
        echo(f"  holiday: {listed}")

    files = generate(directory / "data", the_day, customers=customers, seed=seed)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    imports: tuple[tuple[Kind, Path], ...] = (
        ("customers", files.customers),
        ("orders", files.orders),
        ("consent", files.consent),
    )
    # The sample is planted around the demo's day: a day still to come is imported as of
    # that day, or its latest orders would be refused as dated in the future.
    as_of = max(datetime.now(UTC), datetime.combine(the_day, time(0), tzinfo=UTC))
    for kind, path in imports:
        report = import_file(engine, settings, kind, path, clock=lambda: as_of)
        echo(
            f"  imported {report.accepted:>5} {kind:<9} from {_rel(path)}"
            + (f" ({report.rejected} rejected)" if report.rejected else "")
        )

    more = grant_more_topics(
        engine, settings, files.consent, directory / "data" / "history", as_of, seed
    )
    echo(f"  imported {more:>5} consent   for the feedback and win-back topics")

    signer = services.signer(settings)
    renderer = services.renderer(settings)
    first, last = history_span(the_day, datetime.now(UTC).date(), history_days)
    past = asyncio.run(
        simulate_history(
            engine,
            settings,
            campaigns,
            renderer=renderer,
            signer=signer,
            first=first,
            last=last,
            directory=directory / "data" / "history",
            seed=seed,
        )
    )
    print_history(past, echo)
    start = datetime.combine(the_day, time(0), tzinfo=UTC) - timedelta(hours=14)
    samples: dict[tuple[str, str], tuple[str, str]] = {}
    examples: dict[str, str] = {}

    def keep_sample(decision: Decision, rendered: RenderedMessage) -> None:
        language = (rendered.locale or "en").split("_")[0]
        if rendered.subject and (language, decision.campaign) not in samples:
            samples[(language, decision.campaign)] = (decision.customer_id, rendered.subject)
        examples.setdefault(decision.campaign, decision.customer_id)

    plan = run_plan(
        engine,
        settings,
        campaigns,
        the_day,
        start,
        renderer=renderer,
        signer=signer,
        on_planned=keep_sample,
    )
    echo("")
    echo(f"Planned {plan.inserted} messages for {plan.customers} customers:")
    echo(f"  {'campaign':<16} {'channel':<8} {'locale':<8} {'messages':>8}")
    for (campaign, channel, locale), count in sorted(plan.planned.items()):
        echo(f"  {campaign:<16} {channel:<8} {locale:<8} {count:>8}")
    skipped = Counter[str]()
    for (_, reason), count in plan.skipped.items():
        skipped[reason] += count
    echo("Not messaged (customer x campaign pairs), by reason:")
    for reason, count in skipped.most_common():
        echo(f"  {reason:<16} {count:>6}")
    if plan.customers > plan.candidates:
        echo(
            f"  ({plan.customers - plan.candidates} customers were not read at all: no "
            "campaign had an occasion and their consent that day)"
        )

    sent = asyncio.run(_simulate_day(engine, settings, signer, the_day))
    echo("")
    echo("Dispatched through the file channel (simulated clock through the day):")
    for (channel, status), count in sorted(sent.items()):
        echo(f"  {channel:<6} {status:<10} {count:>6}")
    with engine.connect() as connection:
        by_status: dict[str, int] = dict(
            connection.execute(
                select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)
            ).all()
        )
    outbox_dir = directory / "outbox"
    written = sorted(outbox_dir.glob("*")) if outbox_dir.exists() else []
    echo("")
    echo("Subjects as rendered, by language and campaign:")
    for (language, campaign), (customer_id, subject) in sorted(samples.items()):
        echo(f"  [{language}] {campaign:<14} {customer_id}  {subject}")
    echo("")
    echo(f"Files: {len(written)} messages in {_rel(outbox_dir)} (.eml for e-mail, .json for SMS)")
    echo(f"Store: {_rel(directory / 'rapport.db')}; explore it with, for example:")
    # By absolute path: a relative SQLite path is read relative to the config's folder.
    # An exported RAPPORT_SECRET_KEY is cleared: the demo's key is in its database.
    clear = "RAPPORT_SECRET_KEY= " if os.environ.get("RAPPORT_SECRET_KEY") else ""
    database = f"{clear}RAPPORT_DATABASE_URL={shlex.quote(settings.database_url)}"
    campaign = "birthday" if "birthday" in examples else next(iter(examples), "birthday")
    example = examples.get(campaign, "C00001")
    program = _program()
    config = f" --config {shlex.quote(_rel(config_file))}" if config_file is not None else ""
    echo(f"  {database} {program}{config} explain {example} --date {the_day.isoformat()}")
    on_day = f"--date {the_day.isoformat()}"
    echo(f"  {database} {program}{config} preview {campaign} --customer {example} {on_day}")
    echo(f"  {database} {program}{config} report --to {the_day.isoformat()}")
    serve, note = serve_command(settings, program, config_file, demo_key=stored_key(engine))
    echo("")
    echo("Open the links in these messages (preferences, unsubscribe, feedback) with the web app:")
    echo(f"  {serve}")
    if note:
        echo(f"  ({note})")
    if link := example_link(written):
        echo(f"  then, for example: {link}")
    engine.dispose()
    return {
        "day": the_day,
        "planned": plan.inserted,
        "by_status": by_status,
        "files": len(written),
        "samples": samples,
        "serve": serve,
        "history": past,
    }


def print_history(past: History, echo: Echo) -> None:
    """The simulated months in a few lines."""
    days = (past.last - past.first).days + 1
    sent = sum(past.sent.values())
    channels = ", ".join(f"{count} {channel}" for channel, count in sorted(past.sent.items()))
    echo("")
    echo(
        f"History: {days} days, {past.first.isoformat()} to {past.last.isoformat()}, "
        "planned and dispatched by the engine under a simulated clock:"
    )
    echo(f"  planned {past.planned} messages; sent {sent} ({channels}); held out {past.held_out}")
    for (campaign, variant), count in sorted(past.variants.items()):
        echo(f"  A/B {campaign}: variant {variant} sent {count}")
    echo(
        f"  then {past.delivered} delivery events, {past.orders} orders, "
        f"{past.unsubscribed} unsubscribes, {past.answers} NPS answers"
    )


_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve_command(
    settings: Settings, program: str, config_file: Path | None, *, demo_key: str | None = None
) -> tuple[str, str]:
    """The ``rapport serve`` command that opens the demo's links, and a note (empty
    when none is needed).

    It names the demo's database (its signing key is there) by absolute path, clears
    an exported ``RAPPORT_SECRET_KEY`` (which would win over that key), and listens
    where ``web.base_url`` points when that is this machine; a base URL elsewhere is
    only reachable through whatever serves it there, which the note says. A
    ``secret_key`` written in ``config_file`` would win over the database's key too,
    and no variable can clear it: the command then gives ``demo_key``, the demo
    database's own key (kept in that database file anyway), as ``RAPPORT_SECRET_KEY``.
    """
    env = []
    if demo_key is not None and _file_sets_key(config_file):
        env.append(f"RAPPORT_SECRET_KEY={shlex.quote(demo_key)}")
    elif os.environ.get("RAPPORT_SECRET_KEY"):
        env.append("RAPPORT_SECRET_KEY=")
    env.append(f"RAPPORT_DATABASE_URL={shlex.quote(settings.database_url)}")
    words = [*env, program, "serve"]
    if config_file is not None:
        words += ["--config", shlex.quote(_rel(config_file))]
    web = settings.web
    url = urlsplit(web.base_url)
    note = ""
    if url.scheme == "http" and url.hostname in _LOCAL_HOSTS:
        host = "127.0.0.1" if url.hostname == "localhost" else url.hostname
        if host != web.host:
            words += ["--host", host]
        if (url.port or 80) != web.port:
            words += ["--port", str(url.port or 80)]
    else:
        note = f"the links point to web.base_url, {web.base_url}: serve them there"
    return " ".join(words), note


def _file_sets_key(config_file: Path | None) -> bool:
    """Whether the configuration file itself writes ``secret_key``."""
    return config_file is not None and bool(load_settings(config_file, environ={}).secret_key)


_LINK = re.compile(r"https?://[^\s\"'<>]+/preferences/[^\s\"'<>]+")


def example_link(files: list[Path]) -> str | None:
    """A preference-centre link from the first e-mail written, if any has one."""
    for path in files:
        if path.suffix != ".eml":
            continue
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            found = part.get_content_type() == "text/plain" and _LINK.search(part.get_content())
            if found:
                return found.group()
    return None


async def _simulate_day(
    engine: Engine,
    settings: Settings,
    signer: Signer,
    day: date,
) -> Counter[tuple[str, str]]:
    """Walk a clock through the day in 30-minute steps, dispatching what is due."""
    moment = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)
    end = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=36)
    outcomes: Counter[tuple[str, str]] = Counter()
    clock_value = [moment]
    dispatcher = Dispatcher(
        engine,
        settings,
        services.lanes(settings),
        signer,
        clock=lambda: clock_value[0],
        worker_id="demo",
    )
    try:
        while clock_value[0] <= end:
            report = await dispatcher.run_once()
            outcomes.update(report.outcomes)
            clock_value[0] += timedelta(minutes=30)
    finally:
        await dispatcher.aclose()
    return outcomes


def _program() -> str:
    """How the user ran us (e.g. .venv/bin/rapport), so the hints can be pasted as is."""
    invoked = Path(sys.argv[0])
    if invoked.name == "rapport" and invoked.exists():
        return _rel(invoked) if invoked.is_absolute() else str(invoked)
    return "rapport"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
