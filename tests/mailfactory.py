"""Build test messages (RFC 5322 bytes) without any template engine."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

_counter = 0


def make_id(tag: str = "m") -> str:
    global _counter
    _counter += 1
    return f"<{tag}-{_counter}-test@example.org>"


def make_mail(
    *,
    sender: str = "Jeanne Martin <jeanne.martin@example.org>",
    to: str = "pref-qualite@haute-savoie.gouv.fr",
    cc: str | None = None,
    subject: str = "Demande d'information sur le renouvellement de mon titre de séjour",
    body: str = "Bonjour,\n\nQuels documents dois-je fournir pour renouveler mon titre de séjour ?\n\nCordialement,\nJeanne Martin\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | tuple[str, ...] = (),
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    if message_id is not False:
        msg["Message-ID"] = message_id or make_id()
    if date is not None:
        msg["Date"] = format_datetime(date)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


def reply_to(original_id: str, *, subject: str = "RE: votre demande", sender: str = "pref-qualite@haute-savoie.gouv.fr",
             to: str = "jeanne.martin@example.org", body: str | None = None, references: list[str] | None = None,
             in_reply_to: str | None | bool = True, message_id: str | None = None, headers: dict | None = None) -> bytes:
    return make_mail(
        sender=sender,
        to=to,
        subject=subject,
        body=body or "Madame,\n\nVeuillez trouver ci-dessous la liste des pièces à fournir.\n\nLa mission qualité\n",
        message_id=message_id,
        in_reply_to=original_id if in_reply_to is True else (in_reply_to or None),
        references=references if references is not None else [original_id],
        headers=headers,
    )
