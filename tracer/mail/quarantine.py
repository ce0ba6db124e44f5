"""Messages that could not be parsed: listed and exported, never lost."""

from __future__ import annotations

import zlib

from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock
from tracer.core.errors import NotFound
from tracer.store.models import Quarantine


def listing(session: Session, tz) -> list[dict]:
    rows = session.execute(select(Quarantine).order_by(Quarantine.id)).scalars().all()
    return [
        {
            "id": q.id,
            "mailbox": q.mailbox,
            "folder": q.folder,
            "uid": q.uid,
            "source": q.source,
            "received_at": clock.iso_local(q.received_at, tz),
            "reason": q.reason,
            "size": q.size,
            "sha256": q.sha256,
            "quarantined_at": clock.iso_local(q.created_at, tz),
        }
        for q in rows
    ]


def raw(session: Session, item_id: int) -> bytes:
    row = session.get(Quarantine, item_id)
    if row is None:
        raise NotFound(f"message en quarantaine n° {item_id} introuvable")
    return zlib.decompress(row.data)
