"""``tracer reply``: render a template reply, queue it, record it, send it.

The reply is threaded (In-Reply-To and References to the request's last
inbound message), signed by the service, and recorded as an outgoing message
of the request in the same transaction as its outbox row: the first
substantive reply stops the clock. When its copy is later polled from the
Sent folder, the Message-ID makes it the same message, not a second reply.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracer.core import clock
from tracer.outgoing import outbox
from tracer.register import requests as register
from tracer.register import threads as replies
from tracer.outgoing import templates
from tracer.core.errors import UserError
from tracer.store.models import Message, MessageRef, Outbox, Request

log = logging.getLogger("tracer.outgoing.reply")

RE_PREFIX = re.compile(r"^\s*((re|tr|fwd?|aw|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass
class PreparedReply:
    request: Request
    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None
    in_reply_to: str | None
    references: list[str]
    mailbox: str
    sender_name: str | None = None  # the From: display name (the service's)


def clean_subject(subject: str | None, reference: str) -> str:
    subject = RE_PREFIX.sub("", subject or "").replace(f"[{reference}]", "").strip()
    return subject or "Votre demande"


def context_for(rt, request: Request, values: dict, now: datetime, quote: bool = True) -> dict:
    """The template's variables; without ``quote`` (acknowledgements, sent
    unread to whoever wrote) neither the subject nor the sender's name."""
    tz = rt.cfg.tz
    svc = rt.cfg.service(request.service) if request.service else None
    box = _mailbox(rt, request)
    service = {
        "name": request.service,
        "label": (svc.label if svc else None) or request.service or "Préfecture",
        "signature": (svc.signature if svc and svc.signature else None) or (svc.label if svc else None) or "La préfecture",
        "contact": list(svc.contact) if svc else [],
    }
    subject = request.subject if quote else None
    paper = request.channel == "paper"
    return {
        "request": {
            "reference": request.reference,
            "subject": subject or "",
            "subject_clean": clean_subject(subject, request.reference),
            # a letter's day of arrival has no time of day worth telling: « votre courrier du 30 novembre 2026 »
            "received_at_fr": templates.date_fr(request.received_at, tz, with_time=not paper),
            "kind_fr": "courrier" if paper else "message",
            "channel": request.channel,
            "received_date_fr": templates.date_fr(request.received_at, tz),
            "deadline_fr": templates.date_fr(request.deadline, tz) if request.deadline else "",
            "category": request.category,
            "topic": request.topic,
        },
        "citizen": _citizen(request) if quote else _courteous(request.sender_addr),
        "service": service,
        "mailbox": {"name": box.name if box else None, "address": box.address if box else ""},
        "today_fr": templates.date_fr(now, tz),
        "values": dict(values),
        **values,
    }


_MADAME = re.compile(r"(?i)^(madame|mme\.?|mlle\.?|mademoiselle)\s")
_MONSIEUR = re.compile(r"(?i)^(monsieur|m\.|mr\.?)\s")


def civility(name: str | None) -> str | None:
    """« Madame » or « Monsieur » when the sender wrote it (« Mme Rossi », « M. Fabre »), else None."""
    name = (name or "").strip() + " "
    if _MADAME.match(name):
        return "Madame"
    if _MONSIEUR.match(name):
        return "Monsieur"
    return None


def _citizen(request: Request) -> dict:
    """The sender's display name when it looks like a name; the greeting in administrative style:
    « Madame, » or « Monsieur, » when the civility is known, else « Madame, Monsieur, »."""
    name = " ".join((request.sender_name or "").split()).strip("\"' ")
    if not name or "@" in name or not any(c.isalpha() for c in name):
        return _courteous(request.sender_addr)
    if name.isupper() or name.islower():  # « JEANNE MARTIN » -> « Jeanne Martin »
        name = " ".join("-".join(p.capitalize() for p in w.split("-")) for w in name.split())
    known = civility(name)
    return {"name": name, "email": request.sender_addr or "", "civility": known,
            "greeting": f"{known}," if known else "Madame, Monsieur,"}


def _courteous(address: str | None) -> dict:
    return {"name": "Madame, Monsieur", "email": address or "", "civility": None, "greeting": "Madame, Monsieur,"}


def sender_name(rt, service: str | None) -> str:
    """The From: display name of mail a service sends: its label (« Mission qualité »; short enough
    that the header is not folded), else « Préfecture »."""
    svc = rt.cfg.service(service) if service else None
    return (svc.label if svc else None) or "Préfecture"


# An address a reply may go to: one « @ », no space, no control character
# (a U+2028 or a line feed in a quoted local part made building the mail raise).
_SENDABLE = re.compile(r"[^@\s\x00-\x1f\x7f-\x9f\u2028\u2029\\\"<>(),;:\[\]]+@[^@\s\x00-\x1f\x7f-\x9f\u2028\u2029\\\"<>(),;:\[\]]+")


def sendable(address: str | None) -> bool:
    return bool(address) and len(address) <= 500 and _SENDABLE.fullmatch(address) is not None


def _mailbox(rt, request: Request):
    for box in rt.cfg.mailboxes:
        if box.name == request.mailbox:
            return box
    if rt.cfg.mailboxes:
        for box in rt.cfg.mailboxes:
            if box.service == request.service:
                return box
        return rt.cfg.mailboxes[0]
    return None


def prepare_reply(session: Session, rt, reference: str, template: str, values: dict, now: datetime,
                  kind: str = "reply", force: bool = False, text: str | None = None,
                  services: list[str] | None = None) -> PreparedReply:
    """Render the reply and work out its headers; writes nothing.

    Raises ``NotFound`` (reference, template), ``UserError`` (no address, an
    address no mail can go to, automatic mail) or ``TemplateError`` (missing
    variable). An acknowledgement (``kind="ack"``) goes to the From: address of
    the request's first message only (never to a Reply-To a stranger may have
    set) and quotes neither its subject nor its sender's name.

    ``text``: the agent's edited text, sent instead of the rendered one (then
    without the template's HTML part, which would say something else).
    ``services``: the signed-in user's scope (another service's request is not found).
    """
    request = register.get_request(session, reference, services)
    if request.category == "automatique":
        raise UserError(f"la demande {request.reference} est un message automatique (réponse automatique, rebond, "
                        "lettre d'information) : on n'y répond pas ; reclassez-la d'abord si c'est une erreur")
    if not request.sender_addr:
        raise UserError(f"la demande {reference} n'a pas d'adresse électronique de réponse : répondez par courrier")
    recipient = request.sender_addr
    if kind == "ack":
        recipient = session.execute(
            select(Message.from_addr).where(Message.request_id == request.id, Message.direction == "in")
            .order_by(Message.received_at, Message.id)
        ).scalars().first()
        if not recipient:
            raise UserError(f"la demande {reference} n'a pas d'adresse d'expéditeur (From) : pas d'accusé de réception")
    if not sendable(recipient):
        raise UserError(f"la demande {reference} a une adresse de réponse invalide (espace ou caractère de contrôle) : "
                        "répondez par un autre moyen")
    box = _mailbox(rt, request)
    if box is None:
        raise UserError("aucune boîte configurée ([[mailbox]]) pour expédier la réponse")
    if kind != "ack" and not force:
        _check_category(rt, request, template)
    rendered = templates.render(rt.cfg, template, context_for(rt, request, values, now, quote=kind != "ack"))
    if text is not None:
        text = text.replace("\r\n", "\n")
        if not text.strip():
            raise UserError("le texte de la réponse est vide")
        if text.rstrip() != rendered.text.rstrip():
            rendered = templates.RenderedReply(subject=rendered.subject, text=text, html=None)
    last = session.execute(
        select(Message).where(Message.request_id == request.id, Message.direction == "in")
        .order_by(Message.received_at.desc(), Message.id.desc())
    ).scalars().first()
    in_reply_to = last.message_id if last else None
    references = [r for r in (last.references if last else []) if r] + ([in_reply_to] if in_reply_to else [])
    return PreparedReply(request, box.address, recipient, rendered.subject, rendered.text, rendered.html,
                         in_reply_to, references, box.name, sender_name(rt, request.service))


def _check_category(rt, request: Request, template: str) -> None:
    """A template made for other categories is refused (``--force`` to send it anyway)."""
    from tracer.core import french

    info = templates.get_template(rt.cfg, template)
    if info.categories and request.category not in info.categories:
        made_for = ", ".join(french.category(c) for c in info.categories)
        raise UserError(f"la réponse type « {template} » est prévue pour : {made_for} ; la demande {request.reference} "
                        f"est classée « {french.category(request.category)} » : choisissez une autre réponse type "
                        "(tracer templates), reclassez la demande, ou ajoutez --force")


def render_preview(prepared: PreparedReply) -> str:
    head = [
        f"De : {prepared.sender_name} <{prepared.sender}>" if prepared.sender_name else f"De : {prepared.sender}",
        f"À : {prepared.recipient}",
        f"Objet : {prepared.subject}",
    ]
    if prepared.in_reply_to:
        head.append(f"En réponse à : {prepared.in_reply_to}")
    if prepared.references:
        head.append(f"Références : {' '.join(prepared.references)}")
    if prepared.html is not None:
        head.append("Version HTML : oui")
    return "\n".join(head) + "\n\n" + prepared.text


def send_reply(engine: Engine, rt, reference: str, template: str, by: str, values: dict, now: datetime,
               kind: str = "reply", preview: bool = False, force: bool = False, text: str | None = None,
               message_id: str | None = None, services: list[str] | None = None) -> dict:
    """Queue, record and send a template reply; with ``preview`` only render it.

    The outbox row, the outgoing ``Message`` and the reply event are one
    transaction; delivery is attempted after the commit, so an SMTP failure
    leaves the reply recorded and queued (``status`` "pending", ``error``).

    ``message_id`` (from :func:`idempotent_message_id`): a reply already queued
    under it is not queued again; its state is answered (``"already": True``),
    so a form sent twice (double click, reload) sends one mail.
    """
    if preview:
        with Session(engine) as session:
            prepared = prepare_reply(session, rt, reference, template, values, now, kind=kind, force=force, text=text,
                                     services=services)
            return {"reference": prepared.request.reference, "status": "preview", "preview": render_preview(prepared)}
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")
    if message_id is not None:
        done = _already_queued(engine, message_id)
        if done is not None:
            return done
    try:
        outbox_id, request_ref = _record_reply(engine, rt, reference, template, by, values, now, kind, force, text=text,
                                               message_id=message_id, services=services)
    except IntegrityError:
        if message_id is not None:
            done = _already_queued(engine, message_id)
            if done is not None:
                return done
        if kind != "ack":
            raise
        # another poll acknowledged this request first (one acknowledgement per
        # request is a unique index of the outbox): nothing written, nothing sent
        return {"reference": reference, "status": "already", "outbox_id": None, "message_id": None, "error": None}
    status = outbox.deliver(engine, rt.cfg, outbox_id, now)
    with Session(engine) as session:
        row = session.get(Outbox, outbox_id)
        copy_failed = row.status == "sent" and (row.last_error or "").startswith(outbox.COPY_ERROR)
        return {"reference": request_ref, "outbox_id": outbox_id, "status": status, "message_id": row.message_id,
                # a failed copy to Sent is not the reply's error: said apart (and by tracer status / outbox)
                "error": None if copy_failed else row.last_error,
                "copy_error": row.last_error if copy_failed else None}


_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def idempotent_message_id(key: str, rt, reference: str) -> str:
    """The Message-ID of the reply a form with idempotency ``key`` sends (one per form)."""
    if not _IDEMPOTENCY_KEY.fullmatch(key or ""):
        raise UserError("clé d'envoi invalide : rechargez le formulaire de réponse")
    domain = "localhost"
    for box in rt.cfg.mailboxes:
        domain = box.address.rpartition("@")[2] or domain
        break
    return f"<tracer.{key}.{re.sub(r'[^A-Za-z0-9-]', '', reference)}@{domain}>"


def outbox_state(session: Session, message_id: str) -> dict | None:
    row = session.execute(select(Outbox).where(Outbox.message_id == message_id)).scalars().first()
    if row is None:
        return None
    request = session.get(Request, row.request_id) if row.request_id else None
    return {"reference": request.reference if request else None, "outbox_id": row.id,
            "status": "uncertain" if row.status == "sending" else row.status, "message_id": row.message_id,
            "error": row.last_error}


def _already_queued(engine: Engine, message_id: str) -> dict | None:
    with Session(engine) as session:
        state = outbox_state(session, message_id)
    return state | {"already": True} if state else None


def _record_reply(engine: Engine, rt, reference: str, template: str, by: str, values: dict, now: datetime,
                  kind: str, force: bool = False, text: str | None = None, message_id: str | None = None,
                  services: list[str] | None = None) -> tuple[int, str]:
    """The outbox row, the outgoing message and the reply event, in one transaction."""
    with Session(engine, expire_on_commit=False) as session:
        prepared = prepare_reply(session, rt, reference, template, values, now, kind=kind, force=force, text=text,
                                 services=services)
        extra = {"Auto-Submitted": "auto-replied"} if kind == "ack" else None
        try:
            row = outbox.enqueue(
                session, kind=kind, sender=prepared.sender, recipients=[prepared.recipient], subject=prepared.subject,
                text=prepared.text, html=prepared.html, in_reply_to=prepared.in_reply_to, references=prepared.references,
                request_id=prepared.request.id, mailbox=prepared.mailbox, created_by=by, now=now, extra_headers=extra,
                sender_name=prepared.sender_name,
                message_id=message_id,
            )
        except ValueError as exc:  # the mail cannot be built (the standard library refused a header)
            raise UserError(f"réponse à {prepared.request.reference} impossible à construire ({exc.__class__.__name__}) : "
                            "adresse ou objet invalide") from None
        box = rt.cfg.mailbox(prepared.mailbox)
        message = Message(
            dedup_key=row.message_id, message_id=row.message_id, direction="out", kind=kind, mailbox=prepared.mailbox,
            folder=box.sent, source="tracer", received_at=now, from_addr=prepared.sender, to_addrs=[prepared.recipient],
            subject=prepared.subject, in_reply_to=prepared.in_reply_to, references=prepared.references,
            body_text=prepared.text, template=template, sent_by=by, created_at=now,
        )
        session.add(message)
        session.flush()
        for ref in prepared.references:
            session.add(MessageRef(message_id=message.id, ref=ref))
        # the clock stops when the SMTP server accepts the reply (outbox.deliver), not now
        replies.apply_reply(session, rt, prepared.request, message, now, how=f"modèle {template}", actor=by,
                            awaiting_delivery=True)
        session.commit()
        outbox_id, request_ref = row.id, prepared.request.reference
    return outbox_id, request_ref


def acknowledge_new(engine: Engine, rt, now: datetime) -> list[str]:
    """Send the acknowledgements of receipt due for mailboxes with ``acknowledge = true``.

    Once per request (the database refuses a second one, whatever the number
    of mailboxes and concurrent polls), never for automatic or excluded mail,
    only to the From: address of the first message, at most one per sender per
    day (mail-loop guard) and ``acknowledge_per_hour`` per mailbox (the rest
    wait for the next hour); an acknowledgement does not stop the clock. One
    acknowledgement that fails (its address, its template) is logged in French
    and stops no other.
    """
    boxes = {b.name: b for b in rt.cfg.mailboxes if b.acknowledge}
    if not boxes:
        return []
    sent: list[str] = []
    with Session(engine) as session:
        acked = select(Outbox.request_id).where(Outbox.kind == "ack", Outbox.request_id.is_not(None))
        candidates = session.execute(
            select(Request).where(Request.mailbox.in_(list(boxes)), Request.sender_addr.is_not(None),
                                  Request.category.in_(register.PERIMETER), Request.answered_at.is_(None),
                                  Request.id.not_in(acked), Request.created_at >= now - timedelta(days=2))
            .order_by(Request.id)
        ).scalars().all()
        first_from = _first_from(session, [r.id for r in candidates])
        today = clock.local(now, rt.cfg.tz).date()
        since = clock.start_of_day(today, rt.cfg.tz)
        recent = session.execute(select(Outbox.recipients).where(Outbox.kind == "ack", Outbox.created_at >= since)).scalars().all()
        already = {addr for recipients in recent for addr in recipients}
        room = {name: box.acknowledge_per_hour - _acks_since(session, name, now - timedelta(hours=1)) for name, box in boxes.items()}
        todo = []
        for request in candidates:
            address = first_from.get(request.id)
            if not address or address in already or _is_own(rt, address):
                continue
            if room[request.mailbox] <= 0:
                continue  # the mailbox's hourly cap: acknowledged at a later poll
            room[request.mailbox] -= 1
            already.add(address)
            todo.append((request.reference, boxes[request.mailbox].acknowledge_template))
    for reference, template in todo:
        try:
            result = send_reply(engine, rt, reference, template, "tracer", {}, now, kind="ack")
        except UserError as exc:  # its address, its template: this acknowledgement only
            log.error("accusé de réception de %s impossible : %s", reference, exc)
            continue
        except Exception as exc:  # a bug on one request's data must not block the others' acknowledgements
            log.error("accusé de réception de %s impossible (erreur inattendue %s)", reference, exc.__class__.__name__)
            continue
        if result.get("status") != "already":
            sent.append(reference)
    return sent


def _first_from(session: Session, request_ids: list[int]) -> dict[int, str | None]:
    """The From: address of each request's first inbound message."""
    out: dict[int, str | None] = {}
    for start in range(0, len(request_ids), 500):
        rows = session.execute(
            select(Message.request_id, Message.from_addr).where(Message.request_id.in_(request_ids[start : start + 500]),
                                                                Message.direction == "in")
            .order_by(Message.request_id, Message.received_at, Message.id)
        ).all()
        for request_id, address in rows:
            out.setdefault(request_id, address)
    return out


def _acks_since(session: Session, mailbox: str, since: datetime) -> int:
    from sqlalchemy import func

    return session.execute(
        select(func.count()).select_from(Outbox).where(Outbox.kind == "ack", Outbox.mailbox == mailbox, Outbox.created_at >= since)
    ).scalar_one()


def _is_own(rt, address: str) -> bool:
    return any(address == b.address.lower() for b in rt.cfg.mailboxes) or address.split("@")[0] in (
        "mailer-daemon", "postmaster", "noreply", "no-reply", "ne-pas-repondre", "nepasrepondre")
