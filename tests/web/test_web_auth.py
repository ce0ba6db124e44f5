"""Sign-in, sessions, CSRF, scope and security headers of the web interface (real server, real Chromium)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from conftest import PASSWORD, sign_in  # tests/web/conftest.py
from tracer.store.models import Event


def tracer_cli(site, *args, env=None):
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(site.config_path), *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def events(site, kind):
    from sqlmodel import Session

    with Session(site.engine) as session:
        return list(session.execute(select(Event).where(Event.kind == kind)).scalars())


def test_agent_signs_in_sees_its_requests_and_signs_out(page, web_server):
    page.goto("/demandes")
    assert page.url.endswith("/connexion?suite=%2Fdemandes")
    assert "administrateur" in page.locator("#mot-de-passe-oublie").inner_text()
    sign_in(page, "agent.qualite")
    page.wait_for_url("**/demandes")
    assert page.get_by_role("heading", level=1).inner_text() == "Demandes"
    table = page.locator("#table-demandes").inner_text()
    assert web_server.refs["qualite_mail"] in table and web_server.refs["accueil_mail"] not in table
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion")
    assert "Vous êtes déconnecté" in page.locator("#notice").inner_text()
    page.goto("/demandes")
    assert "/connexion" in page.url
    assert page.console_errors == []  # no script or style refused by the CSP, nothing missing


def test_wrong_password_is_refused_in_french_and_recorded_without_the_password(page, web_server):
    sign_in(page, "agent.qualite", "mauvais-mot-de-passe")
    assert page.locator("#erreur-connexion").inner_text() == "Identifiant ou mot de passe incorrect."
    assert page.get_by_label("Identifiant", exact=True).input_value() == "agent.qualite"
    (refused,) = events(web_server, "connexion_refusee")
    assert refused.data["login"] == "agent.qualite" and refused.data["reason"] == "mot de passe incorrect"
    assert "mauvais-mot-de-passe" not in json.dumps(refused.data)


def test_login_is_rate_limited_per_account(web_server):
    client = web_server.client()
    for _ in range(5):
        assert client.sign_in("agent.accueil", "faux-mot-de-passe").status_code == 401
    refused = client.sign_in("agent.accueil", PASSWORD)
    assert refused.status_code == 401 and "Trop de tentatives" in refused.text
    assert len(events(web_server, "connexion_refusee")) == 6
    assert web_server.client().sign_in("agent.qualite").status_code == 303  # another account is not locked


def test_a_post_without_its_csrf_token_is_refused(web_server):
    anonymous = web_server.client()
    anonymous.get("/connexion")
    assert anonymous.post("/connexion", data={"identifiant": "agent.qualite", "mot_de_passe": PASSWORD}).status_code == 403
    client = web_server.client("agent.qualite")
    refused = client.post("/deconnexion", data={})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert client.post("/deconnexion", data={"csrf_token": "pas-le-bon"}).status_code == 403
    assert client.get("/demandes").status_code == 200  # still signed in
    token = client.csrf("/demandes")
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 303
    assert client.get("/demandes").status_code == 303


def test_a_disabled_account_is_signed_out_at_its_next_click(page, web_server):
    sign_in(page, "agent.qualite")
    page.wait_for_url("**/demandes")
    result = tracer_cli(web_server, "user", "disable", "agent.qualite")
    assert result.returncode == 0, result.stderr
    page.locator("#onglet-toutes").click()
    page.wait_for_url("**/connexion**")
    assert page.get_by_role("button", name="Se connecter").is_visible()
    sign_in(page, "agent.qualite")
    assert page.locator("#erreur-connexion").inner_text() == "Identifiant ou mot de passe incorrect."


@pytest.mark.parametrize("web_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_an_agent_gets_404_on_a_request_of_another_service(web_server):
    client = web_server.client("agent.qualite")
    mine, other = web_server.refs["qualite_mail"], web_server.refs["accueil_mail"]
    assert client.get(f"/demandes/{mine}").status_code == 200
    page = client.get(f"/demandes/{other}")
    assert page.status_code == 404 and "Page non trouvée" in page.text and other not in page.text
    assert client.get(f"/api/v1/demandes/{other}").status_code == 404
    listed = {c["reference"] for c in client.get("/api/v1/demandes").json()}
    assert listed == {web_server.refs["qualite_mail"], web_server.refs["qualite_paper"]}
    assert client.get("/api/v1/demandes", params={"service": "accueil"}).json() == []
    referent = web_server.client("referent")
    assert referent.get(f"/demandes/{other}").status_code == 200


def test_the_administrator_sees_no_request_content(web_server):
    client = web_server.client("admin")
    refused = client.get(f"/demandes/{web_server.refs['qualite_mail']}")
    assert refused.status_code == 403 and "Accès refusé" in refused.text
    assert client.get("/api/v1/demandes").status_code == 403


def test_security_headers_on_pages_errors_files_and_api(web_server):
    client = web_server.client("agent.qualite")
    for path in ("/connexion", "/demandes", "/demandes/PREF74-2099-99999", "/static/dsfr/dsfr.min.css",
                 "/api/v1/demandes", "/nulle-part"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path
        assert headers["x-content-type-options"] == "nosniff", path
    cookie = web_server.client().sign_in("agent.qualite").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # http base_url


def test_user_cli_adds_lists_gives_a_token_and_disables(web_server):
    added = tracer_cli(web_server, "user", "add", "nouvel.agent", "--role", "agent", "--service", "accueil",
                       "--name", "Nouvel Agent", env={"TRACER_USER_PASSWORD": "un-mot-de-passe"})
    assert added.returncode == 0 and "Compte créé : nouvel.agent" in added.stdout, added.stderr
    again = tracer_cli(web_server, "user", "add", "nouvel.agent", "--role", "agent", "--service", "accueil",
                       env={"TRACER_USER_PASSWORD": "un-mot-de-passe"})
    assert again.returncode == 1 and again.stderr.strip() == "tracer : l'identifiant « nouvel.agent » existe déjà"
    listed = json.loads(tracer_cli(web_server, "user", "list", "--json").stdout)
    mine = next(a for a in listed if a["login"] == "nouvel.agent")
    assert (mine["role"], mine["services"], mine["disabled"]) == ("agent", ["accueil"], False)
    assert "password" not in json.dumps(listed) and "argon2" not in json.dumps(listed)
    token = tracer_cli(web_server, "user", "token", "nouvel.agent").stdout.strip().splitlines()[-1]
    api = web_server.client()
    listed = api.get("/api/v1/demandes", headers={"Authorization": f"Bearer {token}"})
    assert {c["service"] for c in listed.json()} == {"accueil"}
    assert api.get("/api/v1/demandes", headers={"Authorization": "Bearer trc_faux"}).status_code == 401
    assert tracer_cli(web_server, "user", "disable", "nouvel.agent").returncode == 0
    assert api.get("/api/v1/demandes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    help_text = tracer_cli(web_server, "user", "add", "--help").stdout
    assert "crée un compte local" in help_text or "rôle" in help_text or "service dont" in help_text
