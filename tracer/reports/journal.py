"""The journal (``/journal``): the append-only events, filtered, paged, exported for the auditor.

Read only: nothing here writes, edits or deletes an event.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from tracer.core import clock
from tracer.core.errors import UserError
from tracer.reports.exports import text_cell
from tracer.store.models import Event, Request

PAGE_SIZE = 100
EXPORT_LIMIT = 1_000_000


@dataclass
class Filters:
    reference: str | None = None
    actor: str | None = None
    kind: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # excluded

    @classmethod
    def parse(cls, reference=None, actor=None, kind=None, date_from=None, date_to=None) -> "Filters":
        def day(text, name):
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise UserError(f"{name} : date AAAA-MM-JJ attendue, reçu « {text} »") from None

        clean = lambda v: (v or "").strip() or None  # noqa: E731
        return cls(clean(reference), clean(actor), clean(kind), day(clean(date_from), "du"), day(clean(date_to), "au"))


def _query(session: Session, rt, f: Filters):
    q = select(Event, Request.reference).outerjoin(Request, Request.id == Event.request_id)
    if f.reference:
        q = q.where(Request.reference == f.reference.upper())
    if f.actor:
        q = q.where(Event.actor == f.actor)
    if f.kind:
        q = q.where(Event.kind == f.kind)
    if f.date_from:
        q = q.where(Event.at >= clock.start_of_day(f.date_from, rt.cfg.tz))
    if f.date_to:
        q = q.where(Event.at < clock.start_of_day(f.date_to, rt.cfg.tz))
    return q


def events(session: Session, rt, f: Filters, page: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page of events, newest first, and the count of all that match."""
    page = max(page, 1)
    base = _query(session, rt, f)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(base.order_by(Event.at.desc(), Event.id.desc()).limit(size).offset((page - 1) * size)).all()
    return {"total": total, "page": page, "pages": max((total + size - 1) // size, 1),
            "items": [_view(e, ref, rt) for e, ref in rows]}


def kinds(session: Session) -> list[str]:
    return list(session.execute(select(Event.kind).distinct().order_by(Event.kind)).scalars())


def actors(session: Session) -> list[str]:
    return list(session.execute(select(Event.actor).distinct().order_by(Event.actor)).scalars())


def _view(event: Event, reference: str | None, rt) -> dict:
    return {"id": event.id, "at": clock.iso_local(event.at, rt.cfg.tz), "kind": event.kind, "actor": event.actor,
            "reference": reference, "data": event.data or {}}


def details(data: dict) -> str:
    """The event's data in one French-readable line (key : value)."""
    return " ; ".join(f"{k} : {v if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)}"
                      for k, v in data.items() if v not in (None, "", [], {}))


def to_csv(session: Session, rt, f: Filters, event_label=lambda k: k) -> bytes:
    """Every matching event, oldest first, for French Excel (UTF-8 with BOM, semicolons)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["N°", "Date et heure", "Référence", "Événement", "Code", "Auteur", "Détails"])
    rows = session.execute(_query(session, rt, f).order_by(Event.at, Event.id).limit(EXPORT_LIMIT))
    for event, reference in rows:
        v = _view(event, reference, rt)
        writer.writerow([text_cell(c) for c in (v["id"], v["at"], v["reference"] or "", event_label(v["kind"]), v["kind"],
                                                 v["actor"], details(v["data"]))])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
