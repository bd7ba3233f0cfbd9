"""``rapport dispatch``, ``rapport run`` and ``rapport serve``: the long-running side.

``dispatch`` sends due messages from the outbox, ``run`` is the daemon (planning on
a schedule, dispatching continuously, the web app when enabled), ``serve`` is the
web app alone. Each has a ``--once`` or foreground form for scripts and tests.

``dispatch --once --json`` prints the pass's outcomes as one JSON document (see
:mod:`rapport.engine.cli.jsonout`).

``dispatch`` and ``run`` stop on SIGTERM or SIGINT and exit 0, or 75 when a send was
cut off at the end of the grace period or an outcome could not be written (see
:mod:`rapport.engine.runtime.daemon`).
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from rapport.engine.cli.app import AppContext, config_option, echo_json, run_async
from rapport.engine.cli.plan import print_plan_report

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rapport.engine.core.config import Settings, WebConfig
    from rapport.engine.core.timeutil import Clock
    from rapport.engine.delivery.dbthread import Turns
    from rapport.engine.delivery.outcomes import DispatchReport


@click.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds a channel waits after finding nothing due "
    "(default: daemon.dispatch_seconds, 5; more than 0, at most 3600).",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON document.")
@config_option
def dispatch(app: AppContext, once: bool, interval: float | None, as_json: bool) -> None:
    """Send due messages from the outbox (without --once: keep sending until SIGTERM)."""
    from rapport.engine.cli.jsonout import dispatch_json, user_errors_as_json

    if as_json and not once:
        raise click.UsageError(
            "--json needs --once: a dispatcher that runs until stopped prints no document"
        )
    if interval is not None:
        _check_interval(interval)
    with user_errors_as_json(as_json, dispatch_json(None)):
        engine = app.migrated_engine()
    if once:
        from rapport.engine.core.production import check_production

        check_production(app.settings)  # as the daemon does when it starts
        report = _dispatch_in_processes(app, engine)
        if as_json:
            echo_json(dispatch_json(report))
        else:
            _print_dispatch_report(report, lambda: _next_queued(app.settings, engine))
        if not report.clean:
            from rapport.engine.runtime.daemon import EXIT_ABANDONED

            sys.exit(EXIT_ABANDONED)
        return
    from rapport.engine.runtime.daemon import Daemon

    settings = app.settings
    if interval is not None:
        daemon = settings.daemon.model_copy(update={"dispatch_seconds": interval})
        settings = settings.model_copy(update={"daemon": daemon})
    status = Daemon(settings, engine, plan=False).run_forever()
    if status:
        sys.exit(status)


def _check_interval(interval: float) -> None:
    """``--interval`` is held to ``daemon.dispatch_seconds``' own bounds (config.py):
    0 or less looked for due messages back to back, NaN or infinity ended the daemon
    with an unexpected error."""
    from pydantic import ValidationError

    from rapport.engine.core.config import DaemonConfig

    try:
        DaemonConfig(dispatch_seconds=interval)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise click.BadParameter(
            f"{interval}: {reason[:1].lower()}{reason[1:]} (the bounds of daemon.dispatch_seconds)",
            param_hint="'--interval'",
        ) from None


#: What each dispatcher process would import for its pass: imported once before they
#: are forked (their pages then shared) rather than once in each of them after.
IMPORTED_BEFORE_FORKING = (
    "rapport.engine.delivery.dispatch",
    "rapport.engine.runtime.services",
    "concurrent.futures.thread",  # asyncio's executor, which looks host names up
    "encodings.idna",  # a host name's encoding
)


def _dispatch_in_processes(app: AppContext, engine: Engine) -> DispatchReport:
    """One pass in ``dispatch.processes`` dispatchers (engine/runtime/dispatchers.py)."""
    from rapport.engine.runtime import dispatchers

    processes = dispatchers.processes_for(app.settings, engine)
    settings, shared = dispatchers.share(app.settings, processes)
    turns = dispatchers.turns(engine, processes)
    if processes > 1:
        for name in IMPORTED_BEFORE_FORKING:
            importlib.import_module(name)
    return dispatchers.run_in_processes(
        processes,
        lambda index: run_async(
            _dispatch_once(
                app, engine, settings=settings, only=shared if index else None, turns=turns
            )
        ),
        lambda: engine.dispose(close=False),  # a forked process opens its own connections
    )


async def _dispatch_once(
    app: AppContext,
    engine: Engine,
    clock: Clock | None = None,
    settings: Settings | None = None,
    only: frozenset[str] | None = None,
    turns: Turns | None = None,
) -> DispatchReport:
    import asyncio

    from rapport.engine.core.timeutil import utcnow
    from rapport.engine.delivery.dispatch import Dispatcher
    from rapport.engine.runtime import dispatchers, services

    settings = settings or app.settings
    dispatcher = Dispatcher(
        engine,
        settings,
        services.lanes(settings),
        services.signer(settings),
        clock=clock or utcnow,
        only=only,
        turns=turns,
    )
    # SIGTERM or Ctrl-C: stop as the daemon does (release, finish within the grace).
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, dispatcher.stop, settings.daemon.grace_seconds)
    dispatchers.signals_ready()  # a forked process held them until now
    try:
        # No metrics: this process ends with the pass and serves no /metrics (the
        # daemon records its passes); prometheus_client is not even imported.
        return await dispatcher.run_once()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await dispatcher.aclose()


def _next_queued(settings: Settings, engine: Engine) -> str | None:
    """When the next message queued on a channel configured here is due, or None."""
    from rapport.engine.core.timeutil import as_utc, utcnow
    from rapport.engine.delivery.claims import next_queued

    with engine.connect() as connection:
        first = next_queued(connection, utcnow(), settings.channels)
    return None if first is None else as_utc(first).strftime("%Y-%m-%dT%H:%M:%SZ")


def _print_dispatch_report(
    report: Any, next_queued: Callable[[], str | None] | None = None
) -> None:
    not_written = f"outcomes not written ({report.database_error or 'database error'})"
    for ids, what in (
        (
            report.abandoned,
            "sends cut off at the end of the grace period (the provider may "
            "have accepted them; they will be sent again)",
        ),
        (report.unwritten, f"{not_written}; sent again when their leases expire"),
    ):
        if ids:
            click.echo(f"dispatch: {what}: messages {', '.join(map(str, ids))}", err=True)
    for channel, n in sorted(report.waiting.items()):
        click.echo(
            f"dispatch: {channel}: {n} due messages wait, the channel not being configured "
            "here; they stay queued for a dispatcher that has it"
        )
    if not report:
        if not report.waiting:
            later = next_queued() if next_queued else None
            if later is None:
                click.echo("dispatch: nothing due")
            else:
                click.echo(f"dispatch: nothing due now; the next queued message is due at {later}")
        return
    if not report.outcomes:  # claimed, then cut off or handed back: not "nothing due"
        released = f" ({report.released} handed back unsent)" if report.released else ""
        click.echo(f"dispatch: no message finished{released}")
        return
    parts = [f"{channel} {status}: {n}" for (channel, status), n in sorted(report.outcomes.items())]
    click.echo("dispatch: " + ", ".join(parts))
    for (channel, status, reason), n in report.reasons.most_common(10):
        label = "will retry" if status == "queued" else status
        click.echo(f"  {channel} {label}: {n} x {reason or 'no reason given'}")


@click.command()
@click.option("--once", is_flag=True, help="One planning tick and one dispatch pass, then exit.")
@config_option
def run(app: AppContext, once: bool) -> None:
    """The daemon: plan on a schedule (PostgreSQL: shared by every daemon) and dispatch."""
    from rapport.engine.runtime.daemon import Daemon

    engine = app.migrated_engine()
    daemon = Daemon(
        app.settings,
        engine,
        on_plan=_print_tick_report,
        on_problems=_print_problems,
    )
    if once:
        reports = daemon.plan_tick()
        _print_dispatch_report(daemon.dispatch_tick())
        daemon.stop(grace=0)
        if any(report.render_errors for report in reports):
            sys.exit(1)  # the errors were printed with the tick
        return
    servers = []
    try:
        if app.settings.web.enabled:
            from rapport.engine.web.app import create_app
            from rapport.engine.web.server import BackgroundServer

            settings = app.settings.web
            web = create_app(app.settings, engine)
            web.state.scheduler_running = daemon.running
            web.state.dispatch_problem = daemon.dispatch_problem
            servers.append(BackgroundServer(web, settings.host, settings.port, web=settings))
            servers[-1].start()
            _log_listening(
                "the web app (/healthz, /readyz too)", settings.host, servers[-1].port, "/"
            )
        else:
            log.info(
                "web app off (web.enabled: false): this daemon serves no preference "
                "centre, unsubscribe links, webhooks, /healthz or /readyz; set "
                "web.enabled: true, or run `rapport serve` beside it",
                extra={"web_enabled": False},
            )
        # /metrics on its own address is served whether or not the web app is.
        servers += _start_metrics_server(app, engine)
        if app.settings.web.enabled or servers:
            _warn_if_metrics_open(app.settings.web, app.settings.web.host)
        status = daemon.run_forever()
    finally:
        for server in servers:
            server.stop()
    if status:
        sys.exit(status)


def _start_metrics_server(app: AppContext, engine: Engine) -> list[Any]:
    """The separate /metrics server when ``web.metrics_port`` is set, started."""
    settings = app.settings.web
    if settings.metrics_port is None:
        return []
    from rapport.engine.web.app import create_metrics_app
    from rapport.engine.web.server import BackgroundServer

    server = BackgroundServer(
        create_metrics_app(app.settings, engine),
        settings.metrics_host,
        settings.metrics_port,
        web=settings,
        name="/metrics (web.metrics_host, web.metrics_port)",
    ).start()
    click.echo(f"/metrics on http://{settings.metrics_host}:{server.port}/metrics")
    _log_listening("/metrics", settings.metrics_host, server.port, "/metrics")
    return [server]


def _log_listening(what: str, host: str, port: int, path: str) -> None:
    """Where a server of this process listens, as a log line with the address as fields."""
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}{path}"
    log.info("%s listens on %s", what, url, extra={"host": host, "port": port, "url": url})


def _warn_if_metrics_open(web: WebConfig, web_host: str) -> None:
    """/metrics names campaigns and volumes: say so when anyone off this machine can read it."""
    host = web.metrics_host if web.metrics_port is not None else web_host
    if web.metrics_token is None and host not in ("127.0.0.1", "::1", "localhost"):
        log.warning(  # a log line, as every line on stderr is (docs/operations.md)
            "/metrics on %s is open to anyone who can reach it; set RAPPORT_METRICS_TOKEN, "
            "or web.metrics_port for an address of its own",
            host,
            extra={"host": host},
        )


def _print_problems(problems: list[Any]) -> None:
    """A campaign file the daemon cannot load: log records, as all of its stderr is
    (docs/operations.md, Logs), each naming its file and line as fields."""
    for problem in problems:
        log.warning("%s", problem, extra={"file": problem.file, "line": problem.line})


def _print_tick_report(report: Any) -> None:
    print_plan_report(report, False)
    for error in report.render_errors[:20]:
        log.warning("render error: %s", error)


def _listen_host(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--host`` held to ``web.host``'s rule: a usage error naming it, as a bad --port."""
    from rapport.engine.core.configtexts import check_listen_host

    try:
        return None if value is None else check_listen_host(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _resolved(host: str) -> str:
    """``--host`` as an address of this machine (checked when the command runs, not when
    its line is parsed): a name that resolves to nothing stopped the server with a DNS
    error that named no host, exit 3."""
    import socket

    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.BadParameter(
            f"{host!r} is not an address of this machine: {exc.strerror}", param_hint="'--host'"
        ) from None
    return host


@click.command()
@click.option(
    "--host", default=None, callback=_listen_host, help="Address to listen on (default: web.host)."
)
@click.option(
    "--port", default=None, type=click.IntRange(1, 65535), help="Port, 1-65535 (default: web.port)."
)
@config_option
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """The web app alone: preference centre, unsubscribe, confirmations, webhooks."""
    from rapport.engine.core.secretcheck import check_secrets
    from rapport.engine.web.app import create_app
    from rapport.engine.web.server import serve as serve_forever

    settings = app.settings
    host = None if host is None else _resolved(host)
    check_secrets(settings)  # the tokens it checks requests with, and the link key
    engine = app.migrated_engine()
    metrics_servers = _start_metrics_server(app, engine)
    _warn_if_metrics_open(settings.web, host or settings.web.host)
    try:
        serve_forever(
            create_app(settings, engine),
            host or settings.web.host,
            port or settings.web.port,
            settings.web,
        )
    except KeyboardInterrupt:  # uvicorn stops on Ctrl-C, then raises it again: done
        pass
    finally:
        for server in metrics_servers:
            server.stop()
