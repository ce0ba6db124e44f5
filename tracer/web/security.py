"""Security headers, CSRF, and the French error pages.

- :class:`Guard` (ASGI middleware, outermost of the app): security headers on
  every response, and an unexpected error becomes the French 500 page (logged
  with its class, never a traceback in a page);
- :func:`csrf_guard` (a dependency of every route): an unsafe method carries the
  session's synchronizer token (form field ``csrf_token`` or header
  ``X-CSRF-Token``); the sign-in form, before any session, carries the
  double-submit cookie ``tracer_csrf``. ``/api/`` with a Bearer token is exempt
  (no cookie, no ambient authority); the API with a session cookie is not;
- :func:`install_error_handlers`: 401/403/404/405/422/400 and user errors as
  French pages, or JSON ``{"detail": …}`` under ``/api/``.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracer.core.errors import NotFound, UserError
from tracer.web import deps

log = logging.getLogger("tracer.web")

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_REFUSED = "Jeton de sécurité (CSRF) manquant ou invalide : rechargez la page et recommencez."


class Guard:
    """Adds the security headers to every response; turns an unexpected error into the 500 page."""

    def __init__(self, app, render_error):
        self.app = app
        self.render_error = render_error

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {name.lower() for name, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [h for h in HEADERS if h[0] not in names]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            log.error("erreur inattendue sur %s %s : %s", scope.get("method"), scope.get("path"),
                      exc.__class__.__name__, exc_info=exc)
            if started:
                raise
            request = Request(scope)
            response = self.render_error(request, 500, None)
            await response(scope, receive, send_with_headers)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def csrf_guard(request: Request) -> None:
    """Refuse an unsafe request without its CSRF token (403)."""
    if request.method not in UNSAFE:
        return
    if request.url.path.startswith("/api/") and deps.bearer_token(request):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    user = await run_in_threadpool(deps.resolve_user, request)
    expected = user.csrf_token if user is not None else request.cookies.get(deps.PRE_SESSION_COOKIE)
    if not _same(sent, expected):
        log.warning("requête refusée (CSRF) : %s %s", request.method, request.url.path)
        raise HTTPException(403, CSRF_REFUSED)


TITLES = {
    400: "Demande impossible",
    401: "Connexion nécessaire",
    403: "Accès refusé",
    404: "Page non trouvée",
    405: "Méthode non autorisée",
    422: "Données invalides",
    500: "Erreur inattendue",
}
EXPLAIN = {
    400: "La demande n'a pas pu être traitée.",
    401: "Connectez-vous pour accéder à cette page.",
    403: "Vous n'avez pas les droits nécessaires pour cette page ou cette action.",
    404: "La page que vous cherchez est introuvable ou ne relève pas de vos services. "
         "Vérifiez l'adresse, ou revenez à la liste des demandes.",
    405: "Cette adresse n'accepte pas cette méthode.",
    422: "Certaines valeurs envoyées ne sont pas valides. Revenez à la page précédente et corrigez-les.",
    500: "Désolé, le service rencontre un problème. L'erreur a été enregistrée ; réessayez plus tard "
         "ou contactez l'administrateur.",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def install_error_handlers(app, render_error) -> None:
    """French pages (or JSON under /api/) for every refused request."""

    def answer(request: Request, status: int, detail: str | None) -> Response:
        if status >= 500:
            log.error("erreur %s sur %s %s", status, request.method, request.url.path)
        elif status != 404:
            log.info("refus %s sur %s %s : %s", status, request.method, request.url.path, detail or "")
        if is_api(request):
            text = detail or ("Introuvable." if status == 404 else TITLES.get(status, "Erreur"))
            return JSONResponse({"detail": text}, status_code=status)
        return render_error(request, status, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        if exc.status_code == 404:
            detail = None  # never say whether the request exists elsewhere
        return answer(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        fields = sorted({str(e.get("loc", ["?"])[-1]) for e in exc.errors()})
        return answer(request, 422, "Valeur manquante ou invalide : " + ", ".join(fields))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return answer(request, 404, None)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError):
        return answer(request, 400, str(exc))

    @app.exception_handler(deps.SignInRequired)
    async def sign_in_required(request: Request, exc: deps.SignInRequired):
        if is_api(request):
            return JSONResponse({"detail": "Authentification requise (session ou jeton Bearer)."}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        from urllib.parse import quote

        target = "/connexion"
        if request.method == "GET" and request.url.path not in ("/", "/connexion"):
            target += "?suite=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
        if request.headers.get("hx-request"):
            response = Response(status_code=204, headers={"HX-Redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        response.delete_cookie(deps.SESSION_COOKIE, path="/")
        return response
