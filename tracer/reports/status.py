"""``tracer status``: what a supervisor or a monitoring probe reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from tracer.core import clock
from tracer.register import requests as register
from tracer.store.models import FolderState, Outbox, Quarantine


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
    return {
        "as_of": clock.iso_local(now, tz),
        "mailboxes": mailboxes,
        "requests": register.counts(session, now),
        "outbox": {"size": sum(outbox.values()), **{k: v for k, v in outbox.items()}},
        "quarantined": quarantined,
    }
