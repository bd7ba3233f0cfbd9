"""``POST /api/v1/events``: events other systems tell about customers (issue 19).

``{"events": [{"id": "SHIP-1", "customer_id": "C1", "name": "order_shipped",
"occurred_at": "2026-12-01T10:00:00Z", "data": {"carrier": "DHL"}}]}`` with a token of
scope ``ingest``; campaigns with an ``event`` trigger follow them
(engine/triggers/events.py). Each item is checked and written by
:mod:`rapport.engine.customers.events` (the fields, the idempotency by customer, name
and id, erased customers skipped and unknown ones refused); the request is checked
and answered as every ingest endpoint is (:func:`~rapport.engine.web.api_ingest.ingest_endpoint`:
401/403/413/422/429, problems as JSON pointers such as ``/events/3/name: ...``,
the valid items written even when others are not).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from rapport.engine.customers import events
from rapport.engine.customers.rows import Row
from rapport.engine.web.api import PREFIX
from rapport.engine.web.api_ingest import (
    answer,
    ingest_endpoint,
    item_rows,
    new_report,
    warn_unknown_keys,
)
from rapport.engine.web.context import WebContext

KIND = "events"


def ingest_events(
    web: WebContext, items: list[Any], client: tuple[str | None, str | None] = (None, None)
) -> dict[str, Any]:
    """Check and record ``items`` as one batch; the counts and problems as pointers."""
    now = web.now()
    columns = events.columns(now, web.settings.retention.event_days)
    order = {column.name: index for index, column in enumerate(columns)}
    order["data"] = len(columns)

    def parse(item: dict[str, Any], index: int) -> Row:
        return events.parse_event(item, index, KIND, columns)

    rows = item_rows(items, KIND, parse)
    report = new_report(KIND, rows)
    warn_unknown_keys(items, KIND, order, report)
    if rows:
        events.write_events(web.engine, rows, report, order, now)
    return answer(KIND, report)


routes = [Route(f"{PREFIX}/{KIND}", ingest_endpoint(KIND, ingest_events), methods=["POST"])]
