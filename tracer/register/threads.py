"""Threads: a reply stops the clock. Outgoing mail is linked to its request here;
inbound mail joins or opens its request in ``requests``.

Rules (DOMAIN.md, "Deadlines"):
- an outgoing message is linked by ``In-Reply-To``, then ``References`` (any
  message of the request, inbound or an earlier reply), then the reference tag
  ``[PREF74-2026-00042]`` in its subject; unlinked ones are kept and listed;
- the first *substantive* reply stops the clock at its INTERNALDATE; an
  automatic acknowledgement (``Auto-Submitted`` other than ``no``, or an
  acknowledgement tracer sent) is recorded but does not;
- a citizen's follow-up before the answer joins the request; after it, it
  opens a new request linked to the first;
- order does not matter: a reply recorded before its request is linked when
  the request appears, and an earlier reply found late moves the clock back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock
from tracer.store import bulk
from tracer.register import requests as register
from tracer.core.errors import NotFound, UserError
from tracer.store.models import Message, MessageRef, Outbox, Request

SUBSTANTIVE = "reply"


# --------------------------------------------------------------------------
# Replies recorded before their request.


def adopt_waiting_replies(session: Session, rt, message: Message, request: Request, now: datetime) -> None:
    """Replies recorded before their request (Sent read first) now stop its clock."""
    if not message.message_id or not unlinked_replies_exist(session):
        return
    bulk.flush_deferred(session)  # the waiting replies' references may still be in memory
    waiting = session.execute(
        select(Message)
        .join(MessageRef, MessageRef.message_id == Message.id)
        .where(MessageRef.ref == message.message_id, Message.direction == "out", Message.request_id.is_(None))
        .order_by(Message.received_at, Message.id)
    ).scalars().all()
    for reply in waiting:
        apply_reply(session, rt, request, reply, now, how="fil (réponse relevée avant la demande)")


def unlinked_replies_exist(session: Session) -> bool:
    """Checked once per session: most batches have no reply waiting for its request."""
    flag = session.info.get("unlinked_replies")
    if flag is None:
        flag = session.execute(
            select(Message.id).where(Message.direction == "out", Message.request_id.is_(None)).limit(1)
        ).first() is not None
        session.info["unlinked_replies"] = flag
    return flag


# --------------------------------------------------------------------------
# Outbound.


def attach_outbound(session: Session, rt, message: Message, parsed, now: datetime) -> Request | None:
    message.kind = outbound_kind(session, message)
    session.add(message)
    request, how = find_request_for_reply(session, message)
    if request is None:
        session.info["unlinked_replies"] = True
        return None
    apply_reply(session, rt, request, message, now, how=how)
    return request


def outbound_kind(session: Session, message: Message) -> str:
    auto = (message.auto_headers or {}).get("auto-submitted", "")
    if auto and auto.strip().lower().split(";")[0].strip() != "no":
        return "ack"
    if message.message_id:
        ours = session.execute(select(Outbox.kind).where(Outbox.message_id == message.message_id)).first()
        if ours and ours[0] == "ack":
            return "ack"
    return SUBSTANTIVE


def find_request_for_reply(session: Session, message: Message) -> tuple[Request | None, str]:
    if message.in_reply_to:
        request = _request_of_message(session, message.in_reply_to, message.id)
        if request is not None:
            return request, "In-Reply-To"
    for ref in reversed(message.references or []):
        request = _request_of_message(session, ref, message.id)
        if request is not None:
            return request, "References"
    for reference in register.references_in(message.subject):
        request = session.execute(select(Request).where(Request.reference == reference)).scalars().first()
        if request is not None:
            return request, "référence dans l'objet"
    return None, ""


def _request_of_message(session: Session, message_id: str, exclude: int | None) -> Request | None:
    hit = session.execute(
        select(Message.request_id).where(Message.message_id == message_id, Message.request_id.is_not(None), Message.id != exclude)
    ).first()
    return session.get(Request, hit[0]) if hit else None


def apply_reply(session: Session, rt, request: Request, message: Message, now: datetime, how: str = "", actor: str = "tracer",
                awaiting_delivery: bool = False) -> None:
    """Link an outgoing message to a request; the first substantive reply stops the clock.

    A reply tracer has only queued (``awaiting_delivery``) is linked and recorded
    (``reply_queued``) but stops nothing: :func:`reply_delivered` stops the clock
    when the SMTP server accepts it, :func:`reply_failed` records a refusal.
    """
    message.request = request
    session.add(message)
    if awaiting_delivery and message.kind == SUBSTANTIVE:
        register.add_event(session, request, "reply_queued", message.sent_by or actor, now,
                           message_id=message.message_id, template=message.template)
        return
    substantive = message.kind == SUBSTANTIVE
    first = substantive and (request.answered_at is None or message.received_at < request.answered_at)
    register.add_event(
        session,
        request,
        "answered" if first else ("acknowledged" if message.kind == "ack" else "reply_recorded"),
        message.sent_by or actor,
        now,
        message_id=message.message_id,
        sent_at=message.received_at,
        linked_by=how or None,
        template=message.template,
    )
    if first:
        _stop_clock(session, rt, request, message.received_at, message.id, now)


def reply_delivered(session: Session, rt, message_id: str, at: datetime, now: datetime) -> Request | None:
    """The SMTP server accepted a reply tracer queued: it answers its request at ``at``
    (the first substantive reply stops the clock, an earlier one moves it back)."""
    message = _outgoing(session, message_id)
    if message is None or message.request_id is None:
        return None
    request = session.get(Request, message.request_id)
    message.received_at = at  # the reply's date in the thread is when it left, not when it was queued
    first = message.kind == SUBSTANTIVE and (request.answered_at is None or at < request.answered_at)
    register.add_event(session, request, "answered" if first else "reply_recorded", message.sent_by or "tracer", now,
                       message_id=message.message_id, sent_at=at, linked_by="envoi par tracer (accepté par le serveur SMTP)",
                       template=message.template)
    if first:
        _stop_clock(session, rt, request, at, message.id, now)
    return request


def reply_failed(session: Session, rt, message_id: str, error: str, now: datetime) -> Request | None:
    """A reply tracer queued was refused for good (5xx): recorded on its request;
    if the clock had stopped on it, the request is open again (a reply nobody
    received is no answer). Returns the request, for the caller's alert."""
    message = _outgoing(session, message_id)
    if message is None or message.request_id is None:
        return None
    request = session.get(Request, message.request_id)
    reopened = request.answer_message_id == message.id
    register.add_event(session, request, "reply_failed", "tracer", now, message_id=message.message_id, error=error,
                       reopened=reopened)
    if reopened:
        request.answered_at = None
        request.answer_message_id = None
        register.refresh_derived(rt, request)
        session.add(request)
        session.flush()
    return request


def _outgoing(session: Session, message_id: str) -> Message | None:
    return session.execute(
        select(Message).where(Message.message_id == message_id, Message.direction == "out").order_by(Message.id)
    ).scalars().first()


def answer_outside(session: Session, rt, reference: str, channel: str, at: datetime, by: str, note: str | None,
                   now: datetime) -> Request:
    """A reply made outside the polled mailboxes (``tracer answer``): by post, phone, at
    the counter, or from a mailbox tracer does not read (``courriel``).

    It stops the clock at ``at`` exactly as an e-mail reply sent then would: the
    same ``answered`` event (with the channel and the note), the same derived
    delays, and the follow-ups received after ``at`` split into a new request.
    A reply after the request's answer is recorded (``reply_recorded``) and
    leaves the clock where it stopped; an earlier one moves it back.
    """
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")
    if channel not in register.ANSWER_CHANNELS:
        raise UserError(f"--channel : canal inconnu « {channel} » (attendu : {', '.join(register.ANSWER_CHANNELS)})")
    if at.tzinfo is None:
        raise UserError("--at : instant avec fuseau attendu")
    request = register.get_request(session, reference)
    if at > now:
        raise UserError(f"--at : la réponse ne peut pas être datée dans le futur ({clock.iso_local(at, rt.cfg.tz)})")
    if at < request.received_at:
        raise UserError(f"--at : la réponse ne peut pas précéder la réception de {request.reference}"
                        f" ({clock.iso_local(request.received_at, rt.cfg.tz)})")
    first = request.answered_at is None or at < request.answered_at
    register.add_event(session, request, "answered" if first else "reply_recorded", by.strip(), now,
                       channel=channel, sent_at=at, note=(note or "").strip() or None)
    if first:
        _stop_clock(session, rt, request, at, None, now)
    return request


def _stop_clock(session: Session, rt, request: Request, at: datetime, message_id: int | None, now: datetime) -> None:
    request.answered_at = at
    request.answer_message_id = message_id
    register.refresh_derived(rt, request)
    session.add(request)
    session.flush()
    _split_after_answer(session, rt, request, now)


def _split_after_answer(session: Session, rt, request: Request, now: datetime) -> None:
    """Messages that joined before we knew of the answer but arrived after it
    open a new request linked to this one (found when replies come late)."""
    inbound = session.execute(
        select(Message).where(Message.request_id == request.id, Message.direction == "in").order_by(Message.received_at, Message.id)
    ).scalars().all()
    late = [m for m in inbound[1:] if m.received_at > request.answered_at]
    if not late:
        return
    first = late[0]
    child = register.open_request(
        session,
        rt,
        channel=request.channel,
        mailbox=first.mailbox,
        service=request.service,
        sender_addr=first.reply_to or first.from_addr,
        sender_name=first.from_name,
        subject=first.subject,
        received_at=first.received_at,
        now=now,
        category=request.category,
        topic=request.topic,
        rule_ids=[f"fil:{request.reference}"],
        has_reply_address=bool(first.reply_to or first.from_addr),
        parent=request,
    )
    session.flush()
    for m in late:
        m.request_id = child.id
        session.add(m)
    register.add_event(session, request, "split", "tracer", now, child=child.reference, messages=[m.message_id for m in late])


# --------------------------------------------------------------------------
# Manual linking and listing.


def normalise_message_id(value: str) -> str:
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    return value


def link(session: Session, rt, reference: str, message_id: str, by: str, now: datetime,
         services: list[str] | None = None) -> Request:
    """Link a sent message to a request by hand; with ``services`` (a user's scope) both
    the request and the message's mailbox must belong to these services."""
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")
    request = register.get_request(session, reference, services)
    mid = normalise_message_id(message_id)
    message = session.execute(select(Message).where(Message.message_id == mid, Message.direction == "out")).scalars().first()
    if message is not None and services is not None:
        box = rt.box(message.mailbox)
        if box is None or box.service not in services:
            message = None
    if message is None:
        raise NotFound(f"aucun message envoyé avec l'identifiant {mid}")
    if message.request_id == request.id:
        raise UserError(f"le message {mid} est déjà rattaché à {reference}")
    if message.request_id is not None:
        other = session.get(Request, message.request_id)
        raise UserError(f"le message {mid} est déjà rattaché à {other.reference}")
    register.add_event(session, request, "linked", by, now, message_id=mid)
    apply_reply(session, rt, request, message, now, how="rattachement manuel", actor=by)
    return request


def unlinked(session: Session, rt, services: list[str] | None = None) -> list[dict]:
    """Sent messages linked to no request; with ``services`` (a user's scope), those of
    the mailboxes of these services only."""
    query = select(Message).where(Message.direction == "out", Message.request_id.is_(None))
    if services is not None:
        boxes = [b.name for b in rt.cfg.mailboxes if b.service in services]
        query = query.where(Message.mailbox.in_(boxes) if boxes else Message.id.is_(None))
    rows = session.execute(query.order_by(Message.received_at, Message.id)).scalars().all()
    return [register.message_view(m, rt.cfg.tz) | {"body": None} for m in rows]
