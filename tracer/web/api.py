"""The JSON API (``/api/v1``): the same service functions and JSON as the CLI's ``--json``.

Authenticated by the session cookie (then CSRF applies to POST) or by
``Authorization: Bearer TOKEN`` (``tracer user token``); same scope and roles
as the pages: a request of another service is 404, a forbidden action 403.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel

from tracer.core import clock
from tracer.register import accounts, threads
from tracer.register import requests as reg
from tracer.store import db
from tracer.web.deps import ReaderUser, ReadSession, RuntimeDep, User, WriteSession, require

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


# --------------------------------------------------------------------------
# Actions: the same service functions as the CLI, the author is the signed-in account.


class Reclassement(BaseModel):
    category: str
    topic: str | None = None
    reason: str | None = None


class Transfert(BaseModel):
    service: str
    reason: str | None = None


class Attribution(BaseModel):
    assignee: str | None = None


class Reponse(BaseModel):
    template: str
    values: dict[str, str] = {}
    text: str | None = None  # the edited text, instead of the rendered one
    idempotency_key: str | None = None  # the same key twice sends one mail
    force: bool = False  # a template made for another category


class ReponseHorsCourriel(BaseModel):
    channel: str
    at: str
    note: str | None = None


def _case(session, rt, request, now) -> Response:
    return as_json(reg.case_view(request, now, rt.cfg.tz, reg.message_ids_of(session, [request.id])[request.id]))


@router.post("/demandes/{reference}/reclassement")
def api_reclassify(reference: str, body: Reclassement, session: WriteSession, rt: RuntimeDep,
                   user: Annotated[User, Depends(require("reclassify"))]):
    found = reg.get_request(session, reference, user.services)
    now = clock.now()
    request = reg.reclassify(session, rt, found.reference, body.category, user.login, now, reason=body.reason,
                             topic=body.topic)
    return _case(session, rt, request, now)


@router.post("/demandes/{reference}/transfert")
def api_transfer(reference: str, body: Transfert, session: WriteSession, rt: RuntimeDep,
                 user: Annotated[User, Depends(require("transfer"))]):
    found = reg.get_request(session, reference, user.services)
    now = clock.now()
    request = reg.transfer(session, rt, found.reference, body.service, user.login, now, reason=body.reason)
    return _case(session, rt, request, now)


@router.post("/demandes/{reference}/attribution")
def api_assign(reference: str, body: Attribution, session: WriteSession, rt: RuntimeDep,
               user: Annotated[User, Depends(require("assign"))]):
    found = reg.get_request(session, reference, user.services)
    login = (body.assignee or "").strip() or None
    if login is not None and login != user.login and login not in {a.login for a in accounts.assignable(session, found.service)}:
        raise HTTPException(422, f"le compte « {login} » ne traite pas le service de cette demande")
    now = clock.now()
    request = reg.assign(session, rt, found.reference, login, user.login, now)
    return _case(session, rt, request, now)


@router.post("/demandes/{reference}/reponse")
def api_reply(reference: str, body: Reponse, request: Request, rt: RuntimeDep,
              user: Annotated[User, Depends(require("answer"))]):
    """Sends through the outbox; answers its state (``status``: sent, pending, uncertain, failed)."""
    from tracer.outgoing import reply

    engine = request.app.state.engine
    with db.read_scope(engine) as session:
        found = reg.get_request(session, reference, user.services).reference
    message_id = reply.idempotent_message_id(body.idempotency_key, rt, found) if body.idempotency_key else None
    result = reply.send_reply(engine, rt, found, body.template, user.login, dict(body.values), clock.now(),
                              text=body.text, message_id=message_id, force=body.force, services=user.services)
    return as_json(result, status_code=200 if result.get("already") else 201)


@router.post("/demandes/{reference}/reponse-hors-courriel")
def api_answer_outside(reference: str, body: ReponseHorsCourriel, session: WriteSession, rt: RuntimeDep,
                       user: Annotated[User, Depends(require("answer"))]):
    found = reg.get_request(session, reference, user.services)
    now = clock.now()
    request = threads.answer_outside(session, rt, found.reference, body.channel, instant(body.at, rt, "at"),
                                     user.login, body.note, now)
    return _case(session, rt, request, now)


@router.get("/indicateurs")
def api_indicators(request: Request, session: ReadSession, rt: RuntimeDep, user: ReaderUser):
    """As ``tracer stats --format json``: ``from``, ``to`` (dates, [from, to)), ``by`` (repeatable), ``as_of``."""
    from tracer.reports import stats

    q = request.query_params
    date_from, date_to = stats.parse_period(q.get("from", ""), q.get("to", ""))
    by = [key for value in q.getlist("by") for key in value.split(",") if key]
    result = stats.compute(session, rt, date_from, date_to, as_of=instant(q.get("as_of"), rt) or clock.now(), by=by,
                           services=user.services)
    return as_json(result)
