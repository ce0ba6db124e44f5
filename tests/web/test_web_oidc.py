"""Single sign-on with OpenID Connect against a real provider (npm ``oidc-provider``, pinned in
tests/web/node/package-lock.json), driven by Chromium through the provider's login and consent pages."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import _Server  # tests/web/conftest.py
from smtpsink import free_port
from tracer.store.models import Event, WebSession

NODE_DIR = Path(__file__).resolve().parent / "node"
SECRET_ENV = "TRACER_TEST_OIDC_SECRET"
SSO_EMAIL = "jeanne.sso@haute-savoie.gouv.fr"
# provider login -> claims it vouches for
PROVIDER_ACCOUNTS = {
    "jeanne": {"email": SSO_EMAIL.upper(), "email_verified": True, "name": "Jeanne Sso"},
    "inconnu": {"email": "personne@exemple.gouv.fr", "email_verified": True},
    "ancien": {"email": "ancien.agent@haute-savoie.gouv.fr", "email_verified": True},
}


def node_tools() -> Path:
    """tests/web/node/node_modules (``npm ci --prefix tests/web/node``), or skip (fail under CI)."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        reason = "outils Node des tests web absents : npm ci --prefix tests/web/node"
        if os.environ.get("TRACER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"service required under CI: {reason}")
        pytest.skip(reason)
    return NODE_DIR


class ProviderProcess:
    """oidc-provider in node, on a free port, for one client of tracer."""

    def __init__(self, redirect_uri: str, secret: str):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OIDC_PORT": str(self.port), "OIDC_CLIENT_ID": "tracer", "OIDC_CLIENT_SECRET": secret,
               "OIDC_REDIRECT_URI": redirect_uri, "OIDC_ACCOUNTS": json.dumps(PROVIDER_ACCOUNTS)}
        self.proc = subprocess.Popen(["node", str(node_tools() / "oidc_provider.mjs")], cwd=NODE_DIR, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = threading.Event()
        self.output: list[str] = []

        def read():
            for line in self.proc.stdout:
                self.output.append(line)
                if "oidc-provider ready" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError("oidc-provider did not start: " + "".join(self.output) + self.proc.stderr.read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


@dataclass
class SsoSite:
    url: str
    provider: ProviderProcess
    engine: object
    refs: dict


@pytest.fixture
def sso_site(web_server, tmp_path, monkeypatch):
    """The seeded tracer of ``web_server`` served again with ``[web.oidc]`` pointing at a real provider."""
    from tracer.core import clock
    from tracer.core import config as config_mod
    from tracer.register import accounts
    from tracer.services import Runtime
    from tracer.store import db
    from tracer.web.app import create_app

    node_tools()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv(SECRET_ENV, "secret-du-client-tracer")
    provider = ProviderProcess(url + "/connexion/oidc/retour", "secret-du-client-tracer")
    path = tmp_path / "sso.toml"
    path.write_text(web_server.config_path.read_text(encoding="utf-8")
                    + f'\n[web.oidc]\nissuer = "{provider.issuer}"\nclient_id = "tracer"\n'
                      f'client_secret_env = "{SECRET_ENV}"\n', encoding="utf-8")
    now = clock.now()
    with db.session_scope(web_server.engine) as session:
        accounts.add_account(session, "agent.sso", "agent", now, password=None, services=["qualite"],
                             name="Jeanne Sso", email=SSO_EMAIL)
        accounts.add_account(session, "ancien.agent", "agent", now, password=None, services=["qualite"],
                             email="ancien.agent@haute-savoie.gouv.fr")
        accounts.disable_account(session, "ancien.agent", now)
    server = _Server(create_app(Runtime(config_mod.load(str(path))), engine=web_server.engine), port).start()
    try:
        yield SsoSite(url=url, provider=provider, engine=web_server.engine, refs=web_server.refs)
    finally:
        server.stop()
        provider.stop()


def events(engine, kind):
    from sqlmodel import Session

    with Session(engine) as session:
        return list(session.execute(select(Event).where(Event.kind == kind).order_by(Event.id)).scalars())


def through_provider(page, login: str) -> None:
    """The provider's own pages: its login form, then its consent page."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "mot-de-passe-du-fournisseur")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_single_sign_on_opens_the_same_session_as_a_password(page, sso_site):
    ref = sso_site.refs["qualite_mail"]
    page.goto(f"{sso_site.url}/demandes/{ref}")
    assert "/connexion?suite=" in page.url
    page.get_by_role("link", name="Se connecter avec le fournisseur d’identité").click()
    assert page.url.startswith(sso_site.provider.issuer)
    through_provider(page, "jeanne")
    page.wait_for_url(f"{sso_site.url}/demandes/{ref}")  # back where the person was going
    assert ref in page.get_by_role("heading", level=1).inner_text()
    assert "Jeanne Sso" in page.locator("#compte").inner_text()
    (signed_in,) = [e for e in events(sso_site.engine, "connexion") if e.actor == "agent.sso"]
    assert signed_in.data["via"] == "oidc"
    from sqlmodel import Session

    with Session(sso_site.engine) as session:
        (row,) = session.execute(select(WebSession).where(WebSession.via == "oidc")).scalars()
        assert row.revoked_at is None
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["tracer_session"]["httpOnly"] and "tracer_oidc" not in cookies
    # the scope is the account's: another service's request is not found
    page.goto(f"{sso_site.url}/demandes/{sso_site.refs['accueil_mail']}")
    assert page.get_by_role("heading", level=1).inner_text() == "Page non trouvée"
    # signing out (a POST with the session's CSRF token) works as for a password session
    page.console_errors.clear()  # the provider's pages and the 404 above
    page.goto(f"{sso_site.url}/demandes")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion")
    with Session(sso_site.engine) as session:
        assert session.execute(select(WebSession).where(WebSession.via == "oidc")).scalar_one().revoked_at is not None
    assert page.console_errors == []


@pytest.mark.parametrize("login, reason, sentence", [
    ("inconnu", "adresse inconnue", "Aucun compte tracer n'est associé à l'adresse « personne@exemple.gouv.fr »"),
    ("ancien", "compte désactivé", "Le compte tracer associé à l'adresse « ancien.agent@haute-savoie.gouv.fr » est désactivé"),
])
def test_an_address_without_an_enabled_account_is_refused_in_french(page, sso_site, login, reason, sentence):
    page.goto(f"{sso_site.url}/connexion")
    page.get_by_role("link", name="Se connecter avec le fournisseur d’identité").click()
    through_provider(page, login)
    page.wait_for_url(f"{sso_site.url}/connexion/oidc/retour**")
    assert sentence in page.locator("#erreur-connexion").inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion à tracer"
    assert "tracer_session" not in {c["name"] for c in page.context.cookies()}
    (refused,) = events(sso_site.engine, "connexion_refusee")
    assert refused.data["reason"] == reason and refused.data["via"] == "oidc"
    assert refused.data["issuer"] == sso_site.provider.issuer and refused.data["subject"] == login
    assert [e for e in events(sso_site.engine, "connexion") if e.data.get("via") == "oidc"] == []


def test_a_return_not_started_by_this_browser_is_refused(sso_site):
    import httpx

    with httpx.Client(base_url=sso_site.url) as client:
        forged = client.get("/connexion/oidc/retour", params={"code": "volé", "state": "deviné"})
        assert forged.status_code == 400 and "La connexion unique a expiré ou a été interrompue" in forged.text
        started = client.get("/connexion/oidc")
        assert started.status_code == 303 and started.headers["location"].startswith(sso_site.provider.issuer + "/auth?")
        assert "code_challenge_method=S256" in started.headers["location"]
        # the browser that started has its pending cookie, but a wrong state is still refused
        wrong = client.get("/connexion/oidc/retour", params={"code": "volé", "state": "deviné"})
        assert wrong.status_code == 400 and "tracer_session" not in client.cookies


def test_a_provider_that_does_not_answer_is_a_french_page(sso_site, monkeypatch):
    import httpx

    sso_site.provider.stop()
    with httpx.Client(base_url=sso_site.url) as client:
        down = client.get("/connexion/oidc")
        text = html.unescape(down.text)
        assert down.status_code == 502 and "Le fournisseur d'identité ne répond pas" in text
        assert "connectez-vous avec votre identifiant et votre mot de passe" in text
    monkeypatch.delenv(SECRET_ENV)
    with httpx.Client(base_url=sso_site.url) as client:
        misconfigured = client.get("/connexion/oidc")
        assert misconfigured.status_code == 500
        assert "La connexion unique est mal configurée" in html.unescape(misconfigured.text)


def test_without_oidc_configured_there_is_no_single_sign_on(web_server):
    client = web_server.client()
    assert "connexion-unique" not in client.get("/connexion").text
    assert client.get("/connexion/oidc").status_code == 404
