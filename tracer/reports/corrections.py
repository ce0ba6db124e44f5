"""How often agents corrected the classifier: per category, and to what.

For each e-mail request received in the period, the classifier's category is
the one it had before its first correction (``reclassified`` event), or its
category if never corrected. The table crosses that category with the one the
request ended with; a topic change on a complaint or suggestion counts too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock
from tracer.rules.vocabulary import CATEGORIES
from tracer.store.models import Event, Request

QUARTER = timedelta(days=91)


def report(session: Session, now: datetime, since: datetime | None = None) -> dict:
    since = since or (now - QUARTER)
    requests = list(session.execute(
        select(Request).where(Request.channel == "email", Request.received_at >= since, Request.received_at <= now)
    ).scalars())
    ids = [r.id for r in requests]
    first: dict[int, dict] = {}
    topic_changes: dict[int, int] = {}
    if ids:
        events = session.execute(
            select(Event).where(Event.kind == "reclassified", Event.request_id.in_(ids)).order_by(Event.at, Event.id)
        ).scalars()
        for event in events:
            data = event.data or {}
            first.setdefault(event.request_id, data)
            if data.get("old_topic") != data.get("new_topic") and data.get("old_category") == data.get("new_category"):
                topic_changes[event.request_id] = 1
    matrix = {c: {d: 0 for d in CATEGORIES} for c in CATEGORIES}
    rows = {c: {"classified": 0, "corrected": 0, "topic_corrected": 0} for c in CATEGORIES}
    for request in requests:
        given = first.get(request.id, {}).get("old_category", request.category)
        final = request.category
        if given not in matrix or final not in CATEGORIES:
            continue
        matrix[given][final] += 1
        rows[given]["classified"] += 1
        rows[given]["corrected"] += given != final
        rows[given]["topic_corrected"] += topic_changes.get(request.id, 0)
    return {"since": clock.from_db(since), "until": clock.from_db(now), "matrix": matrix, "rows": rows,
            "total": sum(r["classified"] for r in rows.values()),
            "corrected": sum(r["corrected"] for r in rows.values())}
