"""A recorded message read back from its raw bytes (until the retention purge):
its HTML part sanitised for display, its attachments for download.

Messages are addressed as the request's page lists them: the ``n``-th message
(from 1) of a request, found through the reader's scope of services.
"""

from __future__ import annotations

import email
import email.policy
import zlib

from sqlalchemy import select
from sqlmodel import Session

from tracer.core.errors import NotFound
from tracer.mail import parse
from tracer.register import requests as register
from tracer.store.models import Message, RawMessage

GONE = "le contenu de ce message n'est plus conservé (durée de conservation écoulée)"


def request_message(session: Session, reference: str, n: int, services: list[str] | None = None) -> Message:
    """The ``n``-th message (from 1, oldest first) of a request within ``services``."""
    request = register.get_request(session, reference, services)
    messages = session.execute(
        select(Message).where(Message.request_id == request.id).order_by(Message.received_at, Message.id)
    ).scalars().all()
    if not 1 <= n <= len(messages):
        raise NotFound(f"message {n} de la demande {request.reference} introuvable")
    return messages[n - 1]


def raw_of(session: Session, message: Message) -> bytes:
    row = session.execute(select(RawMessage).where(RawMessage.message_id == message.id)).scalars().first()
    if row is None or row.data is None or message.purged_at is not None:
        raise NotFound(GONE)
    return zlib.decompress(row.data)


def sanitised_html(raw: bytes) -> str | None:
    """The HTML part as it may be shown: no script, style, form, image or event
    attribute; links open nothing on their own (nh3, the ammonia sanitiser)."""
    import nh3

    try:
        markup = parse.parse(raw).body_html
    except parse.ParseError:
        return None
    if not markup:
        return None
    tags = set(nh3.ALLOWED_TAGS) - {"img"}
    return nh3.clean(markup, tags=tags, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def attachments(raw: bytes) -> list[tuple[str | None, str, bytes]]:
    """(name, content type, bytes) of each attachment, in the order ``parse`` lists them."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        content_type, disposition = parse._part_headers(part)
        ctype = parse._content_type(content_type)
        kind = (disposition or "").split(";")[0].strip().lower()
        name = parse._filename(content_type, disposition)
        payload = parse._payload(part)
        if kind == "attachment" or (name and not ctype.startswith("text/")) or not (
                ctype.startswith("text/") or ctype.startswith("message/")):
            out.append((name, ctype, payload))
    return out
