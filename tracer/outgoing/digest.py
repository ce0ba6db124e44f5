"""The weekly delay digest for the référent qualité (HTML + text, in French).

Per service: open requests, those due within 2 working days, overdue ones
(oldest first, with their age); the rolling quarter (the 13 weeks up to the
digest) rate on time and mean delay against the 80 % target, with the trend
against the 13 weeks before; a small inline PNG chart of the weekly rate; the
complaint topics of the week. Figures come from :func:`tracer.stats.compute`
over the periods printed in the digest, so ``tracer stats`` gives the same.
Inline CSS and tables only: it reads well in Outlook and Thunderbird.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock
from tracer.core import french
from tracer.reports import stats
from tracer.rules.vocabulary import topic_label
from tracer.store.models import Request
from tracer.register.requests import EXCLUDED

WEEKS = 13
TARGET = stats.TARGET


@dataclass
class Periods:
    current: tuple[date, date]
    previous: tuple[date, date]
    week: tuple[date, date]
    weeks_start: date


def periods(as_of: datetime, tz) -> Periods:
    today = clock.local(as_of, tz).date()
    end = today + timedelta(days=1)  # the digest's day is included
    start = end - timedelta(weeks=WEEKS)
    monday = today - timedelta(days=today.weekday())
    return Periods((start, end), (start - timedelta(weeks=WEEKS), start), (end - timedelta(days=7), end),
                   monday - timedelta(weeks=WEEKS - 1))


def build(session: Session, rt, as_of: datetime) -> dict:
    tz, cal = rt.cfg.tz, rt.calendar
    p = periods(as_of, tz)
    services = sorted({s for (s,) in session.execute(select(Request.service).distinct()) if s} | set(rt.cfg.service_names()))
    open_requests = session.execute(
        select(Request)
        .where(Request.category.not_in(EXCLUDED) | Request.category.is_(None))
        .where(Request.received_at <= as_of)
        .where(Request.answered_at.is_(None) | (Request.answered_at > as_of))
    ).scalars().all()
    current_all = stats.compute(session, rt, *p.current, as_of, ["service"])
    current = {g["key"]["service"]: g for g in current_all["groups"]}
    previous = {g["key"]["service"]: g for g in stats.compute(session, rt, *p.previous, as_of, ["service"])["groups"]}
    weekly = stats.compute(session, rt, p.weeks_start, p.current[1], as_of, ["week"])["groups"]
    topics_week = stats.compute(session, rt, *p.week, as_of, ["category", "topic"])["groups"]
    sections = []
    for service in services:
        mine = [r for r in open_requests if r.service == service]
        overdue = sorted((r for r in mine if r.deadline is not None and r.deadline < as_of), key=lambda r: r.received_at)
        due_soon = sorted(
            (r for r in mine if r.deadline is not None and r.deadline >= as_of and cal.working_days_left(as_of, r.deadline) <= 2),
            key=lambda r: r.deadline,
        )
        empty = {"received": 0, "rate_on_time": None, "mean_delay_days": None}
        cur, prev = current.get(service, empty), previous.get(service, empty)
        if not mine and service not in current:
            continue
        svc = rt.cfg.service(service)
        sections.append({
            "service": service,
            "label": (svc.label if svc else None) or service,
            "open": len(mine),
            "due_soon": [_item(r, as_of, tz, cal) for r in due_soon],
            "overdue": [_item(r, as_of, tz, cal) for r in overdue],
            "quarter": {k: cur.get(k) for k in ("received", "answered", "on_time", "late", "rate_on_time", "mean_delay_days")},
            "previous_quarter": {k: prev.get(k) for k in ("received", "rate_on_time", "mean_delay_days")},
        })
    topics = Counter()
    for g in topics_week:
        if g["key"]["category"] in ("reclamation", "suggestion"):
            topics[(g["key"]["category"], g["key"]["topic"] or "autre")] += g["received"]
    everything = current_all["total"]
    total = {
        "open": sum(s["open"] for s in sections),
        "due_soon": sum(len(s["due_soon"]) for s in sections),
        "overdue": sum(len(s["overdue"]) for s in sections),
        **{k: everything.get(k) for k in ("received", "answered", "on_time", "late", "rate_on_time", "mean_delay_days")},
    }
    return {
        "as_of": clock.iso_local(as_of, tz),
        "total": total,
        "quarter": {"from": p.current[0].isoformat(), "to": p.current[1].isoformat()},
        "previous_quarter": {"from": p.previous[0].isoformat(), "to": p.previous[1].isoformat()},
        "week": {"from": p.week[0].isoformat(), "to": p.week[1].isoformat()},
        "services": sections,
        "weekly_rate": [{"week": g["key"]["week"], "rate_on_time": g["rate_on_time"], "received": g["received"]} for g in weekly],
        "topics_of_week": [{"category": c, "topic": t, "count": n} for (c, t), n in sorted(topics.items(), key=lambda x: -x[1])],
        "target": TARGET,
        "base_url": page_base(rt.cfg),
    }


def page_base(cfg) -> str | None:
    """Where the digest's references link to: ``[web].base_url``, unless it is the local default.

    A link to 127.0.0.1 or localhost would open nothing on the référent's
    workstation, so the digest then keeps its plain references.
    """
    web = getattr(cfg, "web", None)
    base = (getattr(web, "base_url", None) or "").strip().rstrip("/") if web is not None else ""
    host = base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    if not base or host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        return None
    return base


def _page_url(data: dict, reference: str) -> str | None:
    base = data.get("base_url")
    return f"{base}/demandes/{reference}" if base else None


def _item(r: Request, as_of: datetime, tz, cal) -> dict:
    return {
        "reference": r.reference,
        "sender": r.sender_addr or r.sender_name,
        "subject": r.subject,
        "received_at": clock.iso_local(r.received_at, tz),
        "deadline": clock.iso_local(r.deadline, tz),
        "age_days": (as_of - r.received_at).days,
        "days_late": max(0, (as_of - r.deadline).days) if r.deadline is not None and r.deadline < as_of else 0,
        "working_days_left": cal.working_days_left(as_of, r.deadline),
    }


# --------------------------------------------------------------------------
# Rendering.


def _fr(value, suffix="") -> str:
    if value is None:
        return "—"
    return f"{value:.2f}".replace(".", ",") + suffix if isinstance(value, float) else f"{value}{suffix}"


def _trend(cur, prev) -> str:
    if cur is None or prev is None:
        return ""
    diff = cur - prev
    if abs(diff) < 0.005:
        return "stable"
    return f"{'+' if diff > 0 else '−'}{_fr(abs(diff))} point(s)"


def _d(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y") if iso else "—"


def _late(r: dict) -> str:
    n = r.get("days_late", 0)
    return f"{n} jour{'s' if n > 1 else ''} de retard"


def render_text(data: dict) -> str:
    lines = [f"Bilan hebdomadaire des délais — arrêté au {_d(data['as_of'])}", ""]
    q = data["quarter"]
    lines.append(f"Trimestre glissant : demandes reçues {french.period(q['from'], q['to'])} ; objectif : plus de 80 % dans les délais.")
    lines.append("")
    t = data.get("total")
    if t:
        lines.append("== Ensemble de la préfecture ==")
        lines.append(f"Demandes en cours : {t['open']} ; à échéance sous 2 jours ouvrés : {t['due_soon']} ; en retard : {t['overdue']}")
        lines.append(f"Reçues sur le trimestre : {t['received']} ; taux dans les délais : {_fr(t['rate_on_time'], ' %')} ; "
                     f"délai moyen : {_fr(t['mean_delay_days'], ' jours')}")
        lines.append("")
    for s in data["services"]:
        cur, prev = s["quarter"], s["previous_quarter"]
        lines.append(f"== {s['label']} ==")
        lines.append(f"Demandes en cours : {s['open']} ; à échéance sous 2 jours ouvrés : {len(s['due_soon'])} ; en retard : {len(s['overdue'])}")
        lines.append(
            f"Taux dans les délais : {_fr(cur['rate_on_time'], ' %')} (trimestre précédent : {_fr(prev['rate_on_time'], ' %')}"
            f"{', ' + _trend(cur['rate_on_time'], prev['rate_on_time']) if _trend(cur['rate_on_time'], prev['rate_on_time']) else ''})"
            f" ; délai moyen : {_fr(cur['mean_delay_days'], ' jours')}"
        )
        if s["overdue"]:
            lines.append("En retard (les plus anciennes d'abord) :")
            for r in s["overdue"]:
                lines.append(f"  - {r['reference']} reçue le {_d(r['received_at'])}, échéance le {_d(r['deadline'])}, "
                             f"{_late(r)}")
                lines.append(f"    {r['subject'] or '(sans objet)'}")
                if _page_url(data, r["reference"]):
                    lines.append(f"    {_page_url(data, r['reference'])}")
        if s["due_soon"]:
            lines.append("À échéance sous 2 jours ouvrés :")
            for r in s["due_soon"]:
                lines.append(f"  - {r['reference']} échéance le {_d(r['deadline'])}")
                lines.append(f"    {r['subject'] or '(sans objet)'}")
                if _page_url(data, r["reference"]):
                    lines.append(f"    {_page_url(data, r['reference'])}")
        lines.append("")
    if data["topics_of_week"]:
        lines.append("Thèmes des réclamations et suggestions de la semaine :")
        for t in data["topics_of_week"]:
            lines.append(f"  - {topic_label(t['topic'])} ({french.category(t['category'])}) : {t['count']}")
    lines += ["", "-- ", "tracer, suivi Qual-e-Pref"]
    return "\n".join(lines) + "\n"


CELL = "border:1px solid #cccccc;padding:4px 8px;font-size:13px"


def render_html(data: dict, chart_cid: str | None, chart_src: str | None = None) -> str:
    """The digest as HTML; the chart is the mail's inline part ``chart_cid`` or, in a preview, the file ``chart_src``."""
    e = html.escape
    q = data["quarter"]
    out = [
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'></head>",
        "<body style='font-family:Arial,Helvetica,sans-serif;color:#161616'>",
        f"<h2 style='color:#000091'>Bilan hebdomadaire des délais — arrêté au {_d(data['as_of'])}</h2>",
        f"<p>Trimestre glissant : demandes reçues {french.period(q['from'], q['to'])}. Objectif national : plus de 80 % de réponses dans les délais.</p>",
    ]
    t = data.get("total")
    if t:
        colour = "#18753c" if (t["rate_on_time"] or 0) > TARGET else "#ce0500"
        out.append("<h3 style='color:#000091;margin-bottom:4px'>Ensemble de la préfecture</h3>")
        out.append(f"<table style='border-collapse:collapse' cellpadding='0' cellspacing='0'><tr>"
                   f"<td style='{CELL}'>En cours</td><td style='{CELL}'><b>{t['open']}</b></td>"
                   f"<td style='{CELL}'>Échéance sous 2 jours ouvrés</td><td style='{CELL}'><b>{t['due_soon']}</b></td>"
                   f"<td style='{CELL}'>En retard</td><td style='{CELL}'><b>{t['overdue']}</b></td></tr><tr>"
                   f"<td style='{CELL}'>Reçues sur le trimestre</td><td style='{CELL}'><b>{t['received']}</b></td>"
                   f"<td style='{CELL}'>Taux dans les délais</td><td style='{CELL};color:{colour}'><b>{_fr(t['rate_on_time'], ' %')}</b></td>"
                   f"<td style='{CELL}'>Délai moyen</td><td style='{CELL}'>{_fr(t['mean_delay_days'], ' j')}</td></tr></table>")
    src = f"cid:{chart_cid[1:-1]}" if chart_cid else chart_src
    if src:
        out.append(f"<p><img src='{html.escape(src)}' alt='Taux hebdomadaire dans les délais' width='520' height='160'></p>")
    for s in data["services"]:
        cur, prev = s["quarter"], s["previous_quarter"]
        colour = "#18753c" if (cur["rate_on_time"] or 0) > TARGET else "#ce0500"
        out.append(f"<h3 style='color:#000091;margin-bottom:4px'>{e(s['label'])}</h3>")
        out.append(f"<table style='border-collapse:collapse' cellpadding='0' cellspacing='0'><tr>"
                   f"<td style='{CELL}'>En cours</td><td style='{CELL}'><b>{s['open']}</b></td>"
                   f"<td style='{CELL}'>Échéance sous 2 jours ouvrés</td><td style='{CELL}'><b>{len(s['due_soon'])}</b></td>"
                   f"<td style='{CELL}'>En retard</td><td style='{CELL}'><b>{len(s['overdue'])}</b></td></tr><tr>"
                   f"<td style='{CELL}'>Taux dans les délais</td><td style='{CELL};color:{colour}'><b>{_fr(cur['rate_on_time'], ' %')}</b></td>"
                   f"<td style='{CELL}'>Trimestre précédent</td><td style='{CELL}'>{_fr(prev['rate_on_time'], ' %')} {e(_trend(cur['rate_on_time'], prev['rate_on_time']))}</td>"
                   f"<td style='{CELL}'>Délai moyen</td><td style='{CELL}'>{_fr(cur['mean_delay_days'], ' j')}</td></tr></table>")
        head = f"<th style='{CELL};background:#eeeeee'>"
        for title, items, late in (("En retard (les plus anciennes d'abord)", s["overdue"], True),
                                   ("À échéance sous 2 jours ouvrés", s["due_soon"], False)):
            if not items:
                continue
            out.append(f"<p style='margin:8px 0 2px'><b>{title}</b></p><table style='border-collapse:collapse'>")
            out.append(f"<tr>{head}Référence</th>{head}Reçue le</th>{head}Échéance</th>"
                       f"{head}{'Jours de retard' if late else 'Jours ouvrés restants'}</th>{head}Objet</th></tr>")
            for r in items:
                url = _page_url(data, r["reference"])
                ref = f"<a href='{e(url)}' style='color:#000091'>{e(r['reference'])}</a>" if url else e(r["reference"])
                count = r.get("days_late", 0) if late else r.get("working_days_left")
                out.append(f"<tr><td style='{CELL}'>{ref}</td><td style='{CELL}'>{_d(r['received_at'])}</td>"
                           f"<td style='{CELL}'>{_d(r['deadline'])}</td><td style='{CELL};text-align:right'>{count}</td>"
                           f"<td style='{CELL}'>{e(r['subject'] or '')}</td></tr>")
            out.append("</table>")
    if data["topics_of_week"]:
        out.append("<h3 style='color:#000091'>Thèmes des réclamations et suggestions de la semaine</h3><ul>")
        for t in data["topics_of_week"]:
            out.append(f"<li>{e(topic_label(t['topic']))} ({e(french.category(t['category']))}) : {t['count']}</li>")
        out.append("</ul>")
    out.append("<p style='color:#666666;font-size:12px'>tracer, suivi Qual-e-Pref</p></body></html>")
    return "\n".join(out)


def chart_png(weekly: list[dict]) -> bytes:
    """Bars of the weekly rate, the 80 % target as a line (Pillow)."""
    from PIL import Image, ImageDraw

    width, height, left, bottom = 520, 160, 30, 20
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    plot_h = height - bottom - 10
    n = max(1, len(weekly))
    step = (width - left - 10) / n
    for i, w in enumerate(weekly):
        rate = w["rate_on_time"]
        if rate is None:
            continue
        x0 = left + i * step + 3
        y0 = 10 + plot_h * (1 - rate / 100)
        draw.rectangle([x0, y0, x0 + step - 6, 10 + plot_h], fill="#18753c" if rate > TARGET else "#ce0500")
    y_target = 10 + plot_h * (1 - TARGET / 100)
    draw.line([left, y_target, width - 10, y_target], fill="#000091", width=2)
    draw.text((2, y_target - 6), "80%", fill="#000091")
    draw.line([left, 10 + plot_h, width - 10, 10 + plot_h], fill="#666666")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def chart_data_uri(data: dict) -> str:
    """The weekly chart inside a preview page (``data:`` URI): the page is one file."""
    import base64

    return "data:image/png;base64," + base64.b64encode(chart_png(data["weekly_rate"])).decode("ascii")


def message(rt, data: dict, now: datetime) -> EmailMessage:
    sender = rt.cfg.smtp.from_address if rt.cfg.smtp and rt.cfg.smtp.from_address else (
        rt.cfg.mailboxes[0].address if rt.cfg.mailboxes else "tracer@localhost")
    from tracer.outgoing import outbox
    from tracer.outgoing.alerts import SENDER_NAME

    msg = EmailMessage()
    msg["From"] = outbox.from_header(sender, SENDER_NAME)
    msg["To"] = ", ".join(rt.cfg.digest.to)
    msg["Subject"] = f"[tracer] Bilan hebdomadaire des délais au {_d(data['as_of'])}"
    msg["Date"] = format_datetime(now.astimezone(clock.PARIS))
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    cid = make_msgid(domain="tracer.local")
    msg.set_content(render_text(data))
    msg.add_alternative(render_html(data, cid), subtype="html")
    msg.get_payload()[1].add_related(chart_png(data["weekly_rate"]), "image", "png", cid=cid, filename="taux-hebdomadaire.png")
    return msg


def send(engine, rt, as_of: datetime, now: datetime) -> dict:
    from tracer.outgoing import outbox

    if not rt.cfg.digest.to:
        return {"sent": False, "reason": "aucun destinataire ([digest] to)"}
    with Session(engine, expire_on_commit=False) as session:
        data = build(session, rt, as_of)
        msg = message(rt, data, now)
        row = outbox.enqueue(session, kind="digest", sender=msg["From"].addresses[0].addr_spec, recipients=list(rt.cfg.digest.to),
                             subject=msg["Subject"], text="", now=now, message=msg)
        session.commit()
        outbox_id = row.id
    return {"sent": outbox.deliver(engine, rt.cfg, outbox_id, now) == "sent", "outbox_id": outbox_id}


def send_once(engine, rt, as_of: datetime, now: datetime) -> dict:
    """The daemon's weekly send: skipped when this week's digest is already queued
    (several daemons on one database, or a restart just after the send)."""
    from tracer.store.models import Outbox

    monday = clock.local(now, rt.cfg.tz).date() - timedelta(days=clock.local(now, rt.cfg.tz).weekday())
    with Session(engine) as session:
        done = session.execute(
            select(Outbox.id).where(Outbox.kind == "digest", Outbox.created_at >= clock.start_of_day(monday, rt.cfg.tz))
        ).first()
    if done:
        return {"sent": False, "reason": "bilan de la semaine déjà envoyé"}
    return send(engine, rt, as_of, now)
