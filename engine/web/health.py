"""Health and metrics endpoints: what an orchestrator and Prometheus ask."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rapport.engine.core.db import current_revision, head_revision
from rapport.engine.runtime.metrics import exposition
from rapport.engine.web.context import web_context


async def healthz(request: Request) -> Response:
    """Alive: the process answers. Says nothing about its dependencies, on purpose."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the database answers, its schema is current, and the scheduler (when this
    process runs one) is running. 503 with the failing checks otherwise."""
    web = web_context(request)
    checks: dict[str, str] = {}
    try:
        revision = await run_in_threadpool(current_revision, web.engine)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if revision == head_revision() else "not at head"
    except Exception as exc:  # any failure to reach the database means "not ready"
        checks["database"] = f"unreachable: {type(exc).__name__}"
    scheduler = getattr(request.app.state, "scheduler_running", None)
    if scheduler is not None:
        checks["scheduler"] = "ok" if scheduler() else "stopped"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(exposition, web_context(request).engine)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
