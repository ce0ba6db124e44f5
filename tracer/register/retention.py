"""Personal data (RGPD): retention purge, right of access, right of erasure.

A purge blanks message bodies, raw messages, names, addresses, subjects and
the headers that name the citizen (``auto_headers``: Return-Path and the like),
and keeps the anonymous facts the indicators need (dates, deadline, category,
topic, service, channel, delays), so indicators of past periods are unchanged.

Everything older than the retention period goes, whatever its status: requests
never answered, excluded ones, replies linked to nothing, quarantined raw
mail, and the outbox (replies, alerts and digests quote subjects and names).

Identifiers become hashes (``hashed_id``): a Message-ID often embeds the
sender's address, so ``message_id``, ``dedup_key``, ``in_reply_to``,
``references``, the ``message_ref`` rows and the Message-IDs quoted in event
data are replaced by ``h:<sha256>``. The same message polled again (a
UIDVALIDITY change) is still a duplicate: the ingest looks up the hash too.

Events are never deleted and the purge and the erasure add one each; they are
the one writer that rewrites an event's *data*, and only to replace the
identifiers and the person's name or address it quotes (the law's erasure
over the log's immutability; what happened, when and by whom stays).

On SQLite the rows are overwritten with ``secure_delete`` on and the WAL is
checkpointed and truncated afterwards, so the database file itself no longer
holds the erased text.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from datetime import datetime, timedelta
from email import message_from_bytes, policy

from sqlalchemy import String, bindparam, cast, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracer.core import clock
from tracer.core.errors import UserError
from tracer.register import requests as register
from tracer.store.models import Event, Message, MessageRef, Outbox, Quarantine, RawMessage, Request

HASHED = "h:"
PURGED = "(purgé)"
ERASED = "(effacé)"
# auto_headers kept after a purge: the machine-readable tokens the thread and
# the rules read (auto-replied, bulk…), never an address or a list name
KEPT_AUTO_HEADERS = ("auto-submitted", "precedence")
_TOKEN = re.compile(r"[A-Za-z0-9-]+")
CHUNK = 500


def hashed_id(identifier: str | None) -> str | None:
    """A Message-ID once its message is purged: still comparable, no longer readable.

    Keys that are already content hashes (``sha256:…``) or hashed stay as they are.
    """
    if not identifier or identifier.startswith((HASHED, "sha256:")):
        return identifier
    return HASHED + hashlib.sha256(identifier.encode("utf-8", "surrogateescape")).hexdigest()


def _chunks(values: list) -> list[list]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _kept_auto_headers(headers: dict | None) -> dict:
    kept = {}
    for key in KEPT_AUTO_HEADERS:
        match = _TOKEN.match(str((headers or {}).get(key) or "").strip())
        if match:
            kept[key] = match.group(0).lower()
    return kept


class _Scrubber:
    """Replaces, inside any JSON-like value, the known Message-IDs by their hash
    and the person's name and address by a placeholder."""

    def __init__(self, ids: set[str], tokens: set[str], placeholder: str):
        self.ids = {i for i in ids if i}
        words = sorted({t.strip() for t in tokens if t and len(t.strip()) >= 3}, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
        self.placeholder = placeholder

    def text(self, value: str | None) -> str | None:
        if value is None:
            return None
        if value in self.ids:
            return hashed_id(value)
        for mid in self.ids:
            if mid in value:
                value = value.replace(mid, hashed_id(mid))
        return self.pattern.sub(self.placeholder, value) if self.pattern else value

    def value(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def found_in(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(text)) or any(mid in text for mid in self.ids)


def _secure(session: Session, on: bool = True) -> None:
    """SQLite: overwrite what is deleted or rewritten from here on (this connection;
    turned off again before the commit, the rest of the program does not pay for it)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(f"PRAGMA secure_delete={'ON' if on else 'OFF'}")


def _truncate_wal(engine: Engine) -> None:
    """SQLite: old page versions live in the WAL until a checkpoint; truncate it
    (best effort: a reader still open keeps its frames until the next one)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA query_only=0")
        raw.info["tracer_read_only"] = False
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        raw.close()


# --------------------------------------------------------------------------
# Blanking rows.


def _blank_messages(session: Session, message_ids: list[int], now: datetime, scrub: _Scrubber) -> None:
    table = Message.__table__
    for chunk in _chunks(message_ids):
        rows = session.execute(
            select(Message.id, Message.dedup_key, Message.message_id, Message.in_reply_to, Message.references,
                   Message.auto_headers, Message.source).where(Message.id.in_(chunk))
        ).all()
        if not rows:
            continue
        values = [
            {"b_id": r.id, "b_dedup": hashed_id(r.dedup_key), "b_mid": hashed_id(r.message_id), "b_irt": hashed_id(r.in_reply_to),
             "b_refs": [hashed_id(x) for x in (r.references or [])], "b_auto": _kept_auto_headers(r.auto_headers),
             "b_source": r.source if r.source == "imap" else None}
            for r in rows
        ]
        session.connection().execute(
            table.update().where(table.c.id == bindparam("b_id")).values(
                dedup_key=bindparam("b_dedup"), message_id=bindparam("b_mid"), in_reply_to=bindparam("b_irt"),
                references=bindparam("b_refs"), auto_headers=bindparam("b_auto"), source=bindparam("b_source"),
                body_text=None, from_name=None, from_addr=None, to_addrs=[], cc_addrs=[], reply_to=None, subject=None,
                attachments=[], content_hash=None, purged_at=now,  # the hash of sender, subject and body goes too
            ),
            values,
        )
        session.execute(update(RawMessage).where(RawMessage.message_id.in_(chunk)).values(data=None, purged_at=now))
        refs = session.execute(select(MessageRef.id, MessageRef.ref).where(MessageRef.message_id.in_(chunk))).all()
        _rehash_refs(session, refs)
    # other messages pointing at these by Message-ID keep finding them (by the hash)
    for chunk in _chunks(sorted(scrub.ids)):
        refs = session.execute(select(MessageRef.id, MessageRef.ref).where(MessageRef.ref.in_(chunk))).all()
        _rehash_refs(session, refs)


def _rehash_refs(session: Session, refs) -> None:
    todo = [{"b_id": r.id, "b_ref": hashed_id(r.ref)} for r in refs if hashed_id(r.ref) != r.ref]
    if todo:
        table = MessageRef.__table__
        session.connection().execute(table.update().where(table.c.id == bindparam("b_id")).values(ref=bindparam("b_ref")), todo)


def _blank_requests(session: Session, request_ids: list[int], now: datetime) -> None:
    for chunk in _chunks(request_ids):
        session.execute(
            update(Request).where(Request.id.in_(chunk)).values(sender_addr=None, sender_name=None, subject=None, purged_at=now)
        )


def _scrub_events(session: Session, request_ids: list[int], scrub: _Scrubber) -> None:
    """The Message-IDs and the person's name and address quoted in these requests' events."""
    table = Event.__table__
    for chunk in _chunks(request_ids):
        rows = session.execute(select(Event.id, Event.data).where(Event.request_id.in_(chunk))).all()
        todo = []
        for r in rows:
            cleaned = scrub.value(r.data or {})
            if cleaned != (r.data or {}):
                todo.append({"b_id": r.id, "b_data": cleaned})
        if todo:
            session.connection().execute(table.update().where(table.c.id == bindparam("b_id")).values(data=bindparam("b_data")), todo)


def _blank_outbox(session: Session, outbox_ids: list[int], placeholder: str, now: datetime) -> int:
    """Blank queued or sent mail; a mail not yet sent is cancelled (never sent later).

    Returns how many were cancelled."""
    cancelled = 0
    for chunk in _chunks(outbox_ids):
        cancelled += session.execute(
            update(Outbox).where(Outbox.id.in_(chunk), Outbox.status.in_(("pending", "failed", "sending")))
            .values(status="cancelled", next_attempt_at=None)
        ).rowcount or 0
        session.execute(
            update(Outbox).where(Outbox.id.in_(chunk))
            .values(data=b"", subject=placeholder, recipients=[], last_error=None)
        )
    return cancelled


def _blank_quarantine(session: Session, ids: list[int]) -> None:
    for chunk in _chunks(ids):
        session.execute(
            update(Quarantine).where(Quarantine.id.in_(chunk))
            .values(data=zlib.compress(b""), size=0, source=None, reason=PURGED)
        )


# --------------------------------------------------------------------------
# Retention purge.


def _older(limit: datetime):
    """A request whose last fact (the answer, else the reception) is older than ``limit``."""
    return func.coalesce(Request.answered_at, Request.received_at) < limit


def purge_candidates(session: Session, rt, now: datetime) -> list[Request]:
    """Requests whose last fact is older than ``body_days``, whatever their status."""
    limit = now - timedelta(days=rt.cfg.retention.body_days)
    query = select(Request).where(Request.purged_at.is_(None), _older(limit))
    return list(session.execute(query.order_by(Request.id)).scalars())


def purge(engine: Engine, rt, now: datetime, by: str = "tracer", dry_run: bool = False) -> dict:
    limit = now - timedelta(days=rt.cfg.retention.body_days)
    with Session(engine, expire_on_commit=False) as session:
        requests = purge_candidates(session, rt, now)
        ids = [r.id for r in requests]
        kept = select(Request.id).where(Request.purged_at.is_(None), ~_older(limit))
        # messages of the purged requests, and old ones linked to no request (unlinked
        # replies, automatic mail), never a message of a request still kept
        message_ids = sorted(set(session.execute(
            select(Message.id).where(Message.purged_at.is_(None), or_(
                Message.request_id.in_(ids or [-1]),
                Message.request_id.is_(None) & (Message.received_at < limit),
            ))
        ).scalars()))
        old_quarantine = session.execute(
            select(Quarantine.id).where(Quarantine.created_at < limit, or_(Quarantine.size > 0, Quarantine.reason != PURGED))
        ).scalars().all()
        old_outbox = session.execute(
            select(Outbox.id).where(Outbox.subject != PURGED, or_(
                Outbox.request_id.in_(ids or [-1]),
                (Outbox.created_at < limit) & (Outbox.request_id.is_(None) | Outbox.request_id.not_in(kept)),
            ))
        ).scalars().all()
        old_outbox = set(old_outbox) | _quoting(session, [r.reference for r in requests], set(old_outbox))
        result = {
            "requests": len(ids),
            "messages": len(message_ids),
            "quarantined": len(old_quarantine),
            "outbox": len(old_outbox),
            "before": clock.iso_local(limit, rt.cfg.tz),
            "references": [r.reference for r in requests],
            "dry_run": dry_run,
        }
        if dry_run or not (ids or message_ids or old_quarantine or old_outbox):
            return result
        _secure(session)
        mids = set()
        for chunk in _chunks(message_ids):
            mids |= {m for m in session.execute(select(Message.message_id).where(Message.id.in_(chunk))).scalars() if m}
        scrub = _Scrubber(mids, _tokens_of(session, ids, message_ids), PURGED)
        _scrub_events(session, ids, scrub)
        _blank_messages(session, message_ids, now, scrub)
        _blank_requests(session, ids, now)
        _blank_outbox(session, sorted(old_outbox), PURGED, now)
        _blank_quarantine(session, list(old_quarantine))
        for request in requests:
            register.add_event(session, request, "purged", by, now, retention_days=rt.cfg.retention.body_days)
        session.flush()
        _secure(session, False)
        session.commit()
    _truncate_wal(engine)
    return result


def _quoting(session: Session, references: list[str], skip: set[int]) -> set[int]:
    """Alerts and digests (tied to no request) that quote one of these references."""
    if not references:
        return set()
    pattern = re.compile("(?<![\\w-])(?:" + "|".join(re.escape(r) for r in references) + r")(?!\d)")
    found = set()
    rows = session.execute(select(Outbox.id, Outbox.data).where(Outbox.kind.in_(("alert", "digest")), Outbox.subject != PURGED))
    for row_id, data in rows:
        if row_id not in skip and pattern.search(_mail_text(data or b"")):
            found.add(row_id)
    return found


def _tokens_of(session: Session, request_ids: list[int], message_ids: list[int]) -> set[str]:
    """Names and addresses held by these rows (what their events may quote)."""
    tokens: set[str] = set()
    for chunk in _chunks(request_ids):
        for addr, name in session.execute(select(Request.sender_addr, Request.sender_name).where(Request.id.in_(chunk))):
            tokens |= {addr, name} - {None}
    for chunk in _chunks(message_ids):
        for addr, name, reply in session.execute(select(Message.from_addr, Message.from_name, Message.reply_to).where(Message.id.in_(chunk))):
            tokens |= {addr, name, reply} - {None}
    return tokens


# --------------------------------------------------------------------------
# Right of access and erasure.


def _address(email: str) -> str:
    address = email.strip().lower()
    if "@" not in address or any(c.isspace() for c in address):
        raise UserError(f"adresse électronique attendue, reçu « {email} »")
    return address


def _json_mentions(column, address: str):
    return func.lower(cast(column, String)).contains(address, autoescape=True)


def _person(session: Session, address: str) -> tuple[list[Request], list[Message], list[Request]]:
    """The person's own requests, their own messages (written by them, or sent to
    them), and the other requests their messages joined (left to their owner)."""
    own_requests = list(session.execute(select(Request).where(func.lower(Request.sender_addr) == address).order_by(Request.id)).scalars())
    own_ids = [r.id for r in own_requests]
    messages = list(session.execute(
        select(Message).where(or_(
            func.lower(Message.from_addr) == address,
            func.lower(Message.reply_to) == address,
            Message.request_id.in_(own_ids or [-1]),  # their requests' thread, replies included
            (Message.direction == "out") & (_json_mentions(Message.to_addrs, address) | _json_mentions(Message.cc_addrs, address)),
        )).order_by(Message.received_at, Message.id)
    ).scalars())
    joined_ids = {m.request_id for m in messages if m.request_id and m.request_id not in own_ids}
    joined = list(session.execute(select(Request).where(Request.id.in_(joined_ids or {-1})).order_by(Request.id)).scalars())
    return own_requests, messages, joined


def _requests_of(session: Session, email: str) -> tuple[list[Request], list[Message]]:
    own, messages, joined = _person(session, _address(email))
    return own + joined, messages


def _drop_recipient(session: Session, address: str, skip: set[int]) -> None:
    """Another person's message that copied them keeps its content, without their address."""
    rows = session.execute(
        select(Message.id, Message.to_addrs, Message.cc_addrs)
        .where(_json_mentions(Message.to_addrs, address) | _json_mentions(Message.cc_addrs, address))
    ).all()
    todo = [
        {"b_id": r.id, "b_to": [a for a in r.to_addrs or [] if a.lower() != address],
         "b_cc": [a for a in r.cc_addrs or [] if a.lower() != address]}
        for r in rows if r.id not in skip
    ]
    if todo:
        table = Message.__table__
        session.connection().execute(
            table.update().where(table.c.id == bindparam("b_id")).values(to_addrs=bindparam("b_to"), cc_addrs=bindparam("b_cc")), todo)


def export_person(session: Session, rt, email: str) -> dict:
    address = _address(email)
    own, messages, joined = _person(session, address)
    tz = rt.cfg.tz
    ids = [r.id for r in own]
    events = session.execute(select(Event).where(Event.request_id.in_(ids or [-1])).order_by(Event.at, Event.id)).scalars()
    return {
        "person": address,
        "requests": [register.case_view(r, clock.now(), tz, []) for r in own],
        "messages": [register.message_view(m, tz) | {"request_id": m.request_id} for m in messages],
        "events": [{"at": clock.iso_local(e.at, tz), "kind": e.kind, "actor": e.actor, "request_id": e.request_id} for e in events],
    }


def _mail_text(data: bytes) -> str:
    """A queued or quarantined mail as text: raw bytes and decoded headers and parts."""
    text = data.decode("utf-8", "replace")
    try:
        msg = message_from_bytes(data, policy=policy.default)
        parts = [str(v) for _k, v in msg.items()]
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                try:
                    parts.append(part.get_content())
                except Exception:  # noqa: BLE001 - an undecodable part is searched raw
                    pass
        text += "\n" + "\n".join(parts)
    except Exception:  # noqa: BLE001 - unparseable: the raw text is searched
        pass
    return text


def erase_person(session: Session, rt, email: str, by: str, now: datetime) -> dict:
    """Blank everything tracer holds on this person, wherever it sits.

    Their own requests lose sender and subject; their messages (and replies to
    them) lose content, addresses and identifiers; another person's request their
    message joined keeps its own sender and subject. Quarantined raw mail, the
    outbox (replies, acknowledgements, alerts, digests) and events are searched
    for their address and name; mail still waiting to be sent is cancelled.
    The caller commits (``commit_erasure`` then truncates SQLite's WAL).
    """
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")
    address = _address(email)
    own, messages, joined = _person(session, address)
    own_ids = [r.id for r in own]
    _secure(session)
    names = {r.sender_name for r in own} | {m.from_name for m in messages if m.direction == "in"}
    scrub = _Scrubber({m.message_id for m in messages if m.message_id}, {address, *(n for n in names if n)}, ERASED)
    message_ids = [m.id for m in messages]
    _scrub_events(session, own_ids + [r.id for r in joined], scrub)
    _blank_messages(session, message_ids, now, scrub)
    _blank_requests(session, own_ids, now)
    _drop_recipient(session, address, set(message_ids))
    # the outbox: by request, and any other mail naming them (alerts, digests, unlinked replies)
    outbox_ids = set(session.execute(select(Outbox.id).where(Outbox.request_id.in_(own_ids or [-1]))).scalars())
    outbox_ids |= set(session.execute(select(Outbox.id).where(_json_mentions(Outbox.recipients, address))).scalars())
    for row_id, data, subject in session.execute(select(Outbox.id, Outbox.data, Outbox.subject).where(Outbox.data != b"")):
        if row_id not in outbox_ids and (scrub.found_in(subject or "") or scrub.found_in(_mail_text(data or b""))):
            outbox_ids.add(row_id)
    cancelled = _blank_outbox(session, sorted(outbox_ids), ERASED, now)
    # quarantine: raw mail that could not be read, searched decompressed
    found = []
    for row_id, data, reason, source in session.execute(select(Quarantine.id, Quarantine.data, Quarantine.reason, Quarantine.source)):
        try:
            raw = zlib.decompress(data) if data else b""
        except zlib.error:
            raw = data or b""
        if scrub.found_in(_mail_text(raw)) or scrub.found_in(reason or "") or scrub.found_in(source or ""):
            found.append(row_id)
    _blank_quarantine(session, found)
    for request in own:
        register.add_event(session, request, "erased", by, now, reason="droit à l'effacement")  # without the erased data
    return {"requests": len(own), "messages": len(messages), "quarantined": len(found), "outbox": len(outbox_ids),
            "cancelled": cancelled}


def erase(engine: Engine, rt, email: str, by: str, now: datetime) -> dict:
    """``erase_person`` in its own transaction, then SQLite's WAL truncated."""
    with Session(engine, expire_on_commit=False) as session:
        result = erase_person(session, rt, email, by, now)
        session.flush()
        _secure(session, False)
        session.commit()
    _truncate_wal(engine)
    return result
