"""« Demandes » and « Une demande »: tabs, filters, badges, export, scope."""

from __future__ import annotations

import csv
import io

from conftest import sign_in


def test_tabs_count_and_list_the_agents_requests(web_server):
    client = web_server.client("agent.qualite")
    page = client.get("/demandes")
    assert page.status_code == 200
    assert "À traiter (2)" in page.text and "Toutes (2)" in page.text and "Répondues (0)" in page.text
    assert web_server.refs["qualite_mail"] in page.text and web_server.refs["accueil_mail"] not in page.text
    searched = client.get("/demandes", params={"onglet": "toutes", "recherche": "titre de séjour"})
    assert web_server.refs["qualite_mail"] in searched.text and web_server.refs["qualite_paper"] not in searched.text
    paper = client.get("/demandes", params={"onglet": "toutes", "canal": "paper"})
    assert web_server.refs["qualite_paper"] in paper.text and web_server.refs["qualite_mail"] not in paper.text
    # another service in the filter shows nothing of it
    assert web_server.refs["accueil_mail"] not in client.get("/demandes", params={"service": "accueil"}).text


def test_the_export_is_the_current_view_for_french_excel(web_server):
    from tracer.register import requests as reg
    from tracer.store import db
    from tracer.core import clock

    with db.session_scope(web_server.engine) as session:
        reg.register_paper(session, web_server.runtime, received="2026-12-01", sender="=HYPERLINK(\"x\")",
                           subject="-2+3", service="qualite", now=clock.now(), by="agent.test")
    client = web_server.client("agent.qualite")
    response = client.get("/demandes.csv", params={"onglet": "toutes", "canal": "paper"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Référence", "Reçue le", "Échéance"]
    refs = {row[0] for row in rows[1:]}
    assert web_server.refs["qualite_paper"] in refs and web_server.refs["qualite_mail"] not in refs
    assert web_server.refs["accueil_paper"] not in refs
    hostile = next(row for row in rows[1:] if row[9] == "'-2+3")
    assert hostile[8] == "'=HYPERLINK(\"x\")"


def test_the_filters_update_the_list_in_place_and_the_badge_counts_working_days(page, web_server):
    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.get_by_label("Canal").select_option("paper")
    page.wait_for_url("**canal=paper**")
    table = page.locator("#table-demandes")
    assert web_server.refs["qualite_paper"] in table.inner_text()
    assert web_server.refs["qualite_mail"] not in table.inner_text()
    badge = page.locator(f"tr[data-reference='{web_server.refs['qualite_paper']}'] .tracer-badge").text_content()
    assert "jours ouvrés" in badge  # a letter of 3 days ago still has several working days
    page.locator(f"a[href='/demandes/{web_server.refs['qualite_paper']}']").click()
    page.wait_for_url(f"**/demandes/{web_server.refs['qualite_paper']}")
    assert "Courrier pour qualite" in page.get_by_role("heading", level=1).inner_text()
    assert page.console_errors == []
