"""Templates (``tracer/web/templates``) and what every page gets.

``render(request, name, **context)`` passes the signed-in ``user``, the CSRF
token of its forms (``csrf_token``), the navigation, the one-shot ``flash``
notice and the French filters (``when``, ``day``, ``category``, ``status`` …).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from tracer.core import french
from tracer.register import accounts
from tracer.rules import vocabulary
from tracer.web import deps

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
FLASH_COOKIE = "tracer_flash"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True


def _tz(request: Request):
    return request.app.state.runtime.cfg.tz


env.filters["category"] = french.category
env.filters["channel"] = french.channel
env.filters["topic"] = lambda code: vocabulary.topic_label(code) if code else "—"
env.filters["role"] = lambda code: accounts.ROLE_FR.get(code, code)
env.globals["event_label"] = lambda kind: french.EVENT.get(kind, kind)


def _combine(base: dict, extra: dict) -> dict:
    """``query|combine({'page': 2})``: a link's parameters; a None value drops the key."""
    out = {**base, **extra}
    return {k: v for k, v in out.items() if v is not None}


env.filters["combine"] = _combine


# Navigation: (path, label, who sees it). Pages of other issues add their line here.
NAV = [
    ("/demandes", "Demandes", lambda u: u.scope.reads_requests),
    ("/courriers/nouveau", "Enregistrer un courrier", lambda u: u.may("register_paper")),
    ("/reponses-non-rattachees", "Réponses non rattachées", lambda u: u.may("link")),
    ("/indicateurs", "Indicateurs", lambda u: u.role in ("referent", "auditeur")),
    ("/controle", "Contrôle trimestriel", lambda u: u.role in ("referent", "auditeur")),
    ("/journal", "Journal", lambda u: u.role in ("referent", "auditeur")),
    ("/etat", "État du service", lambda u: u.role in ("referent", "auditeur")),
    ("/comptes", "Comptes", lambda u: u.role == "admin"),
]


def nav_for(request: Request, user) -> list[dict]:
    if user is None:
        return []
    path = request.url.path
    return [{"href": href, "label": label, "current": path == href or path.startswith(href + "/")}
            for href, label, visible in NAV if visible(user)]


def csrf_token_for(request: Request) -> str | None:
    user = deps.resolve_user(request)
    if user is not None:
        return user.csrf_token
    return getattr(request.state, "pre_session_token", None) or request.cookies.get(deps.PRE_SESSION_COOKIE)


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    user = deps.resolve_user(request)
    tz = _tz(request)
    flash = request.cookies.get(FLASH_COOKIE)
    context = {
        "request": request,
        "user": user,
        "csrf_token": csrf_token_for(request),
        "nav": nav_for(request, user),
        "flash": unquote(flash) if flash else None,
        "when": lambda v, empty="—": french.when(v, tz, empty=empty),
        "short": lambda v, empty="—": french.short(v, tz, empty=empty),
        "day": lambda v, empty="—": french.day(v, tz, empty=empty),
        "service_label": lambda name: service_label(request, name),
        "breadcrumb": [],
        **context,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def service_label(request: Request, name: str | None) -> str:
    if not name:
        return "—"
    svc = request.app.state.runtime.cfg.service(name)
    return svc.label if svc is not None and svc.label else name


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """Back to a page after an action (303), with a one-shot French notice."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, path="/", httponly=True, samesite="lax")
    return response


def render_error(request: Request, status: int, detail: str | None) -> HTMLResponse:
    from tracer.web.security import EXPLAIN, TITLES

    try:
        return render(request, "error.html", status_code=status, status=status,
                      title=TITLES.get(status, "Erreur"), explain=EXPLAIN.get(status, ""), detail=detail)
    except Exception:  # the page itself failed (database down…): plain French text
        body = f"<!doctype html><html lang=fr><title>{TITLES.get(status, 'Erreur')}</title><h1>{TITLES.get(status, 'Erreur')}</h1>"
        return HTMLResponse(body, status_code=status)
