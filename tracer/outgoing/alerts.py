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


def _who(r: Request) -> str:
    """The sender as a person reads it: « Camille Bernard <c@…> », the name or the address alone, never « <—> »."""
    name, addr = (r.sender_name or "").strip(), (r.sender_addr or "").strip()
    if name and addr:
        return f"{name} <{addr}>"
    return name or addr or "expéditeur inconnu"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_mail(alert_mail: AlertMail, tz) -> tuple[str, str]:
    """The alert in French: one table per threshold (Échéance, days late or left), the sender below each row, totals."""
    alerts = alert_mail.alerts
    overdue = [a for a in alerts if a.threshold == "overdue"]
    soon = [a for a in alerts if a.threshold != "overdue"]
    subject = f"[tracer] {len(alerts)} demande(s) à traiter" + (f", dont {len(overdue)} en retard" if overdue else "")
    lines = ["Bonjour,", "", f"{len(alerts)} demande(s) arrivent à échéance ou l'ont dépassée"
             + (f", dont {len(overdue)} en retard." if overdue else "."), ""]
    for title, items, count_head in (("En retard (les plus anciennes d'abord)", overdue, "Jours ouvrés de retard"),
                                     ("Échéance proche", soon, "Jours ouvrés restants")):
        if not items:
            continue
        lines.append(f"{title} :")
        lines.append(f"{'Référence':<18} {'Reçue le':<10}  {'Échéance':<10}  {count_head:>22}  Objet")
        for a in sorted(items, key=lambda a: a.request.received_at if a.threshold == "overdue" else a.request.deadline):
            r = a.request
            count = -a.days_left if a.threshold == "overdue" else a.days_left
            lines.append(f"{r.reference:<18} {clock.local(r.received_at, tz):%d/%m/%Y}  {clock.local(r.deadline, tz):%d/%m/%Y}  "
                         f"{count:>22}  {_cut(r.subject or '(sans objet)', 60)}")
            lines.append(f"{'':<18} Expéditeur : {_who(r)}")
        lines.append("")
    lines.append(f"Total : {len(alerts)} demande(s) ; en retard : {len(overdue)} ; échéance proche : {len(soon)}.")
    lines += ["", "Consultez le registre : tracer cases --status overdue", "", "-- ", "tracer, suivi Qual-e-Pref"]
    return subject, "\n".join(lines)


SENDER_NAME = "Suivi Qual-e-Pref (tracer)"


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
                created_by="tracer", now=now, sender_name=SENDER_NAME,
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
