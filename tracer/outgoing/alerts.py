"""Deadline alerts: before each threshold, then when overdue (once per working day).

Each (request, threshold, day, service) is written to ``alert_log`` in the
same transaction as the outbox mail that announces it, so an alert is sent
once whatever restarts happen, and two daemons cannot both send it (the
unique key refuses the second). A request answered, reclassified out of the
perimeter or no longer due stops being alerted; a transfer alerts the new
service (the service is part of the key).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracer.core import clock
from tracer.store.models import AlertLog, Request
from tracer.register.requests import EXCLUDED

NO_DAY = "-"


@dataclass
class DueAlert:
    request: Request
    threshold: str  # "before:2" | "overdue"
    day: str
    service: str
    days_left: int  # working days; negative when overdue

    def sort_key(self):
        return (self.days_left, self.request.deadline, self.request.reference)


@dataclass
class AlertMail:
    recipient: str
    alerts: list[DueAlert] = field(default_factory=list)


def due_alerts(session: Session, rt, as_of: datetime) -> list[DueAlert]:
    cal = rt.calendar
    thresholds = sorted(set(rt.cfg.alerts.before_working_days))
    today = clock.local(as_of, rt.cfg.tz).date()
    query = (
        select(Request)
        .where(Request.deadline.is_not(None))
        .where(Request.category.not_in(EXCLUDED) | Request.category.is_(None))
        .where(Request.received_at <= as_of)
        .where(Request.answered_at.is_(None) | (Request.answered_at > as_of))
    )
    requests = session.execute(query).scalars().all()
    if not requests:
        return []
    sent = _already_sent(session, [r.id for r in requests])
    out: list[DueAlert] = []
    for request in requests:
        service = request.service or request.mailbox or "-"
        left = cal.working_days_left(as_of, request.deadline)
        if request.deadline < as_of:
            first = not any(k[1] == "overdue" and k[3] == service for k in sent.get(request.id, ()))
            key = (request.id, "overdue", today.isoformat(), service)
            if key not in sent.get(request.id, set()) and (first or cal.is_working_day(today)):
                out.append(DueAlert(request, "overdue", today.isoformat(), service, min(left, -1)))
            continue
        applicable = [t for t in thresholds if left <= t]
        if not applicable:
            continue
        threshold = f"before:{min(applicable)}"
        if (request.id, threshold, NO_DAY, service) not in sent.get(request.id, set()):
            out.append(DueAlert(request, threshold, NO_DAY, service, left))
    out.sort(key=DueAlert.sort_key)
    return out


def _already_sent(session: Session, ids: list[int]) -> dict[int, set]:
    sent: dict[int, set] = defaultdict(set)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(AlertLog.request_id, AlertLog.threshold, AlertLog.day, AlertLog.service).where(
                AlertLog.request_id.in_(ids[start : start + 500])
            )
        )
        for row in rows:
            sent[row[0]].add(tuple(row))
    return sent


def group_by_recipient(rt, alerts: list[DueAlert]) -> list[AlertMail]:
    mails: dict[str, AlertMail] = {}
    for alert in alerts:
        svc = rt.cfg.service(alert.service)
        recipients = (svc.alert_to if svc is not None and svc.alert_to else None) or rt.cfg.digest.to
        for recipient in recipients:
            mails.setdefault(recipient, AlertMail(recipient)).alerts.append(alert)
    return sorted(mails.values(), key=lambda m: m.recipient)


def describe(alert: DueAlert, tz) -> dict:
    r = alert.request
    return {
        "reference": r.reference,
        "service": alert.service,
        "threshold": alert.threshold,
        "sender": r.sender_addr or r.sender_name,
        "subject": r.subject,
        "received_at": clock.iso_local(r.received_at, tz),
        "deadline": clock.iso_local(r.deadline, tz),
        "working_days_left": alert.days_left,
    }


def render_mail(alert_mail: AlertMail, tz) -> tuple[str, str]:
    alerts = alert_mail.alerts
    overdue = [a for a in alerts if a.threshold == "overdue"]
    subject = f"[tracer] {len(alerts)} demande(s) à traiter" + (f", dont {len(overdue)} en retard" if overdue else "")
    lines = ["Bonjour,", "", "Les demandes suivantes arrivent à échéance ou l'ont dépassée :", ""]
    for a in alerts:
        r = a.request
        when = (
            f"en retard de {-a.days_left} jour(s) ouvré(s)" if a.threshold == "overdue"
            else ("échéance aujourd'hui" if a.days_left == 0 else f"{a.days_left} jour(s) ouvré(s) restant(s)")
        )
        lines.append(f"- {r.reference} — {when}")
        lines.append(f"  Expéditeur : {r.sender_name or ''} <{r.sender_addr or '—'}>".replace(" <", " <", 1))
        lines.append(f"  Objet : {r.subject or '(sans objet)'}")
        lines.append(
            f"  Reçue le {clock.local(r.received_at, tz):%d/%m/%Y à %H:%M} · échéance le {clock.local(r.deadline, tz):%d/%m/%Y}"
        )
        lines.append("")
    lines += ["Consultez le registre : tracer cases --status overdue", "", "-- ", "tracer, suivi Qual-e-Pref"]
    return subject, "\n".join(lines)


def run(engine: Engine, rt, as_of: datetime, now: datetime, dry_run: bool = False) -> list[dict]:
    """Record and queue the due alerts (one mail per recipient), then deliver."""
    from tracer.outgoing import outbox

    with Session(engine, expire_on_commit=False) as session:
        alerts = due_alerts(session, rt, as_of)
        mails = group_by_recipient(rt, alerts)
        result = [
            {"to": m.recipient, "alerts": [describe(a, rt.cfg.tz) for a in m.alerts]} for m in mails
        ]
        if dry_run or not alerts:
            return result
        sender = _sender(rt)
        outbox_ids = []
        for mail in mails:
            subject, text = render_mail(mail, rt.cfg.tz)
            row = outbox.enqueue(
                session, kind="alert", sender=sender, recipients=[mail.recipient], subject=subject, text=text,
                created_by="tracer", now=now,
            )
            session.flush()
            outbox_ids.append(row.id)
        delivered = {id(a) for m in mails for a in m.alerts}
        for alert in (a for a in alerts if id(a) in delivered):  # no recipient: not recorded
            session.add(
                AlertLog(request_id=alert.request.id, threshold=alert.threshold, day=alert.day, service=alert.service, created_at=now)
            )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another daemon sent them first
            return []
    for outbox_id in outbox_ids:
        outbox.deliver(engine, rt.cfg, outbox_id, now)
    return result


def _sender(rt) -> str:
    if rt.cfg.smtp is not None and rt.cfg.smtp.from_address:
        return rt.cfg.smtp.from_address
    if rt.cfg.mailboxes:
        return rt.cfg.mailboxes[0].address
    return "tracer@localhost"
