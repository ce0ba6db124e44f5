"""``/connexion`` and ``/deconnexion``: password sign-in, sign-out.

The session itself is opened by :func:`tracer.register.accounts.sign_in`, which
OpenID Connect will call too once the identity provider has answered.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from tracer.core import clock
from tracer.register import accounts
from tracer.store import db
from tracer.web import deps
from tracer.web.rendering import redirect, render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never ``//host`` or a full address)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/demandes"


def open_session(request: Request, account, via: str, target: str | None) -> RedirectResponse:
    """Sign ``account`` in (password or OpenID Connect) and go on to ``target``."""
    hours = request.app.state.runtime.cfg.web.session_hours
    with db.session_scope(request.app.state.engine) as session:
        cookie, _row = accounts.sign_in(session, session.merge(account), clock.now(), hours, via=via)
    home = "/comptes" if account.role == "admin" else "/demandes"
    response = RedirectResponse(_safe_next(target) if target else home, status_code=303)
    response.set_cookie(deps.SESSION_COOKIE, cookie, max_age=hours * 3600, path="/", httponly=True,
                        samesite="lax", secure=request.app.state.secure_cookies)
    response.delete_cookie(deps.PRE_SESSION_COOKIE, path="/")
    return response


def _login_page(request: Request, error: str | None = None, login: str = "", target: str | None = None,
                status_code: int = 200):
    token = request.cookies.get(deps.PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)
    request.state.pre_session_token = token
    response = render(request, "connexion.html", status_code=status_code, error=error, login=login,
                      suite=target or "", oidc=request.app.state.runtime.cfg.web.oidc is not None)
    response.set_cookie(deps.PRE_SESSION_COOKIE, token, path="/", httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies)
    return response


@router.get("/")
def home(request: Request):
    user = deps.resolve_user(request)
    if user is None:
        return RedirectResponse("/connexion", status_code=303)
    return RedirectResponse("/comptes" if user.role == "admin" else "/demandes", status_code=303)


@router.get("/connexion")
def login_form(request: Request, suite: str | None = None):
    if deps.resolve_user(request) is not None:
        return RedirectResponse(_safe_next(suite), status_code=303)
    return _login_page(request, target=suite)


@router.post("/connexion")
def login(request: Request, identifiant: str = Form(""), mot_de_passe: str = Form(""), suite: str = Form("")):
    address = request.client.host if request.client else None
    with db.session_scope(request.app.state.engine) as session:
        account, error = accounts.check_password(session, identifiant, mot_de_passe, address, clock.now())
    if account is None:
        return _login_page(request, error=error, login=identifiant, target=suite, status_code=401)
    return open_session(request, account, "password", suite or None)


@router.post("/deconnexion")
def logout(request: Request):
    with db.session_scope(request.app.state.engine) as session:
        accounts.sign_out(session, request.cookies.get(deps.SESSION_COOKIE), clock.now())
    response = redirect("/connexion", "Vous êtes déconnecté.")
    response.delete_cookie(deps.SESSION_COOKIE, path="/")
    return response
