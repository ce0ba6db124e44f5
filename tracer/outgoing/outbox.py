"""The outbox: the one place that sends mail (replies, acknowledgements, alerts, digests).

Every mail is built here (:func:`enqueue`: full RFC 5322 bytes, its own
Message-ID) and written to the ``outbox`` table in the transaction that
decides it, before any SMTP attempt. Delivery (:func:`deliver`) then goes:

    pending --(commit)--> sending --SMTP--> sent (commit), then a copy in Sent
                                  \\-> 4xx, refused, timeout, no [smtp]: pending, retried
                                  \\   after 1, 2, 4… minutes (at most 1 h apart)
                                  \\-> 5xx to the message: failed, not retried
                                  \\-> cut while the message was on the wire: stays sending

Guarantee: **at most once, never twice.** The row is committed as
``sending`` before the SMTP transaction starts, and only ``pending`` rows
are ever picked up. So if the process dies between the server's answer and
the commit of ``sent``, or if the connection breaks while the message itself
is being transmitted (the server may have accepted it), the row stays
``sending``: it is *not* retried automatically but listed as « état
incertain » by ``tracer outbox``; an agent who checked that it did not
arrive resends it with ``tracer outbox --retry --force ID`` (``--force``
also resends a ``failed`` one). Two processes cannot both claim a row: the
claim is one conditional UPDATE. The Message-ID is fixed when the mail is
queued, so a duplicate after a forced resend would be recognisable, and its
Sent copy is the same message for the poller.

Authentication and TLS failures are our configuration, not the message:
they are retried (with the same backoff) rather than marked failed. The
copy in the mailbox's Sent folder (replies and acknowledgements) never
blocks a reply: when IMAP fails, ``appended_at`` stays empty and
:func:`retry_due` tries again every 15 minutes for a week.

SMTP is async (aiosmtplib); the API here is synchronous (``asyncio.run``),
so it must not be called from inside a running event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP  # CRLF line ends: the canonical form, for SMTP and IMAP APPEND alike
from email.utils import format_datetime, make_msgid, parseaddr

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracer.core import clock, stopping
from tracer.core.errors import NotFound
from tracer.register import threads
from tracer.store.models import Outbox

log = logging.getLogger("tracer.outgoing.outbox")

MAX_BACKOFF = timedelta(hours=1)
COPIED_KINDS = ("reply", "ack")  # mails whose copy goes to the mailbox's Sent folder
APPEND_RETRY = timedelta(minutes=15)
COPY_ERROR = "copie impossible dans le dossier"
APPEND_GIVE_UP = timedelta(days=7)


def build_message(*, sender: str, recipients: list[str], subject: str, text: str, html: str | None = None,
                  in_reply_to: str | None = None, references=(), extra_headers: dict | None = None,
                  now: datetime, sender_name: str | None = None, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = from_header(sender, sender_name)
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now.astimezone(clock.PARIS))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in references if r]
    if refs:
        msg["References"] = " ".join(refs)
    for key, value in (extra_headers or {}).items():
        msg[key] = value
    # quoted-printable: 7-bit safe for any relay, still readable in the raw copy
    msg.set_content(text, cte="quoted-printable")
    if html:
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg


def from_header(address: str, name: str | None = None):
    """``Préfecture de la Haute-Savoie – Mission qualité <pref-qualite@…>`` (the bare address if it cannot be)."""
    if not name:
        return address
    from email.headerregistry import Address

    try:
        return Address(display_name=name, addr_spec=address)
    except (ValueError, IndexError, TypeError):
        return address


def enqueue(session: Session, *, kind: str, sender: str, recipients: list[str], subject: str, text: str,
            html: str | None = None, in_reply_to: str | None = None, references=(), request_id: int | None = None,
            mailbox: str | None = None, created_by: str = "tracer", now: datetime,
            extra_headers: dict | None = None, message: EmailMessage | None = None,
            sender_name: str | None = None, message_id: str | None = None) -> Outbox:
    """Queue a mail (the caller commits, with whatever decided to send it); ``sender`` is the address,
    ``sender_name`` the display name its From: carries.

    ``message_id``: chosen by the caller (a web form's idempotency key), so that the
    same mail queued twice is refused by the outbox's unique Message-ID."""
    if message is None:
        message = build_message(sender=sender, recipients=recipients, subject=subject, text=text, html=html,
                                in_reply_to=in_reply_to, references=references, extra_headers=extra_headers, now=now,
                                sender_name=sender_name, message_id=message_id)
    else:  # a message built by its caller (the digest, with its inline chart)
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
        if message["Date"] is None:
            message["Date"] = format_datetime(now.astimezone(clock.PARIS))
    row = Outbox(
        kind=kind, request_id=request_id, mailbox=mailbox, message_id=message["Message-ID"], sender=sender,
        recipients=list(recipients), subject=subject, data=message.as_bytes(policy=SMTP), status="pending",
        created_by=created_by, created_at=now, next_attempt_at=now,
    )
    session.add(row)
    return row


STOP_CHECK_SECONDS = 0.2  # how often an open SMTP session looks for a stop request

# a mail out of the queue: delivered, or cancelled by an erasure (register.retention)
DONE = ("sent", "cancelled")


class SmtpFailure(Exception):
    """Why a mail was not sent, in French. ``permanent``: no more retries (5xx);
    ``uncertain``: the connection broke while the message itself was being
    transmitted, so the server may have accepted it (never resent automatically)."""

    def __init__(self, message: str, permanent: bool = False, uncertain: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.uncertain = uncertain


def _tls_context(smtp) -> ssl.SSLContext:
    """Certificates are always verified; ``ca_file`` adds an internal authority."""
    try:
        return ssl.create_default_context(cafile=smtp.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise SmtpFailure(f"autorité de certification illisible ([smtp] ca_file = {smtp.ca_file}) : "
                          f"{exc.__class__.__name__}") from None


async def _send(smtp, row: Outbox, progress: dict | None = None) -> dict[str, str]:
    """One SMTP transaction; returns the recipients refused when others were accepted.
    ``progress["data"]`` turns true once the message itself starts on the wire."""
    progress = {} if progress is None else progress
    where = f"{smtp.host}:{smtp.port}"
    kwargs = {"hostname": smtp.host, "port": smtp.port, "timeout": smtp.timeout}
    if smtp.tls == "ssl":
        kwargs.update(use_tls=True, start_tls=False, tls_context=_tls_context(smtp))
    elif smtp.tls == "starttls":
        kwargs.update(use_tls=False, start_tls=True, tls_context=_tls_context(smtp))
    else:
        kwargs.update(use_tls=False, start_tls=False)
    if smtp.username:
        kwargs.update(username=smtp.username, password=smtp.password or "")
    client = aiosmtplib.SMTP(**kwargs)
    try:
        await client.connect()  # EHLO, STARTTLS and AUTH as configured
    except asyncio.CancelledError:
        client.close()
        raise
    aborted = False
    try:
        await client.mail(parseaddr(row.sender)[1] or row.sender)
        refused: dict[str, str] = {}
        accepted = []
        for recipient in row.recipients:
            address = parseaddr(recipient)[1] or recipient
            try:
                await client.rcpt(address)
                accepted.append(address)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[address] = f"{exc.code} {exc.message}"
        if not accepted:
            detail = " ; ".join(f"{a} : {answer}" for a, answer in refused.items())
            permanent = all(answer.startswith("5") for answer in refused.values())
            raise SmtpFailure(f"destinataire refusé par {where} : {detail}", permanent=permanent)
        progress["data"] = True  # from here on, the server may end up with the message
        try:
            await client.data(row.data)
        except aiosmtplib.SMTPResponseException:
            raise  # a clear answer to the message: not delivered
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            # The message was on the wire: the server may have accepted it.
            raise SmtpFailure(f"connexion interrompue par {where} pendant la transmission du message "
                              f"({exc.__class__.__name__}) : il a peut-être été reçu", uncertain=True) from None
        return refused
    except asyncio.CancelledError:
        aborted = True
        raise
    finally:
        if aborted:  # stopping: no polite QUIT to a server that may hang
            client.close()
        else:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


class Stopped(Exception):
    """The daemon was asked to stop while this mail's SMTP session was open."""

    def __init__(self, data_started: bool):
        super().__init__("arrêt demandé pendant l'envoi")
        self.data_started = data_started


async def _send_unless_stopped(smtp, row: Outbox) -> dict[str, str]:
    """``_send``, abandoned within a fraction of a second of a stop request
    (a server that hangs would otherwise hold the daemon up to ``timeout``)."""
    progress = {"data": False}
    task = asyncio.ensure_future(_send(smtp, row, progress))
    while True:
        done, _ = await asyncio.wait({task}, timeout=STOP_CHECK_SECONDS)
        if done:
            return task.result()
        if stopping.requested():
            task.cancel()
            try:
                await task
            except BaseException:  # noqa: BLE001 - cancelled, or failed while cancelling
                pass
            raise Stopped(progress["data"])


def _smtp_error(exc: Exception, smtp) -> SmtpFailure:
    """Any failure of one attempt, as a French line with the server's answer."""
    where = f"{smtp.host}:{smtp.port}"
    if isinstance(exc, SmtpFailure):
        return exc
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # our configuration, not the message: retried once the password is fixed
        return SmtpFailure(f"authentification refusée par le serveur SMTP {where} ({exc.code} {exc.message}) ; "
                           "vérifiez [smtp] username et le mot de passe")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = 500 <= exc.code < 600
        return SmtpFailure(f"le serveur {where} a répondu {exc.code} {exc.message}", permanent=permanent)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return SmtpFailure(f"délai dépassé ({smtp.timeout} s) avec le serveur SMTP {where}")
    text = f"{exc} {exc.__cause__ or ''}"
    if isinstance(exc, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return SmtpFailure(f"certificat du serveur SMTP {where} refusé ; indiquez l'autorité interne avec [smtp] ca_file")
    if isinstance(exc, aiosmtplib.SMTPException) and "AUTH extension" in str(exc):
        return SmtpFailure(f"le serveur SMTP {where} ne propose pas l'authentification sur cette connexion ; "
                           "vérifiez [smtp] tls (starttls ou ssl) et username")
    if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
        return SmtpFailure(f"le serveur SMTP {where} ne propose pas STARTTLS ; vérifiez [smtp] tls et port")
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, ConnectionError, OSError)):
        return SmtpFailure(f"connexion impossible au serveur SMTP {where} ({exc.__class__.__name__})")
    return SmtpFailure(f"échec d'envoi par {where} ({exc.__class__.__name__} : {exc})")


def deliver(engine: Engine, cfg, outbox: int | Outbox, now: datetime, force: bool = False) -> str:
    """Try to send one queued mail now; returns its new status.

    Only a ``pending`` row is sent; with ``force`` also a ``sending`` one
    (état incertain, after a crash) or a ``failed`` one, on an agent's say-so.
    """
    return _deliver(engine, cfg, outbox, now, force)[0]


def _deliver(engine: Engine, cfg, outbox: int | Outbox, now: datetime, force: bool = False) -> tuple[str, bool]:
    """``deliver``, also saying whether this call claimed the row (False: another
    process had it or it was done, and nothing was tried here)."""
    outbox_id = outbox.id if isinstance(outbox, Outbox) else outbox
    with Session(engine, expire_on_commit=False) as session:
        if stopping.requested():  # SIGTERM: no new SMTP session; the mail waits for the next run
            row = session.get(Outbox, outbox_id)
            if row is None:
                raise NotFound(f"envoi n° {outbox_id} introuvable dans la file d'envoi")
            return row.status, False
        allowed = ("pending", "sending", "failed") if force else ("pending",)
        claimed = session.execute(
            update(Outbox).where(Outbox.id == outbox_id, Outbox.status.in_(allowed))
            .values(status="sending", attempts=Outbox.attempts + 1)
        ).rowcount
        session.commit()  # from here on, a crash leaves "sending": never resent by itself
        row = session.get(Outbox, outbox_id)
        if row is None:
            raise NotFound(f"envoi n° {outbox_id} introuvable dans la file d'envoi")
        if not claimed:
            return row.status, False  # someone else has it, or it is done
        if cfg.smtp is None:
            return _back_to_pending(session, row, "aucun serveur SMTP configuré ([smtp])", now), True
        try:
            refused = asyncio.run(_send_unless_stopped(cfg.smtp, row))
        except Stopped as stop:
            if stop.data_started:
                row.last_error = "état incertain : arrêt du démon pendant la transmission du message, il a peut-être été reçu"
                session.add(row)
                session.commit()
                log.error("envoi %s dans un état incertain : arrêt pendant la transmission", row.id)
                return "sending", True
            row.status, row.last_error, row.next_attempt_at = "pending", "envoi interrompu par l'arrêt du démon", now
            session.add(row)
            session.commit()
            log.warning("envoi %s interrompu par l'arrêt du démon, repris au prochain démarrage", row.id)
            return "pending", True
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            failure = _smtp_error(exc, cfg.smtp)
            if failure.uncertain:
                row.last_error = f"état incertain : {failure}"
                session.add(row)
                session.commit()
                log.error("envoi %s dans un état incertain : %s", row.id, failure)
                return "sending", True
            if failure.permanent:
                row.status, row.last_error, row.next_attempt_at = "failed", str(failure), None
                session.add(row)
                alert_id = _reply_refused(session, cfg, row, str(failure), now) if row.kind == "reply" else None
                session.commit()
                log.error("envoi %s refusé définitivement : %s", row.id, without_addresses(str(failure)))
                if alert_id is not None:
                    _deliver(engine, cfg, alert_id, now)
                return "failed", True
            return _back_to_pending(session, row, str(failure), now), True
        row.status, row.sent_at, row.next_attempt_at = "sent", clock.now(), None
        row.last_error = ("envoyé, sauf à : " + " ; ".join(f"{a} ({answer})" for a, answer in refused.items())
                          if refused else None)
        session.add(row)
        if row.kind == "reply":  # accepted by the server: now, and only now, the reply answers its request
            threads.reply_delivered(session, _runtime(cfg), row.message_id, now, now)
        session.commit()
        if refused:
            log.warning("envoi %s : %d destinataire(s) refusé(s) : %s", row.id, len(refused),
                        without_addresses(" ; ".join(refused.values())))
    _append_copies(engine, cfg, [outbox_id], now)
    return "sent", True


_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def without_addresses(text: str) -> str:
    """A log line about a refused mail, without the citizen's address the server quoted."""
    return _ADDRESS.sub("<adresse>", text)


def _runtime(cfg):
    from tracer.services import Runtime

    return Runtime(cfg)


def _reply_refused(session: Session, cfg, row: Outbox, error: str, now: datetime) -> int | None:
    """A reply refused for good: recorded on its request (reopened if it had stopped
    the clock) and an alert queued to the service; returns the alert's outbox id."""
    request = threads.reply_failed(session, _runtime(cfg), row.message_id, error, now)
    if request is None:
        return None
    svc = cfg.service(request.service) if request.service else None
    recipients = list((svc.alert_to if svc is not None and svc.alert_to else None) or cfg.digest.to)
    if not recipients or not cfg.mailboxes:
        return None
    sender = row.sender or cfg.mailboxes[0].address
    text = "\n".join([
        "Bonjour,", "",
        f"La réponse à la demande {request.reference} n'a pas pu être remise : le serveur de messagerie l'a refusée "
        "définitivement.",
        f"Motif : {without_addresses(error)}", "",
        "La demande n'est pas répondue : elle reste dans le registre avec son échéance. Répondez par un autre moyen "
        f"(tracer answer {request.reference} --channel courrier|telephone|guichet …) ou corrigez l'adresse.", "",
        "-- ", "tracer",
    ])
    alert = enqueue(session, kind="alert", sender=sender, recipients=recipients,
                    subject=f"[tracer] Réponse non remise : {request.reference}", text=text, request_id=None,
                    created_by="tracer", now=now)
    session.flush()
    return alert.id


def _back_to_pending(session: Session, row: Outbox, error: str, now: datetime) -> str:
    """A temporary failure: retried after 1, 2, 4… minutes, at most an hour apart."""
    delay = min(timedelta(minutes=2 ** min(max(0, row.attempts - 1), 10)), MAX_BACKOFF)
    row.status, row.last_error, row.next_attempt_at = "pending", error, now + delay
    session.add(row)
    session.commit()
    log.warning("envoi %s en attente : %s", row.id, error)
    return "pending"


def _append_copies(engine: Engine, cfg, ids: list[int], now: datetime) -> None:
    """Replies and acknowledgements: a copy in their mailbox's Sent folder (flag \\Seen).

    Never blocks a reply: a failure is logged and ``appended_at`` stays empty;
    :func:`retry_due` tries again (one connection per mailbox, every 15 minutes).
    """
    from tracer.mail.mailbox import ImapMailbox, MailboxError

    if stopping.requested():  # the copy is retried by the next run
        return
    with Session(engine, expire_on_commit=False) as session:
        rows = session.execute(select(Outbox).where(Outbox.id.in_(ids), Outbox.status == "sent",
                                                    Outbox.kind.in_(COPIED_KINDS), Outbox.mailbox.is_not(None),
                                                    Outbox.appended_at.is_(None)).order_by(Outbox.id)).scalars().all()
        by_box: dict[str, list[Outbox]] = {}
        for row in rows:
            by_box.setdefault(row.mailbox, []).append(row)
        for name, todo in by_box.items():
            try:
                box = cfg.mailbox(name)
            except KeyError:
                continue  # mailbox removed from the configuration
            try:
                with ImapMailbox(box) as imap:
                    for row in todo:
                        imap.append(box.sent, row.data, flags=(b"\\Seen",), msg_time=row.sent_at)
                        row.appended_at = clock.now()
                        session.add(row)
                        session.commit()
            except MailboxError as exc:
                log.warning("copie dans %s/%s impossible, nouvel essai plus tard : %s", box.name, box.sent, exc)
                for row in todo:
                    if row.appended_at is None:
                        row.next_attempt_at = now + APPEND_RETRY
                        # the mail left; what failed is its copy: shown by « tracer status » and « tracer outbox »
                        row.last_error = f"{COPY_ERROR} « {box.sent} » de {box.name} : {exc}"[:2000]
                        session.add(row)
                session.commit()


def retry_due(engine: Engine, cfg, now: datetime, all_pending: bool = False, force_ids=()) -> list[dict]:
    """Send the pending mails whose time has come (every pending one with
    ``all_pending``), and the rows in ``force_ids`` whatever their state
    (except sent). Then retry the Sent-folder copies still missing.
    Returns ``[{"id", "status"}]`` for the mails tried."""
    with Session(engine) as session:
        query = select(Outbox.id).where(Outbox.status == "pending")
        if not all_pending:
            query = query.where((Outbox.next_attempt_at.is_(None)) | (Outbox.next_attempt_at <= now))
        ids = [i for i in session.execute(query.order_by(Outbox.id)).scalars() if i not in force_ids]
    results = []
    for i in ids:  # a row another process claimed meanwhile is its business, not tried here
        status, claimed = _deliver(engine, cfg, i, now)
        if claimed:
            results.append({"id": i, "status": status})
    for forced in force_ids:
        results.append({"id": forced, "status": deliver(engine, cfg, forced, now, force=True)})
    with Session(engine) as session:
        missing = session.execute(
            select(Outbox.id).where(Outbox.status == "sent", Outbox.kind.in_(COPIED_KINDS),
                                    Outbox.mailbox.is_not(None), Outbox.appended_at.is_(None),
                                    Outbox.sent_at >= now - APPEND_GIVE_UP,
                                    (Outbox.next_attempt_at.is_(None)) | (Outbox.next_attempt_at <= now))
        ).scalars().all()
    if missing:
        _append_copies(engine, cfg, list(missing), now)
    return results


def missing_copies(session: Session, tz) -> list[dict]:
    """Sent replies and acknowledgements whose copy is not (yet) in their mailbox's Sent folder."""
    rows = session.execute(select(Outbox).where(Outbox.status == "sent", Outbox.kind.in_(COPIED_KINDS),
                                                Outbox.mailbox.is_not(None), Outbox.appended_at.is_(None))
                           .order_by(Outbox.id)).scalars()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "mailbox": r.mailbox,
            "to": r.recipients,
            "subject": r.subject,
            "sent_at": clock.iso_local(r.sent_at, tz),
            "error": r.last_error if (r.last_error or "").startswith(COPY_ERROR) else None,
            "next_attempt_at": clock.iso_local(r.next_attempt_at, tz),
        }
        for r in rows
    ]


def listing(session: Session, tz) -> list[dict]:
    rows = session.execute(select(Outbox).where(Outbox.status.not_in(DONE)).order_by(Outbox.id)).scalars()
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
