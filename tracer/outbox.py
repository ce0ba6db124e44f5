"""The outbox: the one place that sends mail (replies, acknowledgements, alerts, digests).

Every mail is written to the ``outbox`` table, in the transaction that
decides it, before any SMTP attempt. Delivery then goes:

    pending --(commit)--> sending --SMTP--> sent
                                  \\-> 4xx, refused, timeout: pending again, backoff
                                  \\-> 5xx: failed (no more retries, shown to agents)

Guarantee: **at most once, never twice.** The row is committed as
``sending`` before the SMTP transaction starts. If the process dies between
the server's answer and the commit of ``sent``, the row stays ``sending``:
it is *not* retried automatically (it may have been delivered) but listed as
« état incertain » by ``tracer outbox``; an agent who checked that it did not
arrive resends it with ``tracer outbox --retry --force ID``. The Message-ID
is fixed when the mail is queued, so a duplicate would be recognisable.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracer import clock
from tracer.models import Outbox

log = logging.getLogger("tracer.outbox")

MAX_BACKOFF = timedelta(hours=1)


def build_message(*, sender: str, recipients: list[str], subject: str, text: str, html: str | None = None,
                  in_reply_to: str | None = None, references=(), extra_headers: dict | None = None,
                  now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now.astimezone(clock.PARIS))
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in references if r]
    if refs:
        msg["References"] = " ".join(refs)
    for key, value in (extra_headers or {}).items():
        msg[key] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def enqueue(session: Session, *, kind: str, sender: str, recipients: list[str], subject: str, text: str,
            html: str | None = None, in_reply_to: str | None = None, references=(), request_id: int | None = None,
            mailbox: str | None = None, created_by: str = "tracer", now: datetime,
            extra_headers: dict | None = None, message: EmailMessage | None = None) -> Outbox:
    """Queue a mail (the caller commits, with whatever decided to send it)."""
    if message is None:
        message = build_message(sender=sender, recipients=recipients, subject=subject, text=text, html=html,
                                in_reply_to=in_reply_to, references=references, extra_headers=extra_headers, now=now)
    row = Outbox(
        kind=kind, request_id=request_id, mailbox=mailbox, message_id=message["Message-ID"], sender=sender,
        recipients=list(recipients), subject=subject, data=bytes(message), status="pending", created_by=created_by,
        created_at=now, next_attempt_at=now,
    )
    session.add(row)
    return row


class SmtpFailure(Exception):
    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


async def _send(smtp, row: Outbox) -> None:
    kwargs = {"hostname": smtp.host, "port": smtp.port, "timeout": smtp.timeout}
    if smtp.tls == "ssl":
        kwargs.update(use_tls=True, tls_context=ssl.create_default_context(cafile=smtp.ca_file or None))
    elif smtp.tls == "starttls":
        kwargs.update(start_tls=True, tls_context=ssl.create_default_context(cafile=smtp.ca_file or None))
    else:
        kwargs.update(use_tls=False, start_tls=False)
    if smtp.username:
        kwargs.update(username=smtp.username, password=smtp.password or "")
    await aiosmtplib.send(row.data, sender=row.sender, recipients=list(row.recipients), **kwargs)


def _smtp_error(exc: Exception, smtp) -> SmtpFailure:
    where = f"{smtp.host}:{smtp.port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [getattr(r, "code", 550) for r in exc.recipients]
        permanent = all(500 <= c < 600 for c in codes)
        detail = "; ".join(f"{getattr(r, 'code', '?')} {getattr(r, 'message', '')}".strip() for r in exc.recipients)
        return SmtpFailure(f"destinataire refusé par {where} : {detail}", permanent)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = 500 <= exc.code < 600
        return SmtpFailure(f"le serveur {where} a répondu {exc.code} {exc.message}", permanent)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return SmtpFailure(f"délai dépassé avec le serveur SMTP {where}", False)
    if isinstance(exc, (aiosmtplib.SMTPConnectError, ConnectionError, OSError)):
        return SmtpFailure(f"connexion impossible au serveur SMTP {where}", False)
    return SmtpFailure(f"échec d'envoi par {where} ({exc.__class__.__name__})", False)


def deliver(engine: Engine, cfg, outbox_id: int, now: datetime, force: bool = False) -> str:
    """Try to send one queued mail; returns its new status."""
    with Session(engine, expire_on_commit=False) as session:
        allowed = ("pending", "sending") if force else ("pending",)
        claimed = session.execute(
            update(Outbox).where(Outbox.id == outbox_id, Outbox.status.in_(allowed))
            .values(status="sending", attempts=Outbox.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            return session.get(Outbox, outbox_id).status  # someone else has it, or it is done
        row = session.get(Outbox, outbox_id)
        if cfg.smtp is None:
            return _back_to_pending(session, row, "aucun serveur SMTP configuré ([smtp])", now)
        try:
            asyncio.run(_send(cfg.smtp, row))
        except Exception as exc:
            failure = _smtp_error(exc, cfg.smtp)
            if failure.permanent:
                row.status, row.last_error, row.next_attempt_at = "failed", str(failure), None
                session.add(row)
                session.commit()
                log.error("envoi %s refusé définitivement : %s", row.id, failure)
                return "failed"
            return _back_to_pending(session, row, str(failure), now)
        row.status, row.sent_at, row.last_error = "sent", clock.now(), None
        session.add(row)
        session.commit()
    _append_to_sent(engine, cfg, outbox_id)
    return "sent"


def _back_to_pending(session: Session, row: Outbox, error: str, now: datetime) -> str:
    delay = min(timedelta(minutes=2 ** max(0, row.attempts - 1)), MAX_BACKOFF)
    row.status, row.last_error, row.next_attempt_at = "pending", error, now + delay
    session.add(row)
    session.commit()
    log.warning("envoi %s en attente : %s", row.id, error)
    return "pending"


def _append_to_sent(engine: Engine, cfg, outbox_id: int) -> None:
    """Replies and acknowledgements: a copy in the mailbox's Sent folder (flag \\Seen)."""
    from tracer.mailbox import ImapMailbox, MailboxError

    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Outbox, outbox_id)
        if row.kind not in ("reply", "ack") or not row.mailbox or row.appended_at is not None:
            return
        try:
            box = cfg.mailbox(row.mailbox)
        except KeyError:
            return
        try:
            with ImapMailbox(box) as imap:
                imap.append(box.sent, row.data, flags=(b"\\Seen",), msg_time=row.sent_at)
        except MailboxError as exc:
            log.warning("copie de l'envoi %s dans %s/%s impossible : %s", row.id, box.name, box.sent, exc)
            return
        row.appended_at = clock.now()
        session.add(row)
        session.commit()


def retry_due(engine: Engine, cfg, now: datetime, all_pending: bool = False, force_ids=()) -> list[dict]:
    """Send the pending mails whose time has come (all of them with ``all_pending``)."""
    with Session(engine) as session:
        query = select(Outbox.id).where(Outbox.status == "pending")
        if not all_pending:
            query = query.where((Outbox.next_attempt_at.is_(None)) | (Outbox.next_attempt_at <= now))
        ids = list(session.execute(query.order_by(Outbox.id)).scalars())
    results = [{"id": i, "status": deliver(engine, cfg, i, now)} for i in ids]
    for forced in force_ids:
        results.append({"id": forced, "status": deliver(engine, cfg, forced, now, force=True)})
    return results


def listing(session: Session, tz) -> list[dict]:
    rows = session.execute(select(Outbox).where(Outbox.status != "sent").order_by(Outbox.id)).scalars()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "status": "uncertain" if r.status == "sending" else r.status,
            "to": r.recipients,
            "subject": r.subject,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "next_attempt_at": clock.iso_local(r.next_attempt_at, tz),
            "created_at": clock.iso_local(r.created_at, tz),
            "created_by": r.created_by,
        }
        for r in rows
    ]
