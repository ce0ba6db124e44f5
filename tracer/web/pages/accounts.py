"""« Comptes » (``/comptes``): the administrator creates, changes and disables accounts, resets passwords.

The same service functions as ``tracer user …`` (``tracer.register.accounts``).
Only ``admin`` sees the page; a new or reset password is shown once, in the
answer to the form, and never stored in clear.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request

from tracer.core import clock
from tracer.core.errors import UserError
from tracer.register import accounts
from tracer.web.deps import CurrentUser, ReadSession, RuntimeDep, User, WriteSession
from tracer.web.rendering import redirect, render

router = APIRouter()


def admin_only(user: CurrentUser) -> User:
    if user.role != "admin":
        raise HTTPException(403, "La gestion des comptes est réservée à l'administrateur.")
    return user


Admin = Annotated[User, Depends(admin_only)]


def _page(request: Request, session, rt, status_code: int = 200, **extra):
    views = [accounts.account_view(a, rt.cfg.tz) for a in accounts.list_accounts(session)]
    attempts = [{"at": clock.iso_local(a.at, rt.cfg.tz), "login": a.login, "address": a.address, "success": a.success}
                for a in accounts.recent_sign_ins(session)]
    return render(request, "referent/comptes.html", status_code=status_code, accounts=views, attempts=attempts,
                  roles=accounts.ROLES, services=rt.cfg.service_names(), breadcrumb=[("Comptes", None)], **extra)


@router.get("/comptes")
def accounts_page(request: Request, session: ReadSession, rt: RuntimeDep, user: Admin):
    return _page(request, session, rt)


class AccountForm:
    """The fields of the account forms (each form sends those it has)."""

    def __init__(self, identifiant: str = Form(""), role: str = Form(""), services: list[str] = Form([]),
                 nom: str = Form(""), courriel: str = Form("")):
        self.data = {"login": identifiant.strip(), "role": role, "services": services, "name": nom, "email": courriel}


Fields = Annotated[AccountForm, Depends()]


@router.post("/comptes")
def create(request: Request, session: WriteSession, rt: RuntimeDep, user: Admin, form: Fields):
    """A new account; its first password is generated and shown once."""
    f = form.data
    now = clock.now()
    try:
        accounts.add_account(session, f["login"], f["role"], now, password=None, services=f["services"],
                             name=f["name"], email=f["email"], known_services=rt.cfg.service_names(), by=user.login)
        password = accounts.reset_password(session, f["login"], now, by=user.login)
    except UserError as exc:
        return _page(request, session, rt, status_code=400, error=str(exc), draft=f)
    return _page(request, session, rt, shown_once={"login": f["login"], "password": password, "created": True})


@router.post("/comptes/modification")
def change(request: Request, session: WriteSession, rt: RuntimeDep, user: Admin, form: Fields):
    f = form.data
    try:
        account = accounts.update_account(session, f["login"], clock.now(), role=f["role"] or None,
                                          services=f["services"], known_services=rt.cfg.service_names(),
                                          by=user.login)
    except UserError as exc:
        return _page(request, session, rt, status_code=400, error=str(exc))
    return redirect("/comptes", f"Compte {account.login} modifié : {accounts.ROLE_FR[account.role]}"
                                + (f", services {', '.join(account.services)}" if account.services else "") + ".")


@router.post("/comptes/mot-de-passe")
def reset(request: Request, session: WriteSession, rt: RuntimeDep, user: Admin, form: Fields):
    f = form.data
    try:
        password = accounts.reset_password(session, f["login"], clock.now(), by=user.login)
    except UserError as exc:
        return _page(request, session, rt, status_code=400, error=str(exc))
    return _page(request, session, rt, shown_once={"login": f["login"], "password": password, "created": False})


@router.post("/comptes/desactivation")
def disable(request: Request, session: WriteSession, rt: RuntimeDep, user: Admin, form: Fields):
    f = form.data
    if f["login"] == user.login:
        return _page(request, session, rt, status_code=400,
                     error="vous ne pouvez pas désactiver votre propre compte (un autre administrateur le peut)")
    try:
        login = accounts.disable_account(session, f["login"], clock.now(), by=user.login).login
    except UserError as exc:
        return _page(request, session, rt, status_code=400, error=str(exc))
    return redirect("/comptes", f"Compte {login} désactivé : ses sessions et jetons ne sont plus acceptés.")
