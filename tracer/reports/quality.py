"""Quarterly quality work: frozen published figures, random control sample, control results.

- ``freeze``: the quarter's figures as published, with the rules and calendar
  in force; later reclassifications, purges or calendar changes never rewrite
  them, and ``stats`` shows both when they differ.
- ``sample``: a reproducible random draw of answered requests, with the
  control grid (clear, complete, courteous, signed, contact given, conforming).
- ``control``: a control result, recorded as an event (append-only).
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock
from tracer.register import requests as register
from tracer.reports import stats
from tracer.core.errors import UserError
from tracer.store import bulk
from tracer.store.models import Event, Message, PublishedFigures, Request

FREEZE_BY = ["channel", "category"]
RESULTS = ("conforme", "non_conforme")
GRID = ["Clair", "Complet", "Courtois", "Signé", "Coordonnées du service", "Conforme"]


def fingerprint(rt) -> dict:
    digest = hashlib.sha256()
    for path in sorted(rt.cfg.rules_dir.glob("*.toml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return {
        "rules_sha256": digest.hexdigest(),
        "holiday_zone": rt.cfg.tracer.holiday_zone,
        "closure_days": [d.isoformat() for d in rt.cfg.tracer.closure_days],
    }


def freeze(session: Session, rt, quarter: str, as_of: datetime, by: str, now: datetime) -> dict:
    if not by or not by.strip():
        raise UserError("--by-agent : le nom de l'agent est obligatoire pour figer des chiffres")
    start, end = stats.quarter_bounds(quarter)
    if clock.local(now, rt.cfg.tz).date() < end:
        last = end - timedelta(days=1)
        raise UserError(f"le trimestre {quarter.strip().upper()} n'est pas terminé (il se termine le {last:%d/%m/%Y}) : "
                        f"ses chiffres se figent à partir du {end:%d/%m/%Y}")
    if session.execute(select(PublishedFigures.id).where(PublishedFigures.period == quarter.upper())).first():
        raise UserError(f"les chiffres de {quarter} sont déjà figés : ils ne se modifient pas")
    figures = stats.compute(session, rt, start, end, as_of, FREEZE_BY)
    session.add(PublishedFigures(period=quarter.upper(), date_from=start.isoformat(), date_to=end.isoformat(), as_of=as_of,
                                 by=FREEZE_BY, figures=figures, fingerprint=fingerprint(rt), created_by=by, created_at=now))
    register.add_event(session, None, "figures_frozen", by, now, period=quarter.upper())
    return figures


def frozen_for(session: Session, date_from, date_to) -> PublishedFigures | None:
    return session.execute(
        select(PublishedFigures).where(PublishedFigures.date_from == date_from.isoformat(),
                                       PublishedFigures.date_to == date_to.isoformat())
    ).scalars().first()


def compare(session: Session, rt, published: PublishedFigures) -> dict:
    """The published figures next to what the data gives today for the same query."""
    from datetime import date

    current = stats.compute(session, rt, date.fromisoformat(published.date_from), date.fromisoformat(published.date_to),
                            clock.from_db(published.as_of), list(published.by))
    return {
        "period": published.period,
        "frozen_at": clock.iso_local(published.created_at, rt.cfg.tz),
        "frozen_by": published.created_by,
        "published": published.figures,
        "current": current,
        "differs": current["groups"] != published.figures["groups"] or current["total"] != published.figures["total"],
        "fingerprint": published.fingerprint,
        "fingerprint_now": fingerprint(rt),
    }


def sample(session: Session, rt, quarter: str, size: int, seed: int | None) -> list[dict]:
    if size <= 0:
        raise UserError("--size : entier strictement positif attendu")
    start, end = stats.quarter_bounds(quarter)
    tz = rt.cfg.tz
    lo, hi = clock.start_of_day(start, tz), clock.start_of_day(end, tz)
    requests = session.execute(
        select(Request).where(Request.received_at >= lo, Request.received_at < hi, Request.answered_at.is_not(None),
                              Request.category.in_(register.PERIMETER)).order_by(Request.id)
    ).scalars().all()
    chosen = random.Random(seed).sample(list(requests), min(size, len(requests)))
    chosen.sort(key=lambda r: r.reference)
    return [_item(session, r, tz) for r in chosen]


def _item(session: Session, r: Request, tz) -> dict:
    answer = session.get(Message, r.answer_message_id) if r.answer_message_id else None
    return {
        "reference": r.reference,
        "category": r.category,
        "service": r.service,
        "subject": r.subject,
        "received_at": clock.iso_local(r.received_at, tz),
        "answered_at": clock.iso_local(r.answered_at, tz),
        "deadline": clock.iso_local(r.deadline, tz),
        "delay_days": round((r.answered_at - r.received_at).total_seconds() / 86400, 2),
        "on_time": r.deadline is not None and r.answered_at <= r.deadline,
        "reply_text": (answer.body_text if answer else None) or "",
    }


def sample_rows(items: list[dict], rt=None) -> tuple[list[str], list[list]]:
    """The control grid: one row per drawn request, labels in French, dates as local datetimes
    (naive, in the configured zone: what a spreadsheet cell holds)."""
    from tracer.core import french

    tz = rt.cfg.tz if rt is not None else clock.PARIS
    labels = {s.name: (s.label or s.name) for s in (rt.cfg.services if rt is not None else [])}

    def local(iso):
        return clock.local(datetime.fromisoformat(iso), tz).replace(tzinfo=None) if iso else None

    head = ["Référence", "Catégorie", "Service", "Reçue le", "Répondue le", "Échéance", "Délai (jours)", "Dans les délais",
            "Texte de la réponse"] + GRID
    rows = [[i["reference"], french.category(i["category"]), labels.get(i["service"], i["service"]), local(i["received_at"]),
             local(i["answered_at"]), local(i["deadline"]), i["delay_days"], "oui" if i["on_time"] else "non",
             i["reply_text"]] + [""] * len(GRID) for i in items]
    return head, rows


def control(session: Session, rt, reference: str, result: str, notes: str | None, by: str, now: datetime,
            **grid_data) -> Request:
    if result not in RESULTS:
        raise UserError(f"--result : « conforme » ou « non_conforme » attendu, reçu « {result} »")
    if not by or not by.strip():
        raise UserError("--by : le nom de l'agent est obligatoire")
    request = register.get_request(session, reference)
    if request.answered_at is None:
        raise UserError(f"{request.reference} n'a pas reçu de réponse : il n'y a rien à contrôler")
    if not in_drawn_sample(session, request.reference):
        raise UserError(f"{request.reference} n'est dans aucun échantillon tiré (tracer sample --quarter …) : "
                        "seules les réponses tirées au sort se contrôlent")
    register.add_event(session, request, "control", by, now, result=result, notes=notes, **grid_data)
    return request


def in_drawn_sample(session: Session, reference: str) -> bool:
    """Whether a recorded draw (``sample_drawn`` event) holds the reference."""
    bulk.flush_deferred(session)
    rows = session.execute(select(Event.data).where(Event.kind == "sample_drawn")).scalars()
    # few draws per quarter; the JSON column is not queried inside, for SQLite and PostgreSQL alike
    return any(reference in ((data or {}).get("references") or []) for data in rows)


def conformity(session: Session, rt, date_from, date_to) -> dict:
    tz = rt.cfg.tz
    lo, hi = clock.start_of_day(date_from, tz), clock.start_of_day(date_to, tz)
    rows = session.execute(
        select(Event.request_id, Event.data).join(Request, Request.id == Event.request_id)
        .where(Event.kind == "control", Request.received_at >= lo, Request.received_at < hi)
        .order_by(Event.at, Event.id)
    ).all()
    latest = {request_id: data.get("result") for request_id, data in rows}  # the last control counts
    ok = sum(1 for v in latest.values() if v == "conforme")
    return {"controlled": len(latest), "conforme": ok, "rate": stats.round2(ok * 100, len(latest))}


def frozen_quarters(session: Session, rt) -> list[dict]:
    """Every frozen period, newest first: « figés le … par … »."""
    rows = session.execute(select(PublishedFigures).order_by(PublishedFigures.date_from.desc())).scalars()
    return [{"period": p.period, "frozen_at": clock.iso_local(p.created_at, rt.cfg.tz), "frozen_by": p.created_by,
             "as_of": clock.iso_local(p.as_of, rt.cfg.tz), "total": p.figures.get("total", {})} for p in rows]


# Events that do not change a request's figures (a control reads; a draw has no request).
NEUTRAL = ("control", "sample_drawn", "figures_frozen", "note", "assigned", "unassigned")


def drift(session: Session, rt, published: PublishedFigures, limit: int = 500) -> list[dict]:
    """« Écarts depuis la publication »: what happened to the period's requests after its figures were frozen."""
    from datetime import date

    tz = rt.cfg.tz
    lo = clock.start_of_day(date.fromisoformat(published.date_from), tz)
    hi = clock.start_of_day(date.fromisoformat(published.date_to), tz)
    rows = session.execute(
        select(Event, Request.reference).join(Request, Request.id == Event.request_id)
        .where(Request.received_at >= lo, Request.received_at < hi, Event.at > published.created_at,
               Event.kind.not_in(NEUTRAL))
        .order_by(Event.at, Event.id).limit(limit)
    ).all()
    return [{"at": clock.iso_local(e.at, tz), "reference": ref, "kind": e.kind, "actor": e.actor, "data": e.data or {}}
            for e, ref in rows]
