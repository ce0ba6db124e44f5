"""Actions on one request (forms of « Une demande »): reclassify, transfer, assign,
answer outside e-mail, link a sent message.

Each handler: the role may do it (``require``, else 403), the request is found
through the user's scope (``services=user.services``, else 404), one service
function with ``by=user.login``, then back to the request with a French notice.
A refused action (UserError) comes back as the notice's error form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from tracer.core import clock, french
from tracer.core.errors import NotFound, UserError
from tracer.register import accounts
from tracer.register import requests as reg
from tracer.register import threads
from tracer.web.deps import RuntimeDep, User, WriteSession, require
from tracer.web.rendering import redirect, service_label

router = APIRouter()


def _back(reference: str, message: str, error: bool = False):
    return redirect(f"/demandes/{reference}", ("Erreur : " if error else "") + message)


def _refused(reference: str, exc: UserError):
    if isinstance(exc, NotFound) and "demande" in str(exc):
        raise exc  # outside the scope: 404
    return _back(reference, str(exc)[:1].upper() + str(exc)[1:] + ".", error=True)


@router.post("/demandes/{reference}/reclasser")
def reclassify(reference: str, session: WriteSession, rt: RuntimeDep,
               user: Annotated[User, Depends(require("reclassify"))],
               categorie: str = Form(...), theme: str = Form(""), motif: str = Form("")):
    request = reg.get_request(session, reference, user.services)
    try:
        reg.reclassify(session, rt, request.reference, categorie, user.login, clock.now(), reason=motif.strip() or None,
                       topic=theme or None)
    except UserError as exc:
        session.rollback()
        return _refused(request.reference, exc)
    return _back(request.reference, f"Demande reclassée en « {french.category(categorie)} ».")


@router.post("/demandes/{reference}/transferer")
def transfer(reference: str, request: Request, session: WriteSession, rt: RuntimeDep,
             user: Annotated[User, Depends(require("transfer"))], service: str = Form(...), motif: str = Form("")):
    found = reg.get_request(session, reference, user.services)
    try:
        reg.transfer(session, rt, found.reference, service, user.login, clock.now(), reason=motif.strip() or None)
    except UserError as exc:
        session.rollback()
        return _refused(found.reference, exc)
    notice = f"Demande {found.reference} transférée au service « {service_label(request, service)} »."
    if user.services is not None and service not in user.services:
        return redirect("/demandes", notice)  # no longer in this agent's services
    return _back(found.reference, notice)


@router.post("/demandes/{reference}/attribuer")
def assign(reference: str, session: WriteSession, rt: RuntimeDep,
           user: Annotated[User, Depends(require("assign"))], agent: str = Form("")):
    """``agent``: a login, « moi » (the signed-in user) or empty (take it back)."""
    found = reg.get_request(session, reference, user.services)
    login = user.login if agent == "moi" else (agent.strip() or None)
    if login is not None and login != user.login:
        allowed = {a.login for a in accounts.assignable(session, found.service)}
        if login not in allowed:
            return _back(found.reference, f"Le compte « {login} » ne traite pas ce service.", error=True)
    try:
        reg.assign(session, rt, found.reference, login, user.login, clock.now())
    except UserError as exc:
        session.rollback()
        return _refused(found.reference, exc)
    if login is None:
        return _back(found.reference, "La demande n'est plus attribuée.")
    return _back(found.reference, "La demande vous est attribuée." if login == user.login else f"Demande attribuée à {login}.")


@router.post("/demandes/{reference}/reponse-hors-courriel")
def answer_outside(reference: str, session: WriteSession, rt: RuntimeDep,
                   user: Annotated[User, Depends(require("answer"))], canal: str = Form(...),
                   date: str = Form(""), note: str = Form("")):
    found = reg.get_request(session, reference, user.services)
    try:
        at = french.parse_instant(date, rt.cfg.tz)
    except ValueError:
        return _back(found.reference, f"Date de la réponse invalide « {date} » (JJ/MM/AAAA HH:MM attendu).", error=True)
    try:
        threads.answer_outside(session, rt, found.reference, canal, at, user.login, note, clock.now())
    except UserError as exc:
        session.rollback()
        return _refused(found.reference, UserError(str(exc).replace("--at : ", "").replace("--channel : ", "")))
    return _back(found.reference, f"Réponse ({french.channel(canal)}) enregistrée le {french.when(at, rt.cfg.tz)}.")


@router.post("/demandes/{reference}/lier")
def link(reference: str, session: WriteSession, rt: RuntimeDep,
         user: Annotated[User, Depends(require("link"))], message_id: str = Form(...), retour: str = Form("")):
    found = reg.get_request(session, reference, user.services)
    try:
        threads.link(session, rt, found.reference, message_id, user.login, clock.now(), services=user.services)
    except UserError as exc:
        session.rollback()
        if retour == "non-rattachees":
            return redirect("/reponses-non-rattachees", "Erreur : " + str(exc))
        return _refused(found.reference, exc)
    if retour == "non-rattachees":
        return redirect("/reponses-non-rattachees", f"Message rattaché à {found.reference}.")
    return _back(found.reference, "Message envoyé rattaché à la demande.")
