"""Ingest endpoints of the HTTP API (issue 19, point 2): customers, orders, consent.

``POST /api/v1/customers|orders|consent`` with ``{"customers": [...]}`` (or
``orders``, ``consent``) and a token of scope ``ingest``. Each item is checked and
written exactly as a line of a JSON Lines import is (the importer's columns,
:func:`rapport.engine.customers.rows.parse_record`, and its batch writer): the same
per-field rules, the same idempotent upserts, customers erased on request skipped,
never re-created. The API adds one rule: consent needs a ``wording`` version, since
a grant from an API call has no paper trail besides it. A consent item may say
``"actor": "customer"`` (the person acted themselves, e.g. ticked a box at checkout);
its evidence then carries the ``ip`` and ``user_agent`` the item gives, or else the
request's own (a client address and ``User-Agent``), as a form on our own pages would.
Without it (``"actor": "system"``, the default) no address or agent is recorded.
A consent item restating a recorded fact with another wording, or another address or
agent given in the item (not the request's own, which a retry from another host
changes), is an error of that item (``/consent/0/wording: 'v4' differs from the
recorded 'v3' ...``), counted ``conflicting``; the recorded evidence is kept.

A batch holds at most :data:`MAX_ITEMS` items (more is ``413``). Valid items are
written even when others are not: the answer is then ``422`` and lists each problem
as a JSON pointer into the request with its reason (``/customers/3/email: not a
valid address``), so nothing valid is lost and the caller resends only what failed.
Every token may make :data:`REQUESTS_PER_MINUTE` ingest requests a minute; past
that, ``429`` with ``Retry-After``.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Collection
from datetime import timedelta
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.engine.core.errors import Problem
from rapport.engine.core.text import clipped, printable
from rapport.engine.customers import importer
from rapport.engine.customers.rows import MAX_IGNORED_KEYS, Row, parse_record
from rapport.engine.web.api import INGEST_KINDS, MAX_ITEMS, PREFIX, api_error, authenticate
from rapport.engine.web.context import MAX_USER_AGENT, WebContext, client_ip, web_context
from rapport.engine.web.jsonbody import BadBody, parse_body
from rapport.engine.web.ratelimit import RateLimiter

REQUESTS_PER_MINUTE = 120
ACTORS = ("system", "customer")


def limiter(request: Request, web: WebContext) -> RateLimiter:
    """The API's one rate limiter, :data:`REQUESTS_PER_MINUTE` per token and endpoint."""
    state = request.app.state
    limiter = getattr(state, "api_limiter", None)
    if limiter is None:
        limiter = RateLimiter(REQUESTS_PER_MINUTE, timedelta(minutes=1), clock=web.clock)
        state.api_limiter = limiter
    return limiter


def pointer(kind: str, problem: Problem) -> str:
    """A problem as a JSON pointer into the request and its reason."""
    where = f"/{kind}/{problem.line}" + (f"/{problem.field}" if problem.field else "")
    return f"{where}: {problem.message}"


def _address(text: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(text)) if text else None
    except ValueError:
        return None


def _consent_extras(
    row: Row, item: dict[str, Any], kind: str, client: tuple[str | None, str | None]
) -> None:
    """The API's consent rules: a wording version, and the actor's evidence."""
    line = row.line
    if not str(item.get("wording") or "").strip():
        row.problems.append(Problem(kind, line, "is required", "wording"))
    actor = item.get("actor", "system")
    if actor not in ACTORS:
        row.problems.append(Problem(kind, line, f"must be one of {', '.join(ACTORS)}", "actor"))
        return
    if actor != "customer":
        return
    ip, agent = item.get("ip"), item.get("user_agent") or client[1]
    try:
        # A string only: ip_address() would take True or 2130706433 as an address.
        if ip is not None and not isinstance(ip, str):
            raise TypeError(type(ip).__name__)
        ip = str(ipaddress.ip_address(ip.strip())) if ip else _address(client[0])
    except (TypeError, ValueError):
        row.problems.append(Problem(kind, line, "not an IP address", "ip"))
    if agent is not None and (not isinstance(agent, str) or not agent.isprintable()):
        row.problems.append(Problem(kind, line, "not a printable text", "user_agent"))
    elif not row.problems:
        row.values["ip"] = ip
        row.values["user_agent"] = agent[:MAX_USER_AGENT] if agent else None
        # Only what the item says itself can contradict the record: the request's own
        # address and agent differ whenever a retry comes from another host.
        row.provided.update(name for name in ("ip", "user_agent") if item.get(name))


def item_rows(
    items: list[Any], kind: str, parse: Callable[[dict[str, Any], int], Row]
) -> list[Row]:
    """Each item parsed into a row; an item that is not an object, a row saying so."""
    return [
        parse(item, index)
        if isinstance(item, dict)
        else Row(index, problems=[Problem(kind, index, "not a JSON object")])
        for index, item in enumerate(items)
    ]


#: The keys a consent item may have beside the import's columns.
CONSENT_EXTRAS = ("actor", "ip", "user_agent")


def warn_unknown_keys(
    items: list[Any], kind: str, known: Collection[str], report: importer.ImportReport
) -> None:
    """Name each key of an item the endpoint does not read in a warning at its first
    item, as the import names columns it ignores: a misspelt key (``emial``) is
    otherwise dropped without a word. At most :data:`MAX_IGNORED_KEYS` keys are named."""
    named: set[str] = set()
    for index, item in enumerate(items):
        for key in item if isinstance(item, dict) else ():
            if key in known or key in named:
                continue
            if len(named) >= MAX_IGNORED_KEYS:
                return
            named.add(key)
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
            hint = f"; is it meant to be {close[0]}?" if close else ""
            field = clipped(printable(key))
            report.warnings.append(Problem(kind, index, f"unknown key, ignored{hint}", field))


def new_report(kind: str, rows: list[Row]) -> importer.ImportReport:
    report = importer.ImportReport(kind=kind, file=kind, max_problems=MAX_ITEMS * 8, items=True)
    report.rows_read = len(rows)
    return report


def answer(kind: str, report: importer.ImportReport) -> dict[str, Any]:
    """What an ingest endpoint answers: the counts, skips, problems and warnings as
    pointers. ``accepted`` is ``inserted + updated + unchanged + repeated``: an item
    repeating an earlier item's id in the batch is written once, as the later says.
    Consent also counts ``conflicting`` items: a fact on record with other evidence,
    each differing field among the errors."""
    counts = {
        "accepted": report.accepted,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "repeated": report.repeated,
    }
    if kind == "consent":
        counts["conflicting"] = report.conflicting
    return {
        **counts,
        "rejected": report.rejected,
        "skipped": [pointer(kind, problem) for problem in report.skipped],
        "errors": [pointer(kind, problem) for problem in report.problems],
        "warnings": [pointer(kind, problem) for problem in report.warnings],
    }


def ingest(
    web: WebContext,
    items: list[Any],
    client: tuple[str | None, str | None] = (None, None),
    *,
    kind: importer.Kind,
) -> dict[str, Any]:
    """Check and write ``items`` as the importer writes one batch; the counts and the
    problems as JSON pointers."""
    now = web.now()
    columns = importer.columns(kind, web.settings, now.date(), now)
    order = {column.name: index for index, column in enumerate(columns)}

    def parse(item: dict[str, Any], index: int) -> Row:
        row = parse_record(item, index, kind, columns)
        if kind == "consent":
            _consent_extras(row, item, kind, client)
        return row

    rows = item_rows(items, kind, parse)
    report = new_report(kind, rows)
    extras = CONSENT_EXTRAS if kind == "consent" else ()
    warn_unknown_keys(items, kind, [*order, *extras], report)
    settings = web.settings
    kinds = {name: config.kind or name for name, config in settings.channels.items()}
    if rows:
        importer.write_batch(web.engine, kind, rows, report, order, now, kinds)
    return answer(kind, report)


async def admit(
    request: Request, scope: str, bucket: str
) -> tuple[str, WebContext, Any] | Response:
    """(token name, web context, parsed body), once the checks every JSON endpoint of
    the API shares have passed: the token and its scope, the token's rate (``bucket``
    names the endpoint's own count), a body that is JSON. Otherwise the refusal."""
    found = await authenticate(request, scope)
    if isinstance(found, Response):
        return found
    web = web_context(request)
    if not limiter(request, web).allow(f"{bucket}:{found[0]}"):
        return api_error(429, "too many requests for this token", {"Retry-After": "60"})
    try:
        return found[0], web, parse_body(await request.body())
    except BadBody as bad:
        return api_error(400, bad.message)


#: Checks and writes one batch: (web, items, (client ip, user agent)) -> the answer.
Ingest = Callable[[WebContext, list[Any], tuple[str | None, str | None]], dict[str, Any]]


def ingest_endpoint(kind: str, handler: Ingest) -> Any:
    """The endpoint for ``{"<kind>": [...]}``: the token, rate, body and batch-size
    checks every ingest endpoint shares, then ``handler`` in a worker thread."""

    async def endpoint(request: Request) -> Response:
        admitted = await admit(request, "ingest", "api")
        if isinstance(admitted, Response):
            return admitted
        _, web, body = admitted
        items = body.get(kind) if isinstance(body, dict) else None
        if not isinstance(items, list):
            return api_error(422, f'the body must be {{"{kind}": [...]}}')
        if other := sorted(str(key) for key in body if key != kind):
            # Another kind's items beside these would be dropped unsaid: refuse them all.
            return api_error(
                422,
                f'the body must be {{"{kind}": [...]}} and nothing else: unknown key "{other[0]}"',
            )
        if len(items) > MAX_ITEMS:
            return api_error(413, f"at most {MAX_ITEMS} {kind} per request")
        client = (client_ip(request), request.headers.get("user-agent"))
        result = await run_in_threadpool(handler, web, items, client)
        return JSONResponse(result, status_code=422 if result["errors"] else 200)

    endpoint.__name__ = f"ingest_{kind}"
    return endpoint


routes = [
    Route(f"{PREFIX}/{kind}", ingest_endpoint(kind, partial(ingest, kind=kind)), methods=["POST"])
    for kind in INGEST_KINDS
]
