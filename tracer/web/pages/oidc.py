"""``/connexion/oidc`` and ``/connexion/oidc/retour``: single sign-on with OpenID Connect.

Only when ``[web.oidc]`` is configured (else 404). The protocol is in
:mod:`tracer.web.oidc`; the account is matched by e-mail in the service layer
(:func:`tracer.register.accounts.match_sso`) and signed in by the same
:func:`~tracer.web.pages.auth.open_session` as a password: same session, same cookie.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from tracer.core import clock
from tracer.core.config import _is_loopback
from tracer.register import accounts
from tracer.store import db
from tracer.web import oidc
from tracer.web.pages.auth import _login_page, _safe_next, open_session

router = APIRouter()
log = logging.getLogger("tracer.web")
# the provider down or answering nonsense: 502; tracer's own configuration wrong: 500; else the person's flow: 400
_STATUS = {oidc.UNAVAILABLE: 502, oidc.NOT_CONFIGURED: 500}


def _configured(request: Request):
    cfg = request.app.state.runtime.cfg.web.oidc
    if cfg is None:
        raise HTTPException(404)
    return cfg


def _redirect_uri(request: Request) -> str:
    """The return address: the public ``base_url`` when it is one, else this server's own."""
    base = request.app.state.runtime.cfg.web.base_url.rstrip("/")
    if _is_loopback(urlsplit(base).hostname or ""):
        base = str(request.base_url).rstrip("/")
    return base + oidc.RETURN_PATH


def _refused(request: Request, message: str, status: int):
    response = _login_page(request, error=message, status_code=status)
    response.delete_cookie(oidc.PENDING_COOKIE, path=oidc.PENDING_PATH)
    return response


@router.get("/connexion/oidc")
def start(request: Request, suite: str | None = None):
    _configured(request)
    try:
        provider = oidc.provider_for(request.app)
    except oidc.OidcError as exc:
        log.error("connexion unique impossible : %s", exc.detail)
        return _refused(request, str(exc), _STATUS.get(exc.args[0], 400))
    url, pending = oidc.begin(provider, _redirect_uri(request), _safe_next(suite) if suite else "")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(oidc.PENDING_COOKIE, pending, max_age=oidc.PENDING_SECONDS, path=oidc.PENDING_PATH,
                        httponly=True, samesite="lax", secure=request.app.state.secure_cookies)
    return response


@router.get("/connexion/oidc/retour")
def back(request: Request):
    _configured(request)
    address = request.client.host if request.client else None
    try:
        provider = oidc.provider_for(request.app)
        claims, target = oidc.finish(provider, _redirect_uri(request), request.cookies.get(oidc.PENDING_COOKIE),
                                     dict(request.query_params))
    except oidc.OidcError as exc:
        log.warning("connexion unique refusée : %s", exc.detail)
        return _refused(request, str(exc), _STATUS.get(exc.args[0], 400))
    with db.session_scope(request.app.state.engine) as session:
        account, error = accounts.match_sso(session, claims["email"], claims.get("sub"), provider.issuer, address,
                                            clock.now())
    if account is None:
        log.warning("connexion unique refusée : %s", error)
        return _refused(request, error, 403)
    response = open_session(request, account, "oidc", target or None)
    response.delete_cookie(oidc.PENDING_COOKIE, path=oidc.PENDING_PATH)
    return response
