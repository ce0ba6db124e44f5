"""Recording incoming mail exactly once, from IMAP polls and from imports.

One message at a time through ``record_raw`` (parse → dedup → thread or open
a request → link replies); one commit per batch together with the folder's
new high-water UID, so a crash at any point loses nothing and duplicates
nothing: the next poll resumes after the last committed batch, and anything
committed twice is caught by the unique ``dedup_key``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from tracer.store import bulk
from tracer.mail.summary import DUPLICATE, QUARANTINED, RECORDED, FolderReport, Summary  # noqa: F401  (re-exported)
from tracer.core import clock, stopping
from tracer.core.text import clean, unescape_8bit
from tracer.register import requests as register
from tracer.register.retention import hashed_id
from tracer.register import threads as replies
from tracer.store.models import FolderState, Message, MessageLocation, MessageRef, Quarantine, RawMessage

if TYPE_CHECKING:
    from tracer.mail.prepare import Prepared

log = logging.getLogger("tracer.mail.ingest")


@dataclass
class Incoming:
    """One message as it arrives, before parsing."""

    raw: bytes
    received_at: datetime  # aware: INTERNALDATE, or the file's own time
    mailbox: str
    role: str  # "inbox" | "sent"
    folder: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    source: str = "imap"
    prepared: "Prepared | None" = None  # parsed and classified ahead (tracer.prepare)
    compressed: bytes | None = None  # the raw bytes as stored, when compressed ahead

    def stored(self) -> bytes:
        """The raw bytes compressed for storage (done ahead in the worker, when it could)."""
        if self.compressed is None:
            from tracer.mail.prepare import compress_raw

            self.compressed = compress_raw(self.raw)
        return self.compressed


# --------------------------------------------------------------------------
# One message.


def record_raw(session: Session, rt, item: Incoming, now: datetime) -> str:
    """Record one message; return recorded / duplicate / quarantined. No commit."""
    from tracer.mail.prepare import prepare

    prepared = item.prepared or prepare(item.raw, rt.rules, item.mailbox, rt.address_of(item.mailbox))
    item.prepared = None  # the parsed message is not kept past its recording
    digest = prepared.digest
    if prepared.compressed is not None:
        item.compressed = prepared.compressed
    if prepared.parsed is None:
        return _quarantine(session, item, digest, prepared.error, now)
    parsed = prepared.parsed
    dedup_key = parsed.message_id or f"sha256:{digest}"
    same_id_as = None
    known = session.info.get("known_keys")
    if known is None or dedup_key in known:
        flush_fast(session)
        existing = _by_key(session, dedup_key)
        if existing is not None and parsed.message_id and not _same_content(existing, parsed):
            # a known Message-ID on another message (a form that reuses ids, a
            # forger): recorded under its content, flagged, never dropped
            same_id_as, dedup_key = existing.id, f"content:{parsed.content_hash}"
            existing = _by_key(session, dedup_key)
        if existing is not None:
            _note_location(session, existing, item, now)
            return DUPLICATE
    if known is not None:
        known.add(dedup_key)
    direction = "out" if item.role == "sent" else "in"
    if known is not None and direction == "in" and same_id_as is None and _simple(session, parsed):
        _record_fast(session, rt, item, parsed, dedup_key, digest, now)
        return RECORDED
    flush_fast(session)
    message = Message(
        dedup_key=dedup_key,
        message_id=parsed.message_id,
        direction=direction,
        kind="mail" if direction == "in" else "reply",
        mailbox=item.mailbox,
        folder=item.folder,
        source=item.source,
        received_at=item.received_at,
        date_header=parsed.date,
        from_addr=_cut(parsed.from_addr, 500),
        from_name=_cut(parsed.from_name, 500),
        to_addrs=list(parsed.to_addrs),
        cc_addrs=list(parsed.cc_addrs),
        reply_to=_cut(parsed.reply_to, 500),
        subject=parsed.subject,
        in_reply_to=_cut(parsed.in_reply_to, 998),
        references=list(parsed.references),
        body_text=parsed.body_text,
        attachments=list(parsed.attachments),
        auto_headers=dict(parsed.auto_headers),
        content_hash=parsed.content_hash or None,
        same_id_as=same_id_as,
        created_at=now,
    )
    session.add(message)  # flushed with the batch; deferred rows resolve its id then
    bulk.defer(session, RawMessage, message_id=message, sha256=digest, size=len(item.raw), data=item.stored())
    for ref in _thread_ids(parsed):
        bulk.defer(session, MessageRef, message_id=message, ref=ref)
    _note_location(session, message, item, now, new=True)
    if direction == "in":
        request = register.join_or_open(session, rt, message, parsed, now)
        replies.adopt_waiting_replies(session, rt, message, request, now)
        if same_id_as is not None:
            register.add_event(session, request, "message_id_reused", "tracer", now, message_id=parsed.message_id)
            log.warning("message différent sous un Message-ID déjà connu : enregistré à part (%s)", item.mailbox)
    else:
        replies.attach_outbound(session, rt, message, parsed, now)
    return RECORDED


# --------------------------------------------------------------------------
# The fast path: a new inbound message with no thread opens a request; its
# rows are inserted in bulk (executemany with RETURNING) rather than through
# ORM objects. Any other message first flushes these rows, so every query of
# the slow path sees them.

FAST = "fast_rows"


def _by_key(session: Session, dedup_key: str) -> Message | None:
    # a purged message keeps its key as a hash (register.retention): still a duplicate
    return session.execute(
        select(Message).where(Message.dedup_key.in_({dedup_key, hashed_id(dedup_key)}))
    ).scalars().first()


def _same_content(existing: Message, parsed) -> bool:
    """Is ``parsed`` the message already recorded under its Message-ID? (A row
    without a hash, recorded before hashes or sent by tracer, is taken as it.)"""
    return existing.content_hash is None or not parsed.content_hash or existing.content_hash == parsed.content_hash


def _simple(session: Session, parsed) -> bool:
    return not (parsed.in_reply_to or parsed.references or register.references_in(parsed.subject)) and not replies.unlinked_replies_exist(session)


def _record_fast(session: Session, rt, item: Incoming, parsed, dedup_key: str, digest: str, now: datetime) -> None:

    box = next((b for b in rt.cfg.mailboxes if b.name == item.mailbox), None)
    decision = rt.rules.classify(parsed, mailbox_name=item.mailbox, mailbox_address=box.address if box else None, trace=False)
    service = box.service if box is not None else item.mailbox
    sender = parsed.reply_to or parsed.from_addr
    days = None
    if decision.category not in register.EXCLUDED:
        days = rt.deadline_rules.days_for("email", decision.category or "information", service, has_reply_address=bool(sender))
    deadline = rt.calendar.deadline(item.received_at, days) if days is not None else None
    year = item.received_at.astimezone(rt.cfg.tz).year
    request = {
        "reference": register.next_reference(session, rt.cfg.tracer.reference_prefix, year), "channel": "email",
        "mailbox": item.mailbox, "service": service, "category": decision.category, "topic": decision.topic,
        "rule_ids": list(decision.rule_ids), "sender_addr": _cut(sender, 500), "sender_name": _cut(parsed.from_name, 500),
        "subject": parsed.subject, "received_at": item.received_at, "deadline": deadline, "deadline_days": days,
        "answered_at": None, "answer_message_id": None, "parent_id": None, "purged_at": None, "created_at": now,
        **register.derived_fields(item.received_at, None, rt.calendar),
    }
    message = _message_values(item, parsed, dedup_key, "in", now)
    event = {"at": now, "kind": "received", "actor": "tracer", "data": register._jsonable({
        "channel": "email", "mailbox": item.mailbox, "service": service, "category": decision.category,
        "topic": decision.topic, "rules": list(decision.rule_ids), "deadline": deadline, "parent": None})}
    raw = {"sha256": digest, "size": len(item.raw), "data": item.stored()}
    location = None
    if item.uid is not None and item.folder is not None:
        location = {"mailbox": item.mailbox, "folder": item.folder, "uidvalidity": item.uidvalidity or 0, "uid": item.uid, "seen_at": now}
    rows = session.info.get(FAST)
    if rows is None:
        rows = session.info[FAST] = []
        from sqlalchemy import event as sa_event

        if not session.info.get("fast_hook"):
            sa_event.listen(session, "before_commit", flush_fast)
            session.info["fast_hook"] = True
    rows.append((request, message, event, raw, location))


def _message_values(item: Incoming, parsed, dedup_key: str, direction: str, now: datetime) -> dict:
    return {
        "dedup_key": dedup_key, "message_id": parsed.message_id, "direction": direction,
        "kind": "mail" if direction == "in" else "reply", "request_id": None, "mailbox": item.mailbox,
        "folder": item.folder, "source": item.source, "received_at": item.received_at, "date_header": parsed.date,
        "from_addr": _cut(parsed.from_addr, 500), "from_name": _cut(parsed.from_name, 500),
        "to_addrs": list(parsed.to_addrs), "cc_addrs": list(parsed.cc_addrs), "reply_to": _cut(parsed.reply_to, 500),
        "subject": parsed.subject, "in_reply_to": _cut(parsed.in_reply_to, 998), "references": list(parsed.references),
        "body_text": parsed.body_text, "attachments": list(parsed.attachments), "auto_headers": dict(parsed.auto_headers),
        "content_hash": parsed.content_hash or None, "same_id_as": None, "template": None, "sent_by": None, "purged_at": None, "created_at": now,
    }


def flush_fast(session: Session) -> None:
    rows = session.info.get(FAST)
    if not rows:
        return
    session.info[FAST] = []
    from sqlalchemy import insert

    from tracer.store.models import Event, Request

    conn = session.connection()
    # Multi-row INSERT … RETURNING: rows may come back in any order, so each id
    # is matched through a unique column (asking for the parameters' order would
    # make SQLAlchemy insert one row per statement on SQLite).
    requests, messages = Request.__table__, Message.__table__
    by_reference = dict(conn.execute(insert(requests).returning(requests.c.reference, requests.c.id), [r[0] for r in rows]).all())
    request_ids = [by_reference[r[0]["reference"]] for r in rows]
    by_key = dict(conn.execute(
        insert(messages).returning(messages.c.dedup_key, messages.c.id),
        [{**message, "request_id": request_id} for (_, message, *_), request_id in zip(rows, request_ids)],
    ).all())
    message_ids = [by_key[r[1]["dedup_key"]] for r in rows]
    conn.execute(insert(Event.__table__), [{**r[2], "request_id": rid} for r, rid in zip(rows, request_ids)])
    conn.execute(insert(RawMessage.__table__), [{**r[3], "message_id": mid} for r, mid in zip(rows, message_ids)])
    locations = [{**r[4], "message_id": mid} for r, mid in zip(rows, message_ids) if r[4] is not None]
    if locations:
        conn.execute(insert(MessageLocation.__table__), locations)


def _thread_ids(parsed) -> list[str]:
    ids = []
    for ref in ([parsed.in_reply_to] if parsed.in_reply_to else []) + list(parsed.references):
        ref = _cut(ref, 998)
        if ref and ref not in ids:
            ids.append(ref)
    return ids


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else value


def _note_location(session: Session, message: Message, item: Incoming, now: datetime, new: bool = False) -> None:
    if item.uid is None or item.folder is None:
        return
    exists = None if new else session.execute(
        select(MessageLocation.id).where(
            MessageLocation.mailbox == item.mailbox,
            MessageLocation.folder == item.folder,
            MessageLocation.uidvalidity == (item.uidvalidity or 0),
            MessageLocation.uid == item.uid,
        )
    ).first()
    if exists is None:
        bulk.defer(session, MessageLocation, message_id=message, mailbox=item.mailbox, folder=item.folder,
                   uidvalidity=item.uidvalidity or 0, uid=item.uid, seen_at=now)


def _quarantine(session: Session, item: Incoming, digest: str, reason: str, now: datetime) -> str:
    existing = session.execute(select(Quarantine.id).where(Quarantine.sha256 == digest)).first()
    if existing is not None:
        return DUPLICATE
    session.add(
        Quarantine(
            sha256=digest,
            mailbox=item.mailbox,
            folder=item.folder,
            uidvalidity=item.uidvalidity,
            uid=item.uid,
            source=item.source,
            received_at=item.received_at,
            reason=reason,
            size=len(item.raw),
            data=item.stored(),
            created_at=now,
        )
    )
    log.warning("message mis en quarantaine (%s, %s) : %s", item.mailbox, item.source, reason)
    return QUARANTINED


# --------------------------------------------------------------------------
# Batches: one transaction each; a conflict with a concurrent writer is
# retried message by message (the other writer's row is then a duplicate).


def record_batch(engine: Engine, rt, items: list[Incoming], now: datetime, on_commit: Callable[[Session], None] | None = None) -> Summary:
    summary = Summary()
    try:
        with Session(engine, expire_on_commit=False) as session:
            session.info["known_keys"] = _known_keys(session, items)
            for item in items:
                summary.add(record_raw(session, rt, item, now))
            if on_commit:
                on_commit(session)
            session.commit()
        return summary
    except IntegrityError:
        log.info("conflit d'écriture concurrente : lot rejoué message par message")
    except MESSAGE_FAULTS as exc:
        if _is_infrastructure(exc):
            raise
        log.warning("lot refusé (%s) : rejoué message par message", exc.__class__.__name__)
    return _replay(engine, rt, items, now, on_commit)


# What one message can make go wrong while it is recorded: a value the database
# refuses, a bug of the register on hostile input. The database being away or
# locked is not the message's fault (raised, the batch is retried next poll).
MESSAGE_FAULTS = (SQLAlchemyError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError, RecursionError)


def _is_infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _replay(engine: Engine, rt, items: list[Incoming], now: datetime, on_commit) -> Summary:
    """The batch one message per transaction: a conflict with a concurrent
    writer is retried once (the other's row is then a duplicate); a message the
    database still refuses goes to quarantine with the reason (the error's
    kind, never its values), and the others are recorded."""
    summary = Summary()
    for index, item in enumerate(items):
        hook = on_commit if index == len(items) - 1 else None
        outcome = None
        for attempt in (1, 2):
            try:
                with Session(engine, expire_on_commit=False) as session:
                    outcome = record_raw(session, rt, item, now)
                    if hook:
                        hook(session)
                    session.commit()
                break
            except IntegrityError as exc:
                if attempt == 2:
                    outcome = _quarantine_alone(engine, item, _fault_reason(exc), now, hook)
            except MESSAGE_FAULTS as exc:
                if _is_infrastructure(exc):
                    raise
                outcome = _quarantine_alone(engine, item, _fault_reason(exc), now, hook)
                break
        summary.add(outcome)
    return summary


def _fault_reason(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError):
        return f"enregistrement refusé par la base de données ({exc.__class__.__name__})"
    return f"erreur à l'enregistrement ({exc.__class__.__name__})"


def _quarantine_alone(engine: Engine, item: Incoming, reason: str, now: datetime, hook) -> str:
    log.error("message refusé à l'enregistrement, mis en quarantaine (%s, %s) : %s", item.mailbox, item.folder or item.source, reason)
    with Session(engine, expire_on_commit=False) as session:
        outcome = _quarantine(session, item, hashlib.sha256(item.raw).hexdigest(), reason, now)
        if hook:
            hook(session)
        session.commit()
    return outcome


def _known_keys(session: Session, items: list[Incoming]) -> set[str]:
    """The batch's Message-IDs already recorded, in one query (others are new)."""
    from tracer.mail.parse import message_id_of

    keys = set()
    for item in items:  # the key record_raw will use: the Message-ID, else the hash
        keys.add(message_id_of(item.raw) or f"sha256:{hashlib.sha256(item.raw).hexdigest()}")
    found: set[str] = set()
    listed = sorted(keys)
    for start in range(0, len(listed), 250):
        chunk = listed[start : start + 250]
        as_stored = {hashed_id(k): k for k in chunk} | {k: k for k in chunk}  # purged keys are hashes
        found |= {as_stored[k] for k in session.execute(select(Message.dedup_key).where(Message.dedup_key.in_(list(as_stored)))).scalars()}
    return found


# --------------------------------------------------------------------------
# Imports (backfill): same path as polling.


def import_paths(engine: Engine, rt, paths: Iterable[str], mailbox: str, now: datetime, role: str = "inbox", batch: int = 200) -> Summary:
    from tracer.mail.importer import iter_messages

    box = rt.cfg.mailbox(mailbox) if rt.cfg.mailboxes else None
    summary = Summary()

    def batches():
        pending: list[Incoming] = []
        for item in iter_messages(list(paths), summary.skipped):
            item_role = role
            if box is not None and role == "inbox" and _is_from(item.raw, box.address):
                item_role = "sent"  # a copy of our own reply found in the history
            pending.append(
                Incoming(
                    raw=item.raw,
                    received_at=item.received_at or now,
                    mailbox=mailbox,
                    role=item_role,
                    folder=None,
                    source=clean(unescape_8bit(str(item.origin)), 1000),  # a file name may be any bytes
                )
            )
            if len(pending) >= batch:
                yield pending, None
                pending = []
        if pending:
            yield pending, None

    record_ahead(engine, rt, batches(), mailbox, lambda: now, summary)
    return summary


def record_ahead(engine: Engine, rt, batches, mailbox: str, now_fn: Callable[[], datetime], summary: Summary) -> None:
    """Record ``batches`` — ``(items, on_commit)`` pairs — in order, one commit each.

    From the second batch on, most of each batch is parsed and classified in a
    worker process (:class:`tracer.prepare.Preparer`) while the previous batch
    is written; the rest is parsed here while writing. The share sent to the
    worker follows who waited for whom, so both processes stay busy whatever
    the speed of the database and the size of the mail. If the source of
    batches fails (an IMAP error), the batches it gave before are recorded,
    then its error is raised.
    """
    from tracer.mail.prepare import Preparer

    address = rt.address_of(mailbox)
    preparer: Preparer | None = None
    share = 0.7  # of each batch, prepared by the worker
    pending = None  # (items, on_commit, future of the preparation of items[:len(result)])
    failure: Exception | None = None

    def record(items, on_commit, future) -> None:
        nonlocal share
        if preparer is not None and future is not None:
            waited = not future.done()
            prepared = preparer.result(future)
            share = min(0.95, max(0.2, share + (-0.05 if waited else 0.05)))
            for item, ready in zip(items, prepared or ()):
                item.prepared = ready  # the others are prepared by record_raw, here
        summary.merge(record_batch(engine, rt, items, now_fn(), on_commit=on_commit))

    try:
        source = iter(batches)
        while not stopping.requested():  # SIGTERM: between batches, no further fetch
            try:
                items, on_commit = next(source)
            except StopIteration:
                break
            except Exception as exc:  # the source failed: keep what it gave before
                failure = exc
                break
            future = None
            if pending is not None:  # a backlog: prepare this batch while writing the last
                if preparer is None:
                    preparer = Preparer(rt.cfg.rules_dir, rt.cfg.data_dir)
                ahead = items[: max(1, round(len(items) * share))]
                future = preparer.submit([item.raw for item in ahead], mailbox, address)
                record(*pending)
            pending = (items, on_commit, future)
        if pending is not None:
            record(*pending)
    finally:
        if preparer is not None:
            preparer.close()
    if failure is not None:
        raise failure


def _is_from(raw: bytes, address: str) -> bool:
    """Is the message's From: address (parsed, not searched for in the line) ``address``?"""
    from tracer.mail.parse import from_address

    return bool(address) and from_address(raw) == address.lower()


# --------------------------------------------------------------------------
# IMAP polling.


def poll_mailbox(engine: Engine, rt, box, now_fn: Callable[[], datetime] = clock.now) -> list[FolderReport]:
    """Poll the inbox then the sent folder of one mailbox; never raises for IMAP faults."""
    from tracer.mail.mailbox import ImapMailbox, MailboxError

    reports: list[FolderReport] = []
    folders = [("inbox", box.inbox), ("sent", box.sent)]
    try:
        with ImapMailbox(box) as imap:
            for role, folder in folders:
                if not folder or stopping.requested():  # SIGTERM: no further folder
                    continue
                report = FolderReport(box.name, folder, role, Summary())
                try:
                    _poll_folder(engine, rt, imap, box, folder, role, report, now_fn)
                    if not stopping.requested():  # stopped between batches: not a complete poll
                        _mark(engine, box.name, folder, role, now_fn(), None)
                except MailboxError as exc:
                    report.error = str(exc)
                    _mark_safely(engine, box.name, folder, role, now_fn(), report.error)
                    if not _is_folder_error(exc):
                        reports.append(report)
                        raise
                except Exception as exc:  # a bug, the database: the folder's error, never a silent stop
                    report.error = _unexpected(exc)
                    log.error("%s/%s : %s", box.name, folder, report.error)
                    log.debug("erreur inattendue de relève", exc_info=True)  # SQL parameters hidden (store.db)
                    _mark_safely(engine, box.name, folder, role, now_fn(), report.error)
                reports.append(report)
    except MailboxError as exc:
        message = str(exc)
        done = {r.folder for r in reports}
        for role, folder in folders:
            if folder and folder not in done:
                _mark_safely(engine, box.name, folder, role, now_fn(), message)
                reports.append(FolderReport(box.name, folder, role, Summary(), message))
        for report in reports:
            if report.error is None and report.folder not in done:
                report.error = message
    return reports


def _unexpected(exc: BaseException) -> str:
    """An unexpected error of a poll, in French, with its kind but not its text
    (a database error's text may quote the message's values)."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return f"erreur de la base de données pendant la relève ({exc.__class__.__name__})"
    return f"erreur inattendue pendant la relève ({exc.__class__.__name__})"


def _mark_safely(engine: Engine, mailbox: str, folder: str, role: str, at: datetime, error: str) -> None:
    """Record a folder's error; a database that cannot take it either is logged."""
    try:
        _mark(engine, mailbox, folder, role, at, error)
    except Exception as exc:
        log.error("%s/%s : erreur non enregistrée (%s) : %s", mailbox, folder, exc.__class__.__name__, error)


def _is_folder_error(exc) -> bool:
    return getattr(exc, "folder_only", False)


def _poll_folder(engine: Engine, rt, imap, box, folder: str, role: str, report: FolderReport, now_fn) -> None:
    info = imap.select(folder)
    with Session(engine, expire_on_commit=False) as session:
        state = _folder_state(session, box.name, folder, role)
        last_uid = state.last_uid
        if state.uidvalidity != info.uidvalidity:
            if state.uidvalidity is not None:
                log.warning(
                    "%s/%s : UIDVALIDITY modifiée (%s → %s), relecture complète du dossier",
                    box.name, folder, state.uidvalidity, info.uidvalidity,
                )
            last_uid = 0
        session.commit()
    uidvalidity = info.uidvalidity
    uids = imap.new_uids(last_uid)
    if not uids:
        if last_uid == 0:
            _save_state(engine, box.name, folder, role, uidvalidity, 0)
        return

    def batches():
        for chunk, fetched in imap.fetch_batches(imap.batches(uids)):
            items = [
                Incoming(
                    raw=message.raw,
                    received_at=message.internaldate,
                    mailbox=box.name,
                    role=role,
                    folder=folder,
                    uidvalidity=uidvalidity,
                    uid=message.uid,
                    source="imap",
                )
                for message in fetched
            ]
            yield items, partial(_advance, box.name, folder, role, uidvalidity, max(chunk))

    record_ahead(engine, rt, batches(), box.name, now_fn, report.summary)


def _advance(mailbox: str, folder: str, role: str, uidvalidity: int, high: int, session: Session) -> None:
    """The folder's high-water mark, committed with the batch that reaches it."""
    state = _folder_state(session, mailbox, folder, role)
    previous = state.last_uid if state.uidvalidity == uidvalidity else 0
    state.uidvalidity = uidvalidity
    state.last_uid = max(high, previous)
    session.add(state)


def _folder_state(session: Session, mailbox: str, folder: str, role: str) -> FolderState:
    state = session.execute(
        select(FolderState).where(FolderState.mailbox == mailbox, FolderState.folder == folder)
    ).scalars().first()
    if state is None:
        try:
            with session.begin_nested():  # two first polls at once: the other's row wins
                state = FolderState(mailbox=mailbox, folder=folder, role=role)
                session.add(state)
                session.flush()
        except IntegrityError:
            state = session.execute(
                select(FolderState).where(FolderState.mailbox == mailbox, FolderState.folder == folder)
            ).scalars().one()
    return state


def _save_state(engine: Engine, mailbox: str, folder: str, role: str, uidvalidity: int, last_uid: int) -> None:
    with Session(engine) as session:
        state = _folder_state(session, mailbox, folder, role)
        state.uidvalidity = uidvalidity
        state.last_uid = last_uid
        session.add(state)
        session.commit()


def _mark(engine: Engine, mailbox: str, folder: str, role: str, at: datetime, error: str | None) -> None:
    with Session(engine) as session:
        state = _folder_state(session, mailbox, folder, role)
        if error is None:
            state.last_success_at = at
        else:
            state.last_error = error
            state.last_error_at = at
        session.add(state)
        session.commit()


def unrecorded(engine: Engine, mailbox: str, folder: str, uidvalidity: int, uidnext: int) -> bool:
    """Does the folder hold a UID that no poll recorded yet (``uidnext`` as the
    server gives it now, against the folder's committed high-water mark)?"""
    with Session(engine) as session:
        row = session.execute(
            select(FolderState.uidvalidity, FolderState.last_uid).where(FolderState.mailbox == mailbox, FolderState.folder == folder)
        ).first()
    if row is None or row.uidvalidity != uidvalidity:
        return True
    return uidnext > (row.last_uid or 0) + 1


def poll_all(engine: Engine, rt, names: Iterable[str] | None = None, now_fn: Callable[[], datetime] = clock.now) -> list[FolderReport]:
    """Poll every mailbox once; a failing mailbox does not stop the others."""
    wanted = set(names) if names else None
    reports: list[FolderReport] = []
    for box in rt.cfg.mailboxes:
        if wanted is None or box.name in wanted:
            reports += poll_mailbox(engine, rt, box, now_fn)
    return reports
