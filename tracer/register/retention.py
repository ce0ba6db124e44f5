"""Personal data (RGPD): retention purge, right of access, right of erasure.

A purge blanks message bodies, raw messages, names, addresses and subjects,
and keeps the anonymous facts the indicators need (dates, deadline, category,
topic, service, channel, delays), so indicators of past periods are unchanged.
Events are never edited: the purge and the erasure add an event each.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracer.core import clock
from tracer.register import requests as register
from tracer.core.errors import UserError
from tracer.store.models import Event, Message, Outbox, Quarantine, RawMessage, Request


def _blank_messages(session: Session, message_ids: list[int], now: datetime) -> None:
    if not message_ids:
        return
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start : start + 500]
        session.execute(
            update(Message)
            .where(Message.id.in_(chunk))
            .values(body_text=None, from_name=None, from_addr=None, to_addrs=[], cc_addrs=[], reply_to=None,
                    subject=None, attachments=[], purged_at=now)
        )
        session.execute(update(RawMessage).where(RawMessage.message_id.in_(chunk)).values(data=None, purged_at=now))


def _blank_requests(session: Session, request_ids: list[int], now: datetime) -> None:
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        session.execute(
            update(Request).where(Request.id.in_(chunk)).values(sender_addr=None, sender_name=None, subject=None, purged_at=now)
        )
        session.execute(
            update(Outbox)
            .where(Outbox.request_id.in_(chunk), Outbox.status == "sent")
            .values(data=b"", subject="(purgé)", recipients=[])
        )


def purge_candidates(session: Session, rt, now: datetime) -> list[Request]:
    """Requests closed more than ``body_days`` ago and not yet purged."""
    limit = now - timedelta(days=rt.cfg.retention.body_days)
    closed_answered = Request.answered_at.is_not(None) & (Request.answered_at < limit)
    closed_excluded = Request.category.in_(register.EXCLUDED) & (Request.received_at < limit)
    query = select(Request).where(Request.purged_at.is_(None)).where(or_(closed_answered, closed_excluded))
    return list(session.execute(query.order_by(Request.id)).scalars())


def purge(engine: Engine, rt, now: datetime, by: str = "tracer", dry_run: bool = False) -> dict:
    limit = now - timedelta(days=rt.cfg.retention.body_days)
    with Session(engine, expire_on_commit=False) as session:
        requests = purge_candidates(session, rt, now)
        ids = [r.id for r in requests]
        message_ids = [m for (m,) in session.execute(select(Message.id).where(Message.request_id.in_(ids)))] if ids else []
        old_quarantine = session.execute(
            select(Quarantine.id).where(Quarantine.created_at < limit, Quarantine.size > 0)
        ).scalars().all()
        result = {
            "requests": len(ids),
            "messages": len(message_ids),
            "quarantined": len(old_quarantine),
            "before": clock.iso_local(limit, rt.cfg.tz),
            "references": [r.reference for r in requests],
            "dry_run": dry_run,
        }
        if dry_run or not (ids or old_quarantine):
            return result
        _blank_messages(session, message_ids, now)
        _blank_requests(session, ids, now)
        for request in requests:
            register.add_event(session, request, "purged", by, now, retention_days=rt.cfg.retention.body_days)
        if old_quarantine:
            session.execute(update(Quarantine).where(Quarantine.id.in_(old_quarantine)).values(data=zlib.compress(b""), size=0))
        session.commit()
    return result


# --------------------------------------------------------------------------
# Right of access and erasure.


def _requests_of(session: Session, email: str) -> tuple[list[Request], list[Message]]:
    address = email.strip().lower()
    if "@" not in address:
        raise UserError(f"adresse électronique attendue, reçu « {email} »")
    messages = list(
        session.execute(
            select(Message).where(or_(Message.from_addr == address, Message.reply_to == address)).order_by(Message.received_at)
        ).scalars()
    )
    request_ids = {m.request_id for m in messages if m.request_id}
    requests = list(
        session.execute(select(Request).where(or_(Request.sender_addr == address, Request.id.in_(request_ids or {-1})))).scalars()
    )
    ids = [r.id for r in requests]
    if ids:  # replies sent to the person belong to their requests
        messages += [
            m for m in session.execute(select(Message).where(Message.request_id.in_(ids), Message.direction == "out")).scalars()
            if m not in messages
        ]
    return requests, messages


def export_person(session: Session, rt, email: str) -> dict:
    requests, messages = _requests_of(session, email)
    tz = rt.cfg.tz
    ids = [r.id for r in requests]
    events = session.execute(select(Event).where(Event.request_id.in_(ids or [-1])).order_by(Event.at, Event.id)).scalars()
    return {
        "person": email.strip().lower(),
        "requests": [register.case_view(r, clock.now(), tz, []) for r in requests],
        "messages": [register.message_view(m, tz) | {"request_id": m.request_id} for m in messages],
        "events": [{"at": clock.iso_local(e.at, tz), "kind": e.kind, "actor": e.actor, "request_id": e.request_id} for e in events],
    }


def erase_person(session: Session, rt, email: str, by: str, now: datetime) -> dict:
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")
    requests, messages = _requests_of(session, email)
    _blank_messages(session, [m.id for m in messages], now)
    _blank_requests(session, [r.id for r in requests], now)
    for request in requests:
        register.add_event(session, request, "erased", by, now, reason="droit à l'effacement")  # without the erased data
    return {"requests": len(requests), "messages": len(messages)}
