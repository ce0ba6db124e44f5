"""The application factory: ``create_app(config_path or Runtime)``."""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from tracer.core import config as config_mod
from tracer.services import Runtime
from tracer.store import db
from tracer.web import rendering, security

# One module per page group, each exposing ``router``; pages of other issues add theirs here.
ROUTERS = [
    "tracer.web.pages.auth",       # /connexion, /deconnexion
    "tracer.web.pages.oidc",       # /connexion/oidc[/retour]: single sign-on ([web.oidc])
    "tracer.web.pages.requests",   # /demandes, /demandes/{REF}
    "tracer.web.pages.actions",    # POST /demandes/{REF}/reclasser, transferer, attribuer, reponse-hors-courriel, lier
    "tracer.web.pages.reply",      # /demandes/{REF}/repondre
    "tracer.web.pages.messages",   # /demandes/{REF}/messages/{N}[/pieces/{K}]: HTML sanitised, attachments
    "tracer.web.pages.letters",    # /courriers/nouveau, /reponses-non-rattachees
    "tracer.web.pages.referent",   # /indicateurs, /controle, /journal, /etat
    "tracer.web.pages.accounts",   # /comptes
    "tracer.web.api",              # /api/v1/…
]


def create_app(source: str | Path | Runtime | config_mod.Config | None = None, engine=None) -> FastAPI:
    """The web application over a configuration file (None: TRACER_CONFIG or ./tracer.toml),
    a loaded :class:`Config` or a :class:`Runtime`; ``engine`` to share an open one."""
    if isinstance(source, Runtime):
        runtime = source
    elif isinstance(source, config_mod.Config):
        runtime = Runtime(source)
    else:
        runtime = Runtime(config_mod.load(str(source) if source else None))
    app = FastAPI(title="tracer", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(security.csrf_guard)])
    app.state.runtime = runtime
    app.state.engine = engine if engine is not None else db.open_engine(runtime.cfg.database_url)
    app.state.secure_cookies = runtime.cfg.web.base_url.startswith("https://")
    app.mount("/static", StaticFiles(directory=str(rendering.STATIC_DIR)), name="static")
    for name in ROUTERS:
        app.include_router(importlib.import_module(name).router)
    security.install_error_handlers(app, rendering.render_error)
    app.add_middleware(security.Guard, render_error=rendering.render_error)
    return app
