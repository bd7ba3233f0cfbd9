"""The one-question feedback page and the operators' report page.

``/feedback/{token}``: a signed :attr:`Purpose.FEEDBACK` link, in the customer's
language; the first answer per request is stored, any later submit changes nothing
and gets the same thank-you. A bad token gets the standard 404.

``/admin/report``: the HTML report, for operators holding the admin token
(``RAPPORT_REPORT_TOKEN``), sent as ``Authorization: Bearer <token>`` or
``?token=``. 401 without it, 503 while no token is configured.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from rapport.consent.privacy import hold_unerased
from rapport.consent.tokens import Purpose, TokenClaims
from rapport.engine.core.timeutil import DAY_YEARS
from rapport.engine.customers.feedback import answered, record_answer
from rapport.engine.customers.fields import FieldInvalid, iso_date
from rapport.engine.web.admin import admin_refusal
from rapport.engine.web.context import WebContext, not_found, resolve, web_context
from rapport.engine.web.headers import REPORT_POLICY


def _page(request: Request, locale: str, *, done: bool, invalid: bool = False) -> str:
    return web_context(request).pages.render("feedback.html", locale, done=done, invalid=invalid)


def _answered(web: WebContext, claims: TokenClaims) -> bool:
    with web.engine.connect() as connection:
        return answered(connection, claims.customer_id, claims.topic or "")


def _record(web: WebContext, claims: TokenClaims, score: int, comment: str) -> bool:
    """Store the answer (run in a worker thread: it may wait for the customer's row);
    False if the customer was erased meanwhile."""
    try:
        with web.engine.begin() as connection:
            if not hold_unerased(connection, claims.customer_id):
                return False
            record_answer(connection, web.settings, claims, score, comment, web.now())
    except IntegrityError:
        pass  # answered concurrently: the first answer stands
    return True


async def feedback_page(request: Request) -> Response:
    found = await resolve(request, Purpose.FEEDBACK)
    if found is None:
        return not_found(request)
    claims, customer = found
    done = await run_in_threadpool(_answered, web_context(request), claims)
    return HTMLResponse(_page(request, customer.locale, done=done))


async def feedback_post(request: Request) -> Response:
    found = await resolve(request, Purpose.FEEDBACK)
    if found is None:
        return not_found(request)
    claims, customer = found
    web = web_context(request)
    form = await request.form()
    raw = str(form.get("score") or "").strip()
    # Decimal digits of any script (Persian ۹ is 9); not superscripts such as ², which
    # isdigit() accepts and int() refuses.
    score = int(raw) if len(raw) <= 2 and raw.isdecimal() else -1
    if not 0 <= score <= 10:
        if await run_in_threadpool(_answered, web, claims):
            return HTMLResponse(_page(request, customer.locale, done=True))
        body = _page(request, customer.locale, done=False, invalid=True)
        return HTMLResponse(body, status_code=422)
    # PostgreSQL text cannot hold NUL, and no one types one.
    comment = str(form.get("comment") or "").replace("\x00", "")
    if not await run_in_threadpool(_record, web, claims, score, comment):
        return not_found(request)  # erased meanwhile
    return HTMLResponse(_page(request, customer.locale, done=True))


#: The years a report period may lie in, and its longest length: the figures step
#: through the period by day and month, so an open-ended one is refused, not computed.
REPORT_YEARS = DAY_YEARS
REPORT_MAX_DAYS = 3660


async def admin_report(request: Request) -> Response:
    """The HTML report for ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (default: the last 90 days)."""
    from rapport.engine.reports.text import render_report

    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    web = web_context(request)
    # Read as `rapport report` reads --from and --to: YYYY-MM-DD, digits of any script.
    try:
        end_text = request.query_params.get("to")
        end = iso_date(end_text, "to") if end_text else web.now().date()
        start_text = request.query_params.get("from")
        start = iso_date(start_text, "from") if start_text else end - timedelta(days=89)
    except FieldInvalid:
        return PlainTextResponse("from and to must be YYYY-MM-DD dates", status_code=400)
    if start > end:
        return PlainTextResponse("from must not be after to", status_code=400)
    if not (REPORT_YEARS[0] <= start.year and end.year <= REPORT_YEARS[1]):
        return PlainTextResponse(
            f"from and to must lie in the years {REPORT_YEARS[0]} to {REPORT_YEARS[1]}",
            status_code=400,
        )
    if (end - start).days >= REPORT_MAX_DAYS:
        return PlainTextResponse(f"a report covers at most {REPORT_MAX_DAYS} days", status_code=400)
    body = await run_in_threadpool(render_report, web.engine, web.settings, start, end, "html")
    return HTMLResponse(
        body,
        headers={
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
            "Content-Security-Policy": REPORT_POLICY,
        },
    )


routes = [
    Route("/feedback/{token}", feedback_page, methods=["GET"]),
    Route("/feedback/{token}", feedback_post, methods=["POST"]),
    Route("/admin/report", admin_report, methods=["GET"]),
]
