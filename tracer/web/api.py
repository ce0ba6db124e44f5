"""The JSON API (``/api/v1``): the same service functions and JSON as the CLI's ``--json``.

Authenticated by the session cookie (then CSRF applies to POST) or by
``Authorization: Bearer TOKEN`` (``tracer user token``); same scope and roles
as the pages: a request of another service is 404, a forbidden action 403.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from tracer.core import clock
from tracer.register import requests as reg
from tracer.web.deps import ReaderUser, ReadSession, RuntimeDep

router = APIRouter(prefix="/api/v1")


def as_json(data, status_code: int = 200) -> Response:
    """The CLI's JSON (``ctx.print_json``): same keys, same values."""
    return Response(json.dumps(data, ensure_ascii=False, default=str), status_code=status_code,
                    media_type="application/json")


def instant(value: str | None, rt, name: str = "as_of"):
    if not value:
        return None
    try:
        return clock.parse_instant(value, rt.cfg.tz)
    except ValueError:
        raise HTTPException(422, f"{name} : instant ISO 8601 attendu, reçu « {value} »") from None


@router.get("/demandes")
def list_requests(session: ReadSession, rt: RuntimeDep, user: ReaderUser, status: str = "all",
                  service: str | None = None, category: str | None = None, channel: str | None = None,
                  assignee: str | None = None, search: str | None = None, as_of: str | None = None,
                  limit: int | None = None, offset: int = 0, order: str = "deadline"):
    at = instant(as_of, rt)
    cases = reg.list_cases(session, rt, status=status, service=service, services=user.services, category=category,
                           channel=channel, assignee=assignee, search=search, as_of=at or clock.now(),
                           received_by=at, limit=limit, offset=offset, order=order)
    return as_json(cases)


@router.get("/demandes/{reference}")
def show_request(reference: str, session: ReadSession, rt: RuntimeDep, user: ReaderUser, as_of: str | None = None):
    return as_json(reg.show_case(session, rt, reference, instant(as_of, rt) or clock.now(), services=user.services))
