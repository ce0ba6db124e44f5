"""The register: requests, references and the append-only event log.

Every function takes the session, the :class:`~tracer.runtime.Runtime` and
``now``; none commits (the caller owns the transaction), none knows IMAP.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any, Iterable

from sqlalchemy import and_, event, func, or_, select, true, update
from sqlmodel import Session

from tracer.core import clock
from tracer.rules.classify import own_words
from tracer.rules.vocabulary import CATEGORIES, DEFAULT_TOPIC, TOPIC_CATEGORIES, is_topic, topic_ids
from tracer.core.errors import NotFound, UserError
from tracer.store.models import Event, Message, Outbox, ReferenceCounter, Request

PERIMETER = ("information", "reclamation", "suggestion")
EXCLUDED = ("hors_perimetre", "automatique")
CHANNELS = ("email", "paper")
# How a reply made outside the polled mailboxes went (INTERFACE.md, ``tracer answer``).
ANSWER_CHANNELS = ("courrier", "telephone", "guichet", "courriel")


# --------------------------------------------------------------------------
# Events: the only write path is an insert.


def add_event(session: Session, request: Request | None, kind: str, actor: str, now: datetime, **data: Any) -> None:
    """Record an event; written with the transaction's commit (see tracer.bulk)."""
    from tracer.store import bulk

    bulk.defer(session, Event, request_id=request, at=now, kind=kind, actor=actor, data=_jsonable(data))


def _jsonable(data: dict) -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, datetime):
            value = clock.from_db(value).isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


# --------------------------------------------------------------------------
# References: PREFIX-YYYY-NNNNN, sequential per year, never reused.


def next_reference(session: Session, prefix: str, year: int) -> str:
    """Take the next number, in the same transaction as the request.

    The first number of a transaction updates the counter row, which locks it
    (PostgreSQL queues concurrent writers on the row; SQLite's write lock
    serialises them); further numbers of the same transaction are counted in
    memory and written back just before the commit. A rolled-back transaction
    gives its numbers back, so none is ever skipped or reused.
    """
    taken = session.info.setdefault("reference_counters", {})
    key = (prefix, year)
    if key in taken:
        taken[key][1] += 1
        return f"{prefix}-{year}-{taken[key][1]:05d}"
    conn = session.connection()
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    )
    number = conn.execute(bump).scalar()
    if number is None:
        # first request of the year: create the counter row, racing writers agree
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        conn.execute(dialect_insert(ReferenceCounter).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        number = conn.execute(bump).scalar()
    taken[key] = [number, number]
    if not session.info.get("reference_hook"):
        event.listen(session, "before_commit", _write_counters)
        event.listen(session, "after_rollback", _forget_counters)
        session.info["reference_hook"] = True
    return f"{prefix}-{year}-{number:05d}"


def _write_counters(session: Session) -> None:
    taken = session.info.get("reference_counters") or {}
    conn = session.connection()
    for (prefix, year), (first, last) in taken.items():
        if last != first:
            conn.execute(
                update(ReferenceCounter)
                .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
                .values(last=last)
            )
    session.info["reference_counters"] = {}


def _forget_counters(session: Session) -> None:
    session.info["reference_counters"] = {}


REFERENCE_TAG = re.compile(r"\[([A-Z][A-Z0-9]*-\d{4}-\d{5,})\]")


def references_in(text: str | None) -> list[str]:
    """Reference tags ``[PREF74-2026-00042]`` found in a subject."""
    return REFERENCE_TAG.findall(text or "")


# --------------------------------------------------------------------------
# Opening a request and computing its deadline.


def open_request(
    session: Session,
    rt,
    *,
    channel: str,
    mailbox: str | None,
    service: str | None,
    sender_addr: str | None,
    sender_name: str | None,
    subject: str | None,
    received_at: datetime,
    now: datetime,
    category: str | None,
    topic: str | None = None,
    rule_ids: Iterable[str] = (),
    has_reply_address: bool = True,
    parent: Request | None = None,
    actor: str = "tracer",
    anonymous: bool = False,
) -> Request:
    year = clock.local(received_at, rt.cfg.tz).year
    topic = topic_for(category, topic, strict=False)
    request = Request(
        reference=next_reference(session, rt.cfg.tracer.reference_prefix, year),
        channel=channel,
        mailbox=mailbox,
        service=service,
        category=category,
        topic=topic,
        rule_ids=list(rule_ids),
        sender_addr=sender_addr,
        sender_name=sender_name,
        subject=subject,
        received_at=received_at,
        parent_id=parent.id if parent else None,
        anonymous=anonymous,
        created_at=now,
    )
    set_deadline(rt, request, has_reply_address and not anonymous)
    session.add(request)  # flushed with the batch: its id is not needed before
    add_event(
        session,
        request,
        "received",
        actor,
        now,
        channel=channel,
        mailbox=mailbox,
        service=service,
        category=category,
        topic=topic,
        rules=list(rule_ids),
        deadline=request.deadline,
        parent=parent.reference if parent else None,
        **({"anonymous": True} if anonymous else {}),
    )
    return request


def topic_for(category: str | None, topic: str | None, strict: bool = True) -> str | None:
    """The topic a request of ``category`` carries (INTERFACE.md): a reclamation or
    suggestion always one of the ids of ``rules/vocabulary.py`` (``autre`` when none
    is given), any other category none. ``strict`` (a user's input) refuses an
    unknown id or a topic on another category; otherwise they become autre / null."""
    if category in TOPIC_CATEGORIES:
        if topic is None:
            return DEFAULT_TOPIC
        if not is_topic(topic):
            if strict:
                raise UserError(f"thème inconnu « {topic} » (attendu : {', '.join(topic_ids())})")
            return DEFAULT_TOPIC
        return topic
    if topic is not None and strict:
        if not is_topic(topic):
            raise UserError(f"thème inconnu « {topic} » (attendu : {', '.join(topic_ids())})")
        raise UserError(f"--topic : seules les réclamations et les suggestions ont un thème (catégorie « {category} »)")
    return None


def set_deadline(rt, request: Request, has_reply_address: bool | None = None) -> None:
    """(Re)compute the deadline from the original reception time."""
    if has_reply_address is None:  # a letter carries its postal address, unless anonymous
        has_reply_address = not request.anonymous and (request.channel == "paper" or bool(request.sender_addr))
    days = None
    if request.category not in EXCLUDED:
        days = rt.deadline_rules.days_for(
            request.channel, request.category or "information", request.service, has_reply_address=has_reply_address
        )
    request.deadline_days = days
    request.deadline = rt.calendar.deadline(request.received_at, days) if days is not None else None
    refresh_derived(rt, request)


def derived_fields(received_at: datetime, answered_at: datetime | None, calendar) -> dict:
    """What a request stores for the indicators to group and average on: its Paris
    buckets (day, ISO week, month, quarter) and, once answered, its delays."""
    local = clock.local(received_at, calendar.tz)
    iso = local.isocalendar()
    out = {
        "received_day": local.date().isoformat(),
        "received_week": f"{iso[0]}-W{iso[1]:02d}",
        "received_month": f"{local.year}-{local.month:02d}",
        "received_quarter": f"{local.year}-Q{(local.month - 1) // 3 + 1}",
        "delay_seconds": None,
        "delay_working_seconds": None,
    }
    if answered_at is not None:
        out["delay_seconds"] = max(0.0, (answered_at - received_at).total_seconds())
        out["delay_working_seconds"] = calendar.working_time_between(received_at, answered_at).total_seconds()
    return out


def refresh_derived(rt, request: Request) -> None:
    """Recompute the stored buckets and delays after the reception or answer changed."""
    for key, value in derived_fields(request.received_at, request.answered_at, rt.calendar).items():
        setattr(request, key, value)


# --------------------------------------------------------------------------
# A message joins or opens a request.


def join_or_open(session: Session, rt, message: Message, parsed, now: datetime) -> Request:
    """An inbound message joins its thread's request, or opens a new one (DOMAIN.md:
    a follow-up before the answer joins; after it, opens a request linked to the first)."""
    decision = rt.rules.classify(parsed, mailbox_name=message.mailbox, mailbox_address=rt.address_of(message.mailbox), trace=False)
    parent = _thread_request(session, message, parsed.subject)
    if parent is not None and (parent.answered_at is None or message.received_at < parent.answered_at):
        message.request_id = parent.id
        session.add(message)
        add_event(session, parent, "follow_up", "tracer", now, message_id=message.message_id, received_at=message.received_at)
        request = parent
    else:
        category, topic, rule_ids = decision.category, decision.topic, list(decision.rule_ids)
        if parent is not None and category != "automatique":
            # a new message after the answer, in the same thread: same category
            category, topic, rule_ids = parent.category, parent.topic, [f"fil:{parent.reference}"]
        reply_address = parsed.reply_to or parsed.from_addr
        box = rt.box(message.mailbox)
        request = open_request(
            session,
            rt,
            channel="email",
            mailbox=message.mailbox,
            service=box.service if box is not None else message.mailbox,
            sender_addr=parsed.reply_to or parsed.from_addr,
            sender_name=parsed.from_name,
            subject=parsed.subject,
            received_at=message.received_at,
            now=now,
            category=category,
            topic=topic,
            rule_ids=rule_ids,
            has_reply_address=bool(reply_address),
            parent=parent,
        )
        message.request = request
        session.add(message)
    return request


def _thread_request(session: Session, message: Message, subject: str | None) -> Request | None:
    """The request of the thread this message belongs to, newest first.

    Anyone can quote a reference or a Message-ID: a message joins a thread only
    when its sender is one of the thread's participants, or when it answers
    (In-Reply-To) a message the prefecture sent. Otherwise it opens its own request.
    """
    refs = [message.in_reply_to] if message.in_reply_to else []
    refs += [r for r in reversed(message.references or []) if r not in refs]
    for ref in refs:
        hit = session.execute(
            select(Message.request_id, Message.direction).where(Message.message_id == ref, Message.request_id.is_not(None), Message.id != message.id)
        ).first()
        if hit:
            ours = hit[1] == "out" and ref == message.in_reply_to
            request = session.get(Request, hit[0])
            return _latest_in_chain(session, request) if ours or _participant(session, request, message) else None
    for reference in references_in(subject):
        request = session.execute(select(Request).where(Request.reference == reference)).scalars().first()
        if request is not None:
            return _latest_in_chain(session, request) if _participant(session, request, message) else None
    return None


def _participant(session: Session, request: Request, message: Message) -> bool:
    """The sender of ``message`` wrote in this request's thread, or was written to in it."""
    sender = {a.lower() for a in (message.from_addr, message.reply_to) if a}
    if not sender:
        return False
    root = request
    while root.parent_id is not None:  # the chain of follow-ups shares its participants
        root = session.get(Request, root.parent_id)
    known = {root.sender_addr.lower()} if root.sender_addr else set()
    chain, frontier = [root.id], [root.id]
    while frontier:
        children = session.execute(select(Request.id, Request.sender_addr).where(Request.parent_id.in_(frontier))).all()
        frontier = [c.id for c in children if c.id not in chain]
        chain += frontier
        known |= {c.sender_addr.lower() for c in children if c.sender_addr}
    if sender & known:
        return True
    rows = session.execute(
        select(Message.from_addr, Message.reply_to, Message.to_addrs, Message.cc_addrs)
        .where(Message.request_id.in_(chain), Message.id != message.id)
    ).all()
    for from_addr, reply_to, to_addrs, cc_addrs in rows:
        for address in (from_addr, reply_to, *(to_addrs or []), *(cc_addrs or [])):
            if address and address.lower() in sender:
                return True
    return False


def _latest_in_chain(session: Session, request: Request) -> Request:
    """A follow-up of an answered request that already has a child joins the child."""
    while True:
        child = session.execute(
            select(Request).where(Request.parent_id == request.id).order_by(Request.received_at.desc(), Request.id.desc())
        ).scalars().first()
        if child is None:
            return request
        request = child


# --------------------------------------------------------------------------
# Lookups.


def get_request(session: Session, reference: str, services: list[str] | None = None) -> Request:
    """The request ``reference``; with ``services`` (a signed-in user's scope), one of
    those services only: a request outside the scope is not found, like a missing one."""
    query = select(Request).where(Request.reference == reference.strip())
    if services is not None:
        query = query.where(Request.service.in_(list(services)) if services else Request.id.is_(None))
    request = session.exec(query).scalars().first()
    if request is None:
        raise NotFound(f"demande {reference} introuvable")
    return request


def case_status(request: Request, as_of: datetime) -> str:
    if request.category in EXCLUDED:
        return "excluded"
    if request.answered_at is not None and request.answered_at <= as_of:
        return "answered"
    if request.deadline is not None and request.deadline < as_of:
        return "overdue"
    return "open"


# --------------------------------------------------------------------------
# Manual actions, each recorded as an event.


def reclassify(session: Session, rt, reference: str, category: str, by: str, now: datetime, reason: str | None = None, topic: str | None = None) -> Request:
    if category not in CATEGORIES:
        raise UserError(f"catégorie inconnue « {category} » (attendu : {', '.join(CATEGORIES)})")
    _require_agent(by)
    request = get_request(session, reference)
    if topic is None and category in TOPIC_CATEGORIES and is_topic(request.topic):
        topic = request.topic  # a complaint becoming a suggestion keeps its topic
    topic = topic_for(category, topic)
    before = (request.category, request.topic, request.deadline)
    request.category = category
    request.topic = topic
    set_deadline(rt, request)
    session.add(request)
    add_event(
        session,
        request,
        "reclassified",
        by,
        now,
        old_category=before[0],
        new_category=category,
        old_topic=before[1],
        new_topic=request.topic,
        old_deadline=before[2],
        new_deadline=request.deadline,
        reason=reason,
    )
    return request


def transfer(session: Session, rt, reference: str, service: str, by: str, now: datetime, reason: str | None = None) -> Request:
    _require_agent(by)
    known = rt.cfg.service_names()
    if known and service not in known:
        raise UserError(f"service inconnu « {service} » (services déclarés : {', '.join(known)})")
    request = get_request(session, reference)
    old = request.service
    if old == service:
        raise UserError(f"la demande {reference} relève déjà du service « {service} »")
    old_deadline = request.deadline
    request.service = service
    set_deadline(rt, request)  # same reception time, the new service's delay
    session.add(request)
    add_event(
        session,
        request,
        "transferred",
        by,
        now,
        old_service=old,
        new_service=service,
        old_deadline=old_deadline,
        new_deadline=request.deadline,
        reason=reason,
    )
    return request


def register_paper(
    session: Session,
    rt,
    *,
    received: str,
    sender: str,
    subject: str,
    service: str,
    now: datetime,
    category: str | None = None,
    topic: str | None = None,
    sender_addr: str | None = None,
    by: str = "tracer",
    anonymous: bool = False,
) -> Request:
    """A paper letter registered by hand with its arrival date (10 working days by default).

    ``anonymous``: a letter with no reply address at all (DOMAIN.md): no deadline,
    counted as received and answered but never in the rate."""
    received_at = _parse_received(received, rt.cfg.tz)
    if received_at > now:
        raise UserError("--received : la date d'arrivée est dans le futur")
    if category is not None and category not in CATEGORIES:
        raise UserError(f"catégorie inconnue « {category} » (attendu : {', '.join(CATEGORIES)})")
    category = category or "information"
    topic = topic_for(category, topic)
    known = rt.cfg.service_names()
    if known and service not in known:
        raise UserError(f"service inconnu « {service} » (services déclarés : {', '.join(known)})")
    sender = (sender or "").strip()
    if anonymous:
        if sender_addr:
            raise UserError("--anonymous : un courrier anonyme n'a pas d'adresse de réponse (retirez --email)")
        sender = sender or "Anonyme"
    if not sender:
        raise UserError("--sender : l'expéditeur est obligatoire (ou --anonymous)")
    return open_request(
        session,
        rt,
        channel="paper",
        mailbox=None,
        service=service,
        sender_addr=sender_addr,
        sender_name=sender.strip(),
        subject=subject.strip(),
        received_at=received_at,
        now=now,
        category=category,
        topic=topic,
        rule_ids=["manuel"],
        has_reply_address=not anonymous,  # a letter carries its postal address
        actor=by,
        anonymous=anonymous,
    )


def _parse_received(text: str, tz) -> datetime:
    try:
        if clock.is_day(text):
            day = clock.parse_day(text)
            return datetime.combine(day, time(12, 0), tzinfo=tz).astimezone(clock.UTC)
        return clock.parse_instant(text, tz)
    except ValueError:
        raise UserError(f"--received : date JJ/MM/AAAA (ou AAAA-MM-JJ) ou instant attendu, reçu « {text} »") from None


def _require_agent(by: str) -> None:
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")


def assign(session: Session, rt, reference: str, assignee: str | None, by: str, now: datetime) -> Request:
    """Give a request to an agent (``assignee`` a login), or take it back (None); an event
    either way. Any login is kept as written until tracer has accounts (issue 16)."""
    _require_agent(by)
    request = get_request(session, reference)
    new = assignee.strip() if assignee is not None else None
    if new == "":
        raise UserError("agent : l'identifiant de l'agent est vide (ou --unassign)")
    old = request.assignee
    if new == old:
        if new is None:
            raise UserError(f"la demande {request.reference} n'est attribuée à personne")
        raise UserError(f"la demande {request.reference} est déjà attribuée à {new}")
    request.assignee = new
    session.add(request)
    add_event(session, request, "assigned" if new else "unassigned", by, now, old_assignee=old, new_assignee=new)
    return request


# --------------------------------------------------------------------------
# Views (JSON shapes of INTERFACE.md).


def message_ids_of(session: Session, request_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in request_ids}
    if not request_ids:
        return out
    rows = session.execute(
        select(Message.request_id, Message.message_id)
        .where(Message.request_id.in_(request_ids), Message.direction == "in")
        .order_by(Message.received_at, Message.id)
    )
    for request_id, message_id in rows:
        if message_id:
            out[request_id].append(message_id)
    return out


def answered_late(request: Request, as_of: datetime) -> bool | None:
    """True when the answer (known at ``as_of``) came after the deadline; None while unanswered."""
    if request.answered_at is None or request.answered_at > as_of:
        return None
    return request.deadline is not None and request.answered_at > request.deadline


def case_view(request: Request, as_of: datetime, tz, message_ids: list[str]) -> dict:
    answered_at = request.answered_at if request.answered_at and request.answered_at <= as_of else None
    return {
        "reference": request.reference,
        "category": request.category,
        "topic": request.topic,
        "service": request.service,
        "mailbox": request.mailbox,
        "channel": request.channel,
        "sender": request.sender_addr or request.sender_name,
        "sender_name": request.sender_name,
        "subject": request.subject,
        "received_at": clock.iso_local(request.received_at, tz),
        "deadline": clock.iso_local(request.deadline, tz),
        "answered_at": clock.iso_local(answered_at, tz),
        "answered_late": answered_late(request, as_of),
        "status": case_status(request, as_of),
        "assignee": request.assignee,
        "anonymous": bool(request.anonymous),
        "message_ids": message_ids,
        "rule_ids": request.rule_ids,
    }


STATUSES = ("open", "overdue", "answered", "excluded", "all")
# Also accepted by list_cases/count_cases (the web's tabs): open or overdue.
UNANSWERED = "unanswered"
ORDERS = ("deadline", "received", "-received", "reference")


def _status_condition(status: str, as_of: datetime):
    """SQL for :func:`case_status` ``== status`` (limit and offset then apply in SQL)."""
    in_perimeter = or_(Request.category.not_in(EXCLUDED), Request.category.is_(None))
    unanswered = or_(Request.answered_at.is_(None), Request.answered_at > as_of)
    if status == "excluded":
        return Request.category.in_(EXCLUDED)
    if status == "answered":
        return and_(in_perimeter, Request.answered_at.is_not(None), Request.answered_at <= as_of)
    if status == "overdue":
        return and_(in_perimeter, unanswered, Request.deadline.is_not(None), Request.deadline < as_of)
    if status == "open":
        return and_(in_perimeter, unanswered, or_(Request.deadline.is_(None), Request.deadline >= as_of))
    if status == UNANSWERED:
        return and_(in_perimeter, unanswered)
    return None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _cases_query(session: Session, rt, *, status: str, service: str | None, services: list[str] | None,
                 category: str | None, channel: str | None, assignee: str | None, search: str | None,
                 as_of: datetime, received_by: datetime | None, mine_or_unassigned: str | None = None):
    if status not in STATUSES and status != UNANSWERED:
        raise UserError(f"statut inconnu « {status} » (attendu : {', '.join(STATUSES)})")
    if category is not None and category not in CATEGORIES:
        raise UserError(f"catégorie inconnue « {category} » (attendu : {', '.join(CATEGORIES)})")
    if channel is not None and channel not in CHANNELS:
        raise UserError(f"canal inconnu « {channel} » (attendu : {', '.join(CHANNELS)})")
    conditions = []
    if received_by is not None:
        conditions.append(Request.received_at <= received_by)
    if services is not None:
        conditions.append(Request.service.in_(list(services)) if services else Request.id.is_(None))
    if service:
        known = set(rt.cfg.service_names())
        if service not in known and session.execute(select(Request.id).where(Request.service == service).limit(1)).first() is None:
            listed = ", ".join(sorted(known | set(session.execute(select(Request.service).distinct()).scalars()) - {None}))
            raise UserError(f"service inconnu « {service} »" + (f" (services : {listed})" if listed else ""))
        conditions.append(Request.service == service)
    if category is not None:
        conditions.append(Request.category == category)
    if channel is not None:
        conditions.append(Request.channel == channel)
    if assignee is not None:
        conditions.append(Request.assignee == assignee.strip())
    if mine_or_unassigned is not None:
        conditions.append(or_(Request.assignee == mine_or_unassigned, Request.assignee.is_(None)))
    if search is not None and search.strip():
        pattern = _like_pattern(search.strip())
        lower = func.tracer_lower if session.get_bind().dialect.name == "sqlite" else func.lower  # Unicode-aware
        conditions.append(or_(*(lower(column).like(pattern, escape="\\") for column in
                                (Request.reference, Request.sender_addr, Request.sender_name, Request.subject))))
    condition = _status_condition(status, as_of)
    if condition is not None:
        conditions.append(condition)
    return conditions


def list_cases(session: Session, rt, *, status: str = "all", service: str | None = None,
               services: list[str] | None = None, category: str | None = None, channel: str | None = None,
               assignee: str | None = None, search: str | None = None, as_of: datetime,
               received_by: datetime | None = None, limit: int | None = None, offset: int = 0,
               order: str = "deadline", mine_or_unassigned: str | None = None) -> list[dict]:
    """The register (``tracer cases --json``, ``GET /api/v1/demandes``): the views of
    the requests matching every filter given, with their status at ``as_of``.

    - ``status``: open | overdue | answered | excluded | all, at ``as_of``;
    - ``service``: one service (an unknown one is a UserError); ``services``: the
      scope the caller may see (a list, None for every service), applied on top;
    - ``category``, ``channel`` (email | paper), ``assignee`` (a login): equality;
      ``mine_or_unassigned`` (a login): given to that agent or to nobody;
      ``status`` may also be ``unanswered`` (open or overdue);
    - ``search``: text found, whatever its case, in the reference, the sender's
      address or name, or the subject;
    - ``received_by`` (a view of the past, ``--as-of``) leaves out what was
      received after it; without it every request is listed, even one whose
      reception time lies ahead of the clock (an imported file with a future
      date, a server clock ahead of this one);
    - ``order``: deadline (soonest first, none last; the default), received
      (oldest first), -received (newest first), reference; ``limit`` / ``offset``
      page through it (:func:`count_cases` gives the total).
    """
    if order not in ORDERS:
        raise UserError(f"ordre inconnu « {order} » (attendu : {', '.join(ORDERS)})")
    if limit is not None and limit < 1:
        raise UserError(f"--limit : entier positif attendu, reçu « {limit} »")
    if offset < 0:
        raise UserError(f"--offset : entier positif ou nul attendu, reçu « {offset} »")
    conditions = _cases_query(session, rt, status=status, service=service, services=services, category=category,
                              channel=channel, assignee=assignee, search=search, as_of=as_of, received_by=received_by,
                              mine_or_unassigned=mine_or_unassigned)
    ordering = {
        "deadline": (Request.deadline.is_(None), Request.deadline, Request.received_at, Request.reference),
        "received": (Request.received_at, Request.reference),
        "-received": (Request.received_at.desc(), Request.reference.desc()),
        "reference": (Request.reference,),
    }[order]
    query = select(Request).where(*conditions).order_by(*ordering)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    requests = list(session.execute(query).scalars())
    ids = message_ids_of(session, [r.id for r in requests])
    return [case_view(r, as_of, rt.cfg.tz, ids[r.id]) for r in requests]


def count_cases(session: Session, rt, *, status: str = "all", service: str | None = None,
                services: list[str] | None = None, category: str | None = None, channel: str | None = None,
                assignee: str | None = None, search: str | None = None, as_of: datetime,
                received_by: datetime | None = None, mine_or_unassigned: str | None = None) -> int:
    """How many requests :func:`list_cases` lists with the same filters, without a limit."""
    conditions = _cases_query(session, rt, status=status, service=service, services=services, category=category,
                              channel=channel, assignee=assignee, search=search, as_of=as_of, received_by=received_by,
                              mine_or_unassigned=mine_or_unassigned)
    return session.execute(select(func.count()).select_from(Request).where(*conditions)).scalar_one()


_FILTERS = dict(status="all", service=None, services=None, category=None, channel=None, assignee=None,
                search=None, received_by=None, mine_or_unassigned=None)


def count_cases_many(session: Session, rt, groups: dict[str, dict], *, as_of: datetime, **common) -> dict[str, int]:
    """:func:`count_cases` of several filter sets in one pass over the requests
    (the tabs of « Demandes »): ``{name: count}``, each equal to
    ``count_cases(**common, **groups[name])``. ``common`` (the scope, the
    filters shared by every tab) narrows the scan; each group adds its own."""
    unknown = set(common) - set(_FILTERS) or {k for extra in groups.values() for k in extra} - set(_FILTERS)
    if unknown:
        raise TypeError(f"unknown filters {sorted(unknown)}")
    base = _cases_query(session, rt, as_of=as_of, **{**_FILTERS, **common})
    columns = []
    for name, extra in groups.items():
        own = _cases_query(session, rt, as_of=as_of, **{**_FILTERS, **common, **extra})
        columns.append(func.count().filter(and_(true(), *own)).label(name))
    row = session.execute(select(*columns).select_from(Request).where(*base)).one()
    return {name: int(row._mapping[name]) for name in groups}


def show_case(session: Session, rt, reference: str, as_of: datetime, services: list[str] | None = None) -> dict:
    request = get_request(session, reference, services)
    tz = rt.cfg.tz
    messages = list(
        session.execute(select(Message).where(Message.request_id == request.id).order_by(Message.received_at, Message.id)).scalars()
    )
    view = case_view(request, as_of, tz, [m.message_id for m in messages if m.direction == "in" and m.message_id])
    view["deadline_working_days"] = request.deadline_days
    parent = session.get(Request, request.parent_id) if request.parent_id else None
    children = session.execute(select(Request.reference).where(Request.parent_id == request.id).order_by(Request.id)).scalars()
    view["parent"] = parent.reference if parent else None
    view["children"] = list(children)
    view["messages"] = [message_view(m, tz) | _reading(m) for m in messages]
    delivery = _delivery(session, [m.message_id for m in messages if m.direction == "out" and m.message_id])
    for item in view["messages"]:
        if item["direction"] == "out":
            # what became of a mail tracer sent: sent, pending, uncertain, failed, cancelled
            # (None: sent by an agent from a mail client, found in the Sent folder)
            item["delivery"] = delivery.get(item["message_id"])
    events = session.execute(select(Event).where(Event.request_id == request.id).order_by(Event.at, Event.id)).scalars()
    view["events"] = [
        {"at": clock.iso_local(e.at, tz), "effective_at": clock.iso_local(effective_at(e, request), tz), "kind": e.kind,
         "actor": e.actor, "data": _local_instants(e.data or {}, tz)}
        for e in events
    ]
    return view


# Events that tell of something that happened before it was recorded: when it took effect.
_TOOK_EFFECT = {"answered": "sent_at", "reply_recorded": "sent_at", "acknowledged": "sent_at", "follow_up": "received_at"}


def effective_at(e: Event, request: Request) -> datetime:
    """When an event took effect: a backfilled message's reception, a reply's sending,
    not the day it was imported (``at``, the recording instant, stays in the view)."""
    if e.kind == "received":
        return clock.from_db(request.received_at)
    key = _TOOK_EFFECT.get(e.kind)
    value = (e.data or {}).get(key) if key else None
    if clock.is_instant(value):
        return datetime.fromisoformat(value)
    return clock.from_db(e.at)


def _reading(m: Message) -> dict:
    """What the agent reads: the writer's own text, the quoted history folded away."""
    body = m.body_text or ""
    own, _ = own_words(body) if body else ("", "")
    own = own.rstrip()
    def written(text: str) -> int:
        return sum(1 for line in text.splitlines() if line.strip())

    return {"text": own, "quoted_lines": max(written(body) - written(own), 0)}


def _delivery(session: Session, message_ids: list[str]) -> dict[str, str]:
    if not message_ids:
        return {}
    rows = session.execute(select(Outbox.message_id, Outbox.status).where(Outbox.message_id.in_(message_ids)))
    return {mid: ("uncertain" if status == "sending" else status) for mid, status in rows}


def _local_instants(data: dict, tz) -> dict:
    """Event data as stored (instants in UTC), with the instants shown in the local zone."""
    out = {}
    for key, value in data.items():
        if clock.is_instant(value):
            value = clock.iso_local(datetime.fromisoformat(value), tz)
        out[key] = value
    return out


def message_view(m: Message, tz) -> dict:
    return {
        "message_id": m.message_id,
        "direction": m.direction,
        "kind": m.kind,
        "mailbox": m.mailbox,
        "folder": m.folder,
        "received_at": clock.iso_local(m.received_at, tz),
        "from": m.from_addr,
        "from_name": m.from_name,
        "to": m.to_addrs,
        "subject": m.subject,
        "template": m.template,
        "sent_by": m.sent_by,
        "attachments": m.attachments,
        "body": m.body_text,
    }


def counts(session: Session, as_of: datetime) -> dict:
    """Open and overdue requests as of ``as_of`` (status, digest)."""
    base = (
        select(func.count())
        .select_from(Request)
        .where(Request.category.not_in(EXCLUDED) | Request.category.is_(None))
        .where(Request.received_at <= as_of)
        .where(Request.answered_at.is_(None) | (Request.answered_at > as_of))
    )
    open_total = session.execute(base).scalar_one()
    overdue = session.execute(base.where(Request.deadline < as_of)).scalar_one()
    return {"open": open_total, "overdue": overdue}
