"""``tracer status``: what a supervisor or a monitoring probe reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from tracer.core import clock
from tracer.register import requests as register
from tracer.store.models import FolderState, Outbox, Quarantine, Request


def status(session: Session, rt, now: datetime) -> dict:
    tz = rt.cfg.tz
    states = {(s.mailbox, s.folder): s for s in session.execute(select(FolderState)).scalars()}
    mailboxes = []
    for box in rt.cfg.mailboxes:
        folders = []
        for role, folder in (("inbox", box.inbox), ("sent", box.sent)):
            s = states.get((box.name, folder))
            failing = bool(s and s.last_error_at and (not s.last_success_at or s.last_error_at > s.last_success_at))
            folders.append(
                {
                    "folder": folder,
                    "role": role,
                    "last_success_at": clock.iso_local(s.last_success_at, tz) if s else None,
                    "last_error_at": clock.iso_local(s.last_error_at, tz) if s else None,
                    "last_error": s.last_error if s else None,
                    "failing": failing,
                    "last_uid": s.last_uid if s else None,
                }
            )
        last_ok = [f["last_success_at"] for f in folders if f["last_success_at"]]
        errors = [f for f in folders if f["last_error_at"]]
        last_error = max(errors, key=lambda f: f["last_error_at"]) if errors else None
        mailboxes.append(
            {
                "name": box.name,
                "address": box.address,
                "last_success_at": min(last_ok) if len(last_ok) == len(folders) else None,
                "last_error_at": last_error["last_error_at"] if last_error else None,
                "last_error": last_error["last_error"] if last_error else None,
                "ok": not any(f["failing"] for f in folders),
                "folders": folders,
            }
        )
    outbox = dict(
        session.execute(select(Outbox.status, func.count()).where(Outbox.status.not_in(("sent", "cancelled"))).group_by(Outbox.status)).all()
    )
    quarantined = session.execute(select(func.count()).select_from(Quarantine)).scalar_one()
    # a reply that left but whose copy is not in the Sent folder (outgoing.outbox._append_copies)
    no_copy = session.execute(
        select(Outbox.mailbox, Outbox.last_error, Outbox.next_attempt_at)
        .where(Outbox.status == "sent", Outbox.kind.in_(("reply", "ack")), Outbox.mailbox.is_not(None),
               Outbox.appended_at.is_(None)).order_by(Outbox.id)
    ).all()
    copy_errors = [e for _box, e, _at in no_copy if (e or "").startswith("copie impossible")]
    return {
        "as_of": clock.iso_local(now, tz),
        "mailboxes": mailboxes,
        "requests": register.counts(session, now),
        "outbox": {"size": sum(outbox.values()), **{k: v for k, v in outbox.items()}},
        "quarantined": quarantined,
        "sent_copies": {"missing": len(no_copy), "last_error": copy_errors[-1] if copy_errors else None},
    }


def heartbeat(session: Session, rt, now: datetime) -> dict:
    """When the mailboxes were last polled (successfully or not): a daemon silent for 3 × poll_seconds is stale.

    Every poll attempt writes its folder state (success or error), so the
    newest of those instants is the daemon's last sign of life.
    """
    latest = session.execute(select(func.max(FolderState.last_success_at), func.max(FolderState.last_error_at))).one()
    seen = [clock.from_db(v) for v in latest if v is not None]
    last = max(seen) if seen else None
    limit = 3 * int(rt.cfg.schedule.poll_seconds)
    age = (now - last).total_seconds() if last else None
    return {"last_poll_at": clock.iso_local(last, rt.cfg.tz) if last else None, "age_seconds": age,
            "limit_seconds": limit, "stale": last is None or age > limit}


def outbox_items(session: Session, rt, limit: int = 200) -> list[dict]:
    """Mails not yet delivered, oldest first: what waits, what is uncertain, what failed."""
    rows = session.execute(
        select(Outbox, Request.reference).outerjoin(Request, Request.id == Outbox.request_id)
        .where(Outbox.status.not_in(("sent", "cancelled"))).order_by(Outbox.created_at, Outbox.id).limit(limit)
    ).all()
    tz = rt.cfg.tz
    return [{"id": o.id, "kind": o.kind, "reference": ref, "status": o.status, "subject": o.subject,
             "recipients": list(o.recipients or []), "attempts": o.attempts, "last_error": o.last_error,
             "created_at": clock.iso_local(o.created_at, tz), "next_attempt_at": clock.iso_local(o.next_attempt_at, tz)}
            for o, ref in rows]


def quarantine_items(session: Session, rt, limit: int = 200) -> list[dict]:
    """Messages kept aside, newest first, without their bytes (downloaded one at a time)."""
    rows = session.execute(
        select(Quarantine.id, Quarantine.mailbox, Quarantine.folder, Quarantine.source, Quarantine.received_at,
               Quarantine.reason, Quarantine.size, Quarantine.created_at)
        .order_by(Quarantine.created_at.desc(), Quarantine.id.desc()).limit(limit)
    ).all()
    tz = rt.cfg.tz
    return [{"id": r.id, "mailbox": r.mailbox, "folder": r.folder, "source": r.source,
             "received_at": clock.iso_local(r.received_at, tz), "reason": r.reason, "size": r.size,
             "created_at": clock.iso_local(r.created_at, tz)} for r in rows]


def page(session: Session, rt, now: datetime) -> dict:
    """``/etat``: ``tracer status`` plus the daemon's heartbeat and the lists behind the counts."""
    return {**status(session, rt, now), "heartbeat": heartbeat(session, rt, now),
            "outbox_items": outbox_items(session, rt), "quarantine_items": quarantine_items(session, rt)}
