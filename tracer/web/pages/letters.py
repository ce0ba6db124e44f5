"""« Enregistrer un courrier » (``/courriers/nouveau``) and « Réponses non rattachées »
(``/reponses-non-rattachees``, with « Rattacher »)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from tracer.core import clock
from tracer.core.errors import UserError
from tracer.register import requests as reg
from tracer.register import threads
from tracer.rules.vocabulary import CATEGORIES, topic_ids
from tracer.web.deps import ReadSession, RuntimeDep, User, WriteSession, require
from tracer.web.rendering import redirect, render

router = APIRouter()
Registrar = Annotated[User, Depends(require("register_paper"))]
Linker = Annotated[User, Depends(require("link"))]


def _services(rt, user) -> list[str]:
    return list(user.services) if user.services is not None else rt.cfg.service_names()


def _letter_page(request: Request, rt, user, values: dict | None = None, error: str | None = None, status_code=200):
    return render(request, "courrier.html", status_code=status_code, services=_services(rt, user),
                  categories=CATEGORIES, topics=topic_ids(), values=values or {}, error=error,
                  today=clock.local(clock.now(), rt.cfg.tz).date().isoformat(),
                  breadcrumb=[("Demandes", "/demandes"), ("Enregistrer un courrier", None)])


@router.get("/courriers/nouveau")
def letter_form(request: Request, rt: RuntimeDep, user: Registrar):
    return _letter_page(request, rt, user)


@router.post("/courriers/nouveau")
def letter_register(request: Request, session: WriteSession, rt: RuntimeDep, user: Registrar,
                    arrivee: str = Form(...), expediteur: str = Form(""), objet: str = Form(...),
                    service: str = Form(...), categorie: str = Form(""), theme: str = Form(""),
                    courriel: str = Form(""), anonyme: str = Form("")):
    values = {"arrivee": arrivee, "expediteur": expediteur, "objet": objet, "service": service, "categorie": categorie,
              "theme": theme, "courriel": courriel, "anonyme": bool(anonyme)}
    if service not in _services(rt, user):
        return _letter_page(request, rt, user, values, "Choisissez l’un de vos services.", 400)
    try:
        created = reg.register_paper(session, rt, received=arrivee, sender=expediteur, subject=objet, service=service,
                                     now=clock.now(), category=categorie or None, topic=theme or None,
                                     sender_addr=courriel.strip() or None, by=user.login, anonymous=bool(anonyme))
        session.flush()
        reference = created.reference
    except UserError as exc:
        session.rollback()
        message = str(exc).replace("--received : ", "Date d’arrivée : ").replace("--sender : ", "")
        message = message.replace("--anonymous : ", "").replace("(retirez --email)", "(retirez l’adresse)")
        message = message.replace("(ou --anonymous)", "(ou cochez « anonyme »)")
        return _letter_page(request, rt, user, values, message[:1].upper() + message[1:], 400)
    return redirect(f"/demandes/{reference}", f"Courrier enregistré : {reference}.")


@router.get("/reponses-non-rattachees")
def unlinked_page(request: Request, session: ReadSession, rt: RuntimeDep, user: Linker):
    items = threads.unlinked(session, rt, services=user.services)
    return render(request, "non_rattachees.html", items=items,
                  breadcrumb=[("Demandes", "/demandes"), ("Réponses non rattachées", None)])


@router.post("/reponses-non-rattachees/rattacher")
def unlinked_link(session: WriteSession, rt: RuntimeDep, user: Linker, reference: str = Form(...),
                  message_id: str = Form(...)):
    try:
        request = threads.link(session, rt, reference, message_id, user.login, clock.now(), services=user.services)
        done = request.reference
    except UserError as exc:
        session.rollback()
        text = str(exc)
        return redirect("/reponses-non-rattachees", "Erreur : " + text[:1].upper() + text[1:] + ".")
    return redirect("/reponses-non-rattachees", f"Message rattaché à {done}.")
