"""« Répondre » (``/demandes/{REF}/repondre``): a template, its values, the text as it
will leave (editable), a live preview (htmx), then the outbox.

The form carries an idempotency key (``cle``): the reply's Message-ID is made
from it, so sending the form twice (double click, reload) queues one mail. The
request page then shows the outbox's state of the reply (« Envoyée », « En attente »).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from tracer.core import clock
from tracer.core.errors import NotFound, UserError
from tracer.register import requests as reg
from tracer.store import db
from tracer.web.deps import ReadSession, RuntimeDep, User, require
from tracer.web.rendering import redirect, render

router = APIRouter()
Answerer = Annotated[User, Depends(require("answer"))]
VALUE_PREFIX = "valeur_"


def templates_for(rt, category: str | None) -> list:
    """Every template, those meant for the request's category first."""
    from tracer.outgoing import templates

    items = templates.list_templates(rt.cfg)
    return sorted(items, key=lambda t: (category not in t.categories, t.title.lower()))


def _draft(rt, engine, user, reference: str, template: str | None, values: dict, text: str | None,
           force: bool = False) -> dict:
    """The form's state: the fields of the template, the text and its preview (or the French error)."""
    from tracer.outgoing import reply, templates

    draft = {"template": template, "values": values, "fields": [], "text": text or "", "preview": None, "error": None,
             "force": force}
    if not template:
        return draft
    try:
        draft["fields"] = templates.fields(rt.cfg, template)
        now = clock.now()
        if text is None:  # a template or a value changed: its text, as rendered
            rendered = reply.send_reply(engine, rt, reference, template, user.login, values, now, preview=True,
                                        force=force, services=user.services)
            draft["text"] = rendered["preview"].split("\n\n", 1)[1]
        draft["preview"] = reply.send_reply(engine, rt, reference, template, user.login, values, now, preview=True,
                                            force=force, text=draft["text"], services=user.services)["preview"]
    except NotFound as exc:
        if "demande" in str(exc):
            raise
        draft["error"] = str(exc)
    except UserError as exc:
        draft["error"] = _french(exc)
    return draft


def _french(exc: Exception) -> str:
    """A service message in the words of this form (no command-line option in a page)."""
    text = str(exc).replace("fournissez-la avec --set", "remplissez le champ")
    text = text.replace("(tracer templates), ", "").replace("ou ajoutez --force", "ou cochez « Utiliser ce modèle malgré la catégorie »")
    return text[:1].upper() + text[1:]


async def _form(request: Request) -> tuple[str | None, dict, str | None, str, bool]:
    form = await request.form()
    values = {k[len(VALUE_PREFIX):]: v for k, v in form.items() if k.startswith(VALUE_PREFIX) and isinstance(v, str)}
    text = form.get("texte")
    return (form.get("modele") or None, values, text if isinstance(text, str) else None, str(form.get("cle") or ""),
            bool(form.get("forcer")))


@router.get("/demandes/{reference}/repondre")
def reply_page(reference: str, request: Request, session: ReadSession, rt: RuntimeDep, user: Answerer,
               modele: str | None = None, forcer: str | None = None):
    case = reg.show_case(session, rt, reference, clock.now(), services=user.services)
    items = templates_for(rt, case["category"])
    template = modele if modele in {t.name for t in items} else None
    draft = _draft(rt, request.app.state.engine, user, case["reference"], template, {}, None, bool(forcer))
    return render(request, "repondre.html", case=case, templates=items, draft=draft, cle=secrets.token_urlsafe(24),
                  breadcrumb=[("Demandes", "/demandes"), (case["reference"], f"/demandes/{case['reference']}"),
                              ("Répondre", None)])


@router.post("/demandes/{reference}/repondre/apercu")
async def reply_preview(reference: str, request: Request, rt: RuntimeDep, user: Answerer, etape: str = "modele"):
    """htmx: ``etape=modele`` (template or a value changed) renders the text again;
    ``etape=texte`` (the agent edits it) previews the text as typed."""
    from starlette.concurrency import run_in_threadpool

    template, values, text, _key, force = await _form(request)
    draft = await run_in_threadpool(_draft, rt, request.app.state.engine, user, reference, template, values,
                                    text if etape == "texte" else None, force)
    return render(request, "repondre_redaction.html" if etape == "modele" else "repondre_apercu.html",
                  draft=draft, reference=reference)


@router.post("/demandes/{reference}/repondre")
async def reply_send(reference: str, request: Request, rt: RuntimeDep, user: Answerer):
    from starlette.concurrency import run_in_threadpool

    template, values, text, key, force = await _form(request)
    result = await run_in_threadpool(_send, rt, request.app.state.engine, user, reference, template, values, text, key,
                                     force)
    if isinstance(result, str):  # refused: the form again, with the reason
        draft = await run_in_threadpool(_draft, rt, request.app.state.engine, user, reference, template, values, text,
                                        force)
        draft["error"] = result
        with db.read_scope(request.app.state.engine) as session:
            case = reg.show_case(session, rt, reference, clock.now(), services=user.services)
        return render(request, "repondre.html", status_code=400, case=case, templates=templates_for(rt, case["category"]),
                      draft=draft, cle=key or secrets.token_urlsafe(24),
                      breadcrumb=[("Demandes", "/demandes"), (case["reference"], f"/demandes/{case['reference']}"),
                                  ("Répondre", None)])
    return redirect(f"/demandes/{result['reference']}", sent_notice(result))


def _send(rt, engine, user, reference: str, template: str | None, values: dict, text: str | None, key: str,
          force: bool = False):
    from tracer.outgoing import reply

    if not template:
        return "Choisissez une réponse type."
    try:
        message_id = reply.idempotent_message_id(key, rt, reference)
        return reply.send_reply(engine, rt, reference, template, user.login, values, clock.now(), text=text,
                                message_id=message_id, force=force, services=user.services)
    except NotFound as exc:
        if "demande" in str(exc):
            raise
        return str(exc)
    except UserError as exc:
        return _french(exc)


def sent_notice(result: dict) -> str:
    """What the outbox says of the reply, never a false success."""
    status = result["status"]
    if status == "sent":
        return "Réponse envoyée."
    if status == "pending":
        return f"Réponse enregistrée, en attente d'envoi ({result.get('error') or 'serveur de messagerie indisponible'}) : elle partira automatiquement."
    if status == "uncertain":
        return "Réponse enregistrée ; l'envoi est dans un état incertain : vérifiez auprès de l'administrateur avant tout renvoi."
    return f"Erreur : réponse enregistrée mais refusée par le serveur de messagerie ({result.get('error') or 'refus'})."
