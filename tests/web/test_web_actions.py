"""Actions on a request from the pages and the API: the author is the signed-in account."""

from __future__ import annotations

import html

from sqlalchemy import select
from sqlmodel import Session

from conftest import sign_in
from tracer.store.models import Event, Request


def _events(site, kind):
    with Session(site.engine) as session:
        return list(session.execute(select(Event).where(Event.kind == kind)).scalars())


def _request(site, ref):
    with Session(site.engine) as session:
        return session.execute(select(Request).where(Request.reference == ref)).scalars().one()


def test_reclassify_assign_and_answer_outside_from_the_request_page(web_server):
    ref = web_server.refs["qualite_paper"]
    client = web_server.client("agent.qualite")
    csrf = client.csrf(f"/demandes/{ref}")
    done = client.post(f"/demandes/{ref}/reclasser", data={"csrf_token": csrf, "categorie": "reclamation",
                                                          "theme": "accueil_physique", "motif": "ton du courrier"})
    assert done.status_code == 303 and done.headers["location"] == f"/demandes/{ref}"
    row = _request(web_server, ref)
    assert (row.category, row.topic) == ("reclamation", "accueil_physique")
    (event,) = _events(web_server, "reclassified")
    assert event.actor == "agent.qualite" and event.data["reason"] == "ton du courrier"
    client.post(f"/demandes/{ref}/attribuer", data={"csrf_token": csrf, "agent": "moi"})
    assert _request(web_server, ref).assignee == "agent.qualite"
    refused = client.post(f"/demandes/{ref}/attribuer", data={"csrf_token": csrf, "agent": "agent.accueil"},
                          follow_redirects=True)
    assert "ne traite pas ce service" in html.unescape(refused.text)
    assert _request(web_server, ref).assignee == "agent.qualite"
    mine = client.get("/demandes", params={"onglet": "suivies"}).text
    assert ref in mine and "Suivies par moi (1)" in mine
    future = client.post(f"/demandes/{ref}/reponse-hors-courriel",
                         data={"csrf_token": csrf, "canal": "telephone", "date": "2099-01-01T10:00"}, follow_redirects=True)
    assert "dans le futur" in html.unescape(future.text) and _request(web_server, ref).answered_at is None
    page = client.post(f"/demandes/{ref}/reponse-hors-courriel",
                       data={"csrf_token": csrf, "canal": "telephone", "date": "", "note": "appel de 10 minutes"},
                       follow_redirects=True)
    assert page.status_code == 200  # an empty date is refused in French, on the page
    assert _request(web_server, ref).answered_at is None


def test_transfer_out_of_the_agents_services_leaves_its_view(web_server):
    ref = web_server.refs["qualite_mail"]
    client = web_server.client("agent.qualite")
    csrf = client.csrf(f"/demandes/{ref}")
    moved = client.post(f"/demandes/{ref}/transferer", data={"csrf_token": csrf, "service": "accueil"})
    assert moved.status_code == 303 and moved.headers["location"] == "/demandes"
    assert _request(web_server, ref).service == "accueil"
    assert client.get(f"/demandes/{ref}").status_code == 404
    assert web_server.client("agent.accueil").get(f"/demandes/{ref}").status_code == 200
    (event,) = _events(web_server, "transferred")
    assert event.actor == "agent.qualite"


def test_actions_on_another_services_request_are_404(web_server):
    other = web_server.refs["accueil_paper"]
    client = web_server.client("agent.qualite")
    csrf = client.csrf("/demandes")
    for path, data in (("reclasser", {"categorie": "reclamation"}), ("transferer", {"service": "qualite"}),
                       ("attribuer", {"agent": "moi"}), ("reponse-hors-courriel", {"canal": "courrier", "date": "2026-01-01T10:00"})):
        assert client.post(f"/demandes/{other}/{path}", data={"csrf_token": csrf, **data}).status_code == 404, path
    assert client.get(f"/demandes/{other}/repondre").status_code == 404
    assert _request(web_server, other).assignee is None


def test_register_a_paper_letter_anonymous_in_the_browser(page, web_server):
    sign_in(page, "agent.accueil")
    page.wait_for_url("**/demandes")
    page.get_by_role("link", name="Enregistrer un courrier").first.click()
    page.wait_for_url("**/courriers/nouveau")
    page.get_by_label("Objet").fill("Remarque sur l'accueil du samedi")
    page.get_by_label("Catégorie").select_option("suggestion")
    page.locator("label[for=anonyme]").click()
    page.get_by_role("button", name="Enregistrer le courrier").click()
    page.wait_for_url("**/demandes/PREF74-*")
    assert page.locator("#notice").inner_text().startswith("Courrier enregistré : PREF74-")
    ref = page.url.rsplit("/", 1)[1]
    row = _request(web_server, ref)
    assert (row.channel, row.anonymous, row.deadline, row.service, row.sender_name) == ("paper", True, None, "accueil", "Anonyme")
    (event,) = [e for e in _events(web_server, "received") if e.request_id == row.id]
    assert event.actor == "agent.accueil"
    assert page.console_errors == []


def test_api_actions_with_a_token_have_the_cli_json_and_the_author(web_server):
    import os
    import subprocess
    import sys

    token = subprocess.run([sys.executable, "-m", "tracer", "--config", str(web_server.config_path), "user", "token",
                            "agent.qualite"], capture_output=True, text=True, env=os.environ).stdout.splitlines()[-1]
    api = web_server.client()
    auth = {"Authorization": f"Bearer {token}"}
    ref = web_server.refs["qualite_mail"]
    done = api.post(f"/api/v1/demandes/{ref}/reclassement", json={"category": "reclamation", "topic": "delais_traitement",
                                                                   "reason": "relance"}, headers=auth)
    assert done.status_code == 200, done.text
    assert {"reference", "category", "topic", "status", "deadline", "assignee", "message_ids"} <= set(done.json())
    assert done.json()["topic"] == "delais_traitement"
    assigned = api.post(f"/api/v1/demandes/{ref}/attribution", json={"assignee": "agent.qualite"}, headers=auth)
    assert assigned.json()["assignee"] == "agent.qualite"
    answered = api.post(f"/api/v1/demandes/{ref}/reponse-hors-courriel",
                        json={"channel": "guichet", "at": "2026-12-04T09:00:00+01:00", "note": "reçu au guichet"},
                        headers=auth)
    assert answered.status_code == 200 and answered.json()["status"] == "answered", answered.text
    shown = api.get(f"/api/v1/demandes/{ref}", headers=auth).json()
    actors = {e["kind"]: e["actor"] for e in shown["events"]}
    assert actors["reclassified"] == actors["assigned"] == actors["answered"] == "agent.qualite"
    other = web_server.refs["accueil_mail"]
    assert api.post(f"/api/v1/demandes/{other}/attribution", json={"assignee": None}, headers=auth).status_code == 404
    bad = api.post(f"/api/v1/demandes/{ref}/reclassement", json={"category": "nimporte"}, headers=auth)
    assert bad.status_code == 400 and "catégorie inconnue" in bad.json()["detail"]
    # the session cookie is not enough for a POST: the CSRF header is required
    browser = web_server.client("agent.qualite")
    assert browser.post(f"/api/v1/demandes/{ref}/attribution", json={"assignee": None}).status_code == 403
    csrf = browser.csrf("/demandes")
    ok = browser.post(f"/api/v1/demandes/{ref}/attribution", json={"assignee": None}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["assignee"] is None
    figures = api.get("/api/v1/indicateurs", params={"from": "2026-01-01", "to": "2027-01-01", "by": "service"},
                      headers=auth).json()
    assert {g["key"]["service"] for g in figures["groups"]} == {"qualite"}
