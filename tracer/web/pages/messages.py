"""One message of a request: its HTML version sanitised (``/demandes/{REF}/messages/{N}``)
and its attachments (``…/pieces/{K}``), downloaded, never shown inline."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracer.core.errors import NotFound
from tracer.mail import stored
from tracer.web.deps import ReaderUser, ReadSession
from tracer.web.rendering import render

router = APIRouter()


@router.get("/demandes/{reference}/messages/{n}")
def html_version(reference: str, n: int, request: Request, session: ReadSession, user: ReaderUser):
    message = stored.request_message(session, reference, n, user.services)
    markup = stored.sanitised_html(stored.raw_of(session, message))
    ref = reference.strip()
    return render(request, "message_html.html", reference=ref, message=message, n=n, markup=markup,
                  breadcrumb=[("Demandes", "/demandes"), (ref, f"/demandes/{ref}"), (f"Message {n}", None)])


@router.get("/demandes/{reference}/messages/{n}/pieces/{k}")
def attachment(reference: str, n: int, k: int, session: ReadSession, user: ReaderUser):
    message = stored.request_message(session, reference, n, user.services)
    items = stored.attachments(stored.raw_of(session, message))
    if not 1 <= k <= len(items):
        raise NotFound(f"pièce jointe {k} introuvable")
    name, _ctype, data = items[k - 1]
    name = name or f"piece-jointe-{k}"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or f"piece-jointe-{k}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    # always a download, never rendered by the browser (an HTML or SVG attachment runs nothing here)
    return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": disposition})
