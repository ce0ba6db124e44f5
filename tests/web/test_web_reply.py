"""The agent's reply flow in Chromium, and what an auditor may not do."""

from __future__ import annotations

import html
import re

from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from conftest import sign_in
from tracer.store.models import Event, Outbox


def test_an_agent_answers_a_request_with_a_template_through_the_preview(page, web_server, smtp_server):
    ref = web_server.refs["qualite_mail"]
    sign_in(page, "agent.qualite")
    page.wait_for_url("**/demandes")
    assert page.locator("#onglet-a-traiter").get_attribute("aria-current") == "page"
    page.locator(f"a[href='/demandes/{ref}']").click()
    page.wait_for_url(f"**/demandes/{ref}")
    page.locator("#bouton-repondre").click()
    page.wait_for_url(f"**/demandes/{ref}/repondre")
    page.get_by_label("Réponse type").select_option("titre_sejour_renouvellement")
    page.wait_for_url("**modele=titre_sejour_renouvellement")
    preview = page.locator("#apercu-texte")
    preview.wait_for()
    assert f"Objet : RE: Renouvellement de mon titre de séjour [{ref}]" in preview.inner_text()
    assert "À : jeanne.martin@example.org" in preview.inner_text()
    text = page.get_by_label("Texte de la réponse")
    text.fill(text.input_value() + "\nPièce jointe : la liste des documents.")
    expect(page.locator("#apercu-texte")).to_contain_text("la liste des documents")  # the preview follows the edit
    page.locator("#envoyer").click()
    page.wait_for_url(f"**/demandes/{ref}")
    assert page.locator("#notice").inner_text() == "Réponse envoyée."
    assert page.locator("#badge-statut").inner_text().lower() == "répondue"
    assert page.locator("[data-delivery]").get_attribute("data-delivery") == "sent"
    (mail,) = smtp_server.parsed()
    assert mail["In-Reply-To"] == "<qualite_mail@example.org>"
    assert mail["Subject"] == f"RE: Renouvellement de mon titre de séjour [{ref}]"
    assert "la liste des documents" in mail.get_body(("plain",)).get_content()
    with Session(web_server.engine) as session:
        answered = session.execute(select(Event).where(Event.kind == "answered")).scalars().one()
    assert answered.actor == "agent.qualite"
    assert page.console_errors == []


def test_the_same_reply_form_sent_twice_sends_one_mail(web_server, smtp_server):
    ref = web_server.refs["qualite_mail"]
    client = web_server.client("agent.qualite")
    form = client.get(f"/demandes/{ref}/repondre", params={"modele": "rendez_vous"}).text
    key = re.search(r'name="cle" value="([^"]+)"', form).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = {"csrf_token": csrf, "cle": key, "modele": "rendez_vous"}
    first = client.post(f"/demandes/{ref}/repondre", data=data)
    second = client.post(f"/demandes/{ref}/repondre", data=data)
    assert first.status_code == second.status_code == 303
    assert len(smtp_server.messages) == 1
    with Session(web_server.engine) as session:
        assert len(session.execute(select(Outbox).where(Outbox.kind == "reply")).scalars().all()) == 1


def test_smtp_down_the_page_says_pending_never_sent(web_server, smtp_server):
    ref = web_server.refs["qualite_mail"]
    smtp_server.stop()
    client = web_server.client("agent.qualite")
    form = client.get(f"/demandes/{ref}/repondre", params={"modele": "rendez_vous"}).text
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1),
            "cle": re.search(r'name="cle" value="([^"]+)"', form).group(1), "modele": "rendez_vous"}
    page = html.unescape(client.post(f"/demandes/{ref}/repondre", data=data, follow_redirects=True).text)
    assert "Réponse enregistrée, en attente d'envoi" in page and "Réponse envoyée" not in page
    assert 'data-delivery="pending"' in page and "En attente" in page


def test_an_auditor_sees_no_action_and_a_forged_post_gets_403(page, web_server):
    ref = web_server.refs["qualite_mail"]
    sign_in(page, "auditeur")
    page.wait_for_url("**/demandes")
    page.goto(f"/demandes/{ref}")
    assert page.get_by_role("heading", level=1).inner_text().startswith(ref)
    assert page.locator("#actions").count() == 0
    assert page.get_by_role("button", name="M’attribuer").count() == 0
    assert page.get_by_role("link", name="Répondre").count() == 0
    client = web_server.client("auditeur")
    csrf = client.csrf("/demandes")
    for path, data in ((f"/demandes/{ref}/attribuer", {"agent": "moi"}),
                       (f"/demandes/{ref}/reclasser", {"categorie": "reclamation"}),
                       (f"/demandes/{ref}/repondre", {"modele": "rendez_vous", "cle": "x" * 24})):
        refused = client.post(path, data={"csrf_token": csrf, **data})
        assert refused.status_code == 403 and "Accès refusé" in refused.text, path
    assert client.get(f"/demandes/{ref}/repondre").status_code == 403
    with Session(web_server.engine) as session:
        assert session.execute(select(Event).where(Event.actor == "auditeur", Event.request_id.is_not(None))).first() is None
