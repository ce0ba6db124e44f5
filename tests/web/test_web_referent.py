"""The référent's pages (issue 17): indicators, quarterly control, freezing, journal, service state, accounts.

Real server (uvicorn), real Chromium for what a person does; httpx for the
downloads and the forged requests. The 3rd quarter of 2026 is finished (the
suite runs after it) and seeded with known requests: three paper letters of
« qualite » (one answered on time, one late, one complaint on time) and one
of « accueil » answered on time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlmodel import Session

from conftest import PASSWORD, sign_in  # tests/web/conftest.py
from tracer.store.models import Event, PublishedFigures

QUARTER = "2026-Q3"
AS_OF = "2026-11-01T12:00:00+01:00"
# (service, received, answered (or None), category)
Q3 = [
    ("qualite", "2026-07-06", "2026-07-08T10:00:00+02:00", "information"),
    ("qualite", "2026-07-06", "2026-08-28T10:00:00+02:00", "information"),
    ("qualite", "2026-08-03", "2026-08-05T10:00:00+02:00", "reclamation"),
    ("accueil", "2026-09-07", "2026-09-09T10:00:00+02:00", "information"),
]


def tracer_cli(site, *args):
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(site.config_path), *args],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.fixture
def site(web_server):
    """The web server with the 3rd quarter's requests (paper, answered outside e-mail)."""
    from tracer.core import clock
    from tracer.register import requests as reg
    from tracer.register import threads
    from tracer.store import db

    rt, refs = web_server.runtime, []
    with db.session_scope(web_server.engine) as session:
        for service, received, answered, category in Q3:
            request = reg.register_paper(session, rt, received=received, sender="Usager Papier",
                                         subject=f"Lettre {service} {received}", service=service, now=clock.now(),
                                         category=category, by="agent.test")
            threads.answer_outside(session, rt, request.reference, "courrier", datetime.fromisoformat(answered),
                                   "agent.test", "réponse postale n° 12", clock.now())
            refs.append(request.reference)
    web_server.refs["q3"] = refs
    return web_server


def tick(page, label):
    """Check a DSFR checkbox as a person does: its input is drawn by its label, which takes the click."""
    page.locator("#formulaire-grille").get_by_text(label, exact=True).click()
    assert page.get_by_label(label, exact=True).is_checked()


def _cells(row):
    return {cell.get_attribute("data-col"): cell.inner_text() for cell in row.locator("td[data-col]").all()}


def _fr(value, unit=""):
    if value is None:
        return "—"
    return (f"{value:.2f}".replace(".", ",") if isinstance(value, float) else str(value)) + unit


def test_referent_reads_on_the_dashboard_the_figures_of_tracer_stats(page, site):
    cli = tracer_cli(site, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--by", "service",
                     "--as-of", AS_OF, "--format", "json")
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert expected["total"]["received"] == 4 and expected["total"]["late"] == 1  # the seed is what we think
    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.get_by_role("link", name="Indicateurs").first.click()
    page.wait_for_url("**/indicateurs")
    assert "trimestre" in page.locator("#periode-titre").inner_text()  # this quarter by default
    page.goto(f"/indicateurs?periode=trimestre&valeur={QUARTER}&par=service&arrete={AS_OF.replace('+', '%2B')}")
    table = page.locator("#table-indicateurs")
    for group in expected["groups"]:
        row = table.locator(f"tr[data-key='{group['key']['service']}']")
        assert row.locator("th").inner_text() == {"qualite": "Mission qualité", "accueil": "Accueil général"}[group["key"]["service"]]
        assert _cells(row) == {k: _fr(group[k], " %" if k == "rate_on_time" else "") for k in _cells(row)}
    total = _cells(table.locator("tr[data-key='total']"))
    assert total["received"] == "4" and total["rate_on_time"] == _fr(expected["total"]["rate_on_time"], " %") == "75,00 %"
    assert total["mean_delay_days"] == _fr(expected["total"]["mean_delay_days"])
    # each chart is an image named and described, with its data table beside it
    for ident in ("graphique-taux", "graphique-delais", "graphique-themes"):
        chart = page.locator(f"svg#{ident}")
        assert chart.get_attribute("role") == "img"
        assert chart.locator("desc").text_content()
    assert "75,00 %" not in page.locator("#donnees-taux").inner_text()  # per month: 50 % in July …
    assert "juillet 2026" in page.locator("#donnees-taux").inner_text()
    assert "Mission qualité" in page.locator("#donnees-delais").inner_text()
    assert page.locator("#donnees-themes tbody tr").all_inner_texts() == ["Autre\t1\t0"]  # one complaint, no topic rule
    assert page.console_errors == []  # the CSP refused nothing (no inline style in the charts)


@pytest.mark.parametrize("by", ["topic", "assignee"])
def test_dashboard_by_topic_and_by_agent_equals_tracer_stats(page, site, by):
    from tracer.core import clock
    from tracer.register import requests as reg
    from tracer.store import db

    with db.session_scope(site.engine) as session:
        reg.assign(session, site.runtime, site.refs["q3"][1], "agent.qualite", "referent", clock.now())
    cli = tracer_cli(site, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--by", by, "--as-of", AS_OF,
                     "--format", "json")
    expected = json.loads(cli.stdout)
    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.goto(f"/indicateurs?periode=trimestre&valeur={QUARTER}&arrete={AS_OF.replace('+', '%2B')}")
    page.get_by_label("Regrouper par").select_option(by)
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(f"**par={by}**")
    table = page.locator("#table-indicateurs")
    keys = [row.get_attribute("data-key") for row in table.locator("tbody tr[data-key]").all()]
    assert keys == [g["key"][by] or "" for g in expected["groups"]] + ["total"]
    for group in expected["groups"]:
        row = table.locator(f"tr[data-key='{group['key'][by] or ''}']")
        assert _cells(row) == {k: _fr(group[k], " %" if k == "rate_on_time" else "") for k in _cells(row)}
    assert _cells(table.locator("tr[data-key='total']"))["received"] == str(expected["total"]["received"])
    if by == "assignee":
        assert table.locator("tr[data-key='agent.qualite'] td[data-col='late']").inner_text() == "1"
        assert table.locator("tr[data-key=''] th").inner_text() == "non attribuée"
    else:
        assert expected["total"]["received"] == 1  # the complaint alone: a topics table, as the command's


def test_dashboard_downloads_french_excel_csv_xlsx_and_transparence(site, tmp_path):
    client = site.client("auditeur")
    params = {"periode": "trimestre", "valeur": QUARTER, "par": "service", "arrete": AS_OF}
    answer = client.get("/indicateurs.csv", params=params)
    assert answer.status_code == 200 and answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Service" and rows[-1][0] == "Total" and "75,00" in rows[-1]
    workbook = client.get("/indicateurs.xlsx", params=params)
    assert workbook.status_code == 200
    (tmp_path / "i.xlsx").write_bytes(workbook.content)
    assert "Taux mensuel" in load_workbook(tmp_path / "i.xlsx").sheetnames
    transparence = client.get("/indicateurs/transparence.xlsx", params={"trimestre": QUARTER})
    (tmp_path / "t.xlsx").write_bytes(transparence.content)
    assert load_workbook(tmp_path / "t.xlsx").sheetnames[0] == f"Transparence {QUARTER}"
    bad = client.get("/indicateurs", params={"periode": "mois", "valeur": "2026-13"})
    assert bad.status_code == 400 and "mois invalide" in bad.text
    # the value of the kind chosen before gives way to the new kind's default
    month = client.get("/indicateurs", params={"periode": "mois", "valeur": QUARTER})
    from tracer.core import clock

    today = clock.local(clock.now()).date()
    assert month.status_code == 200 and f'value="{today:%Y-%m}"' in month.text  # this month


def test_referent_draws_a_sample_fills_two_grids_and_exports_it(page, site, tmp_path):
    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.goto(f"/controle?trimestre={QUARTER}")
    assert "Aucun échantillon" in page.locator("#aucun-echantillon").inner_text()
    page.get_by_label("Taille de l'échantillon").fill("3")
    page.get_by_label("Graine (facultative)").fill("42")
    page.get_by_role("button", name="Tirer l'échantillon").click()
    page.wait_for_selector("#echantillon")
    assert "graine 42" in page.locator("#notice").inner_text()
    assert page.locator("#graine").inner_text() == "42"
    assert "--size 3 --seed 42" in page.locator("#echantillon").inner_text()
    assert page.locator("#progression").inner_text().startswith("0 / 3 contrôlées")
    cli = tracer_cli(site, "sample", "--quarter", QUARTER, "--size", "3", "--seed", "42", "--json")
    drawn = [item["reference"] for item in json.loads(cli.stdout)]
    assert [r.get_attribute("data-reference") for r in page.locator("#table-echantillon tbody tr").all()] == drawn
    # first grid: everything met; its reply is beside it
    first = page.locator("#grille h2 a").inner_text()
    assert "réponse postale" not in page.locator("#texte-reponse").inner_text()  # no mail text: said so
    for label in ("Clair", "Complet", "Courtois", "Signé", "Coordonnées du service", "Délai respecté"):
        tick(page, label)
    page.get_by_role("button", name="Enregistrer le contrôle").click()
    page.wait_for_selector("#notice")
    assert "1 / 3 contrôlées" in page.locator("#notice").inner_text()
    second = page.locator("#grille h2 a").inner_text()
    assert second != first  # the next request not yet controlled
    tick(page, "Clair")
    page.get_by_label("Observations").fill("Pas de signature.")
    page.get_by_role("button", name="Enregistrer le contrôle").click()
    page.wait_for_selector("#notice")
    assert page.locator("#progression").inner_text().startswith("2 / 3 contrôlées — 1 conforme")
    criteria = page.locator("#table-criteres")
    assert criteria.locator("tr[data-key='clair'] td").all_inner_texts() == ["2", "2", "100,00 %"]
    assert criteria.locator("tr[data-key='signe'] td").all_inner_texts() == ["2", "1", "50,00 %"]
    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter la grille remplie (XLSX)").click()
    path = tmp_path / "grille.xlsx"
    info.value.save_as(path)
    sheet = load_workbook(path).active
    results = {row[0]: row[14] for row in sheet.iter_rows(min_row=3, max_row=5, values_only=True)}
    assert results[first] == "Conforme" and results[second] == "Non conforme"
    assert "2 / 3 contrôlées ; 1 conforme(s)" in [r[0] for r in sheet.iter_rows(values_only=True)]
    with Session(site.engine) as session:
        controls = list(session.execute(select(Event).where(Event.kind == "control")).scalars())
    assert {c.actor for c in controls} == {"referent"} and len(controls) == 2
    assert page.console_errors == []


def test_referent_freezes_a_finished_quarter_after_a_confirmation(page, site):
    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.goto(f"/indicateurs?periode=trimestre&valeur={QUARTER}")
    page.get_by_role("link", name="Figer les chiffres du trimestre").click()
    page.wait_for_url("**/indicateurs/figer?trimestre=2026-Q3")
    assert "définitive" in page.locator(".fr-alert").inner_text()
    assert page.locator("#table-a-figer tr.tracer-total td[data-col='received']").inner_text() == "4"
    page.get_by_role("button", name="Confirmer : figer les chiffres du 3e trimestre 2026").click()
    page.wait_for_selector("#chiffres-figes")
    assert re.search(r"Chiffres figés le \d\d/\d\d/\d{4}.* par referent", page.locator("#chiffres-figes").inner_text())
    assert "Aucun écart" in page.locator("#ecarts").inner_text()
    assert page.get_by_role("link", name="Figer les chiffres du trimestre").count() == 0
    with Session(site.engine) as session:
        (published,) = session.execute(select(PublishedFigures)).scalars().all()
    assert published.period == QUARTER and published.created_by == "referent"
    assert published.figures["total"]["received"] == 4
    # a change to one of its requests shows as a gap since publication
    cli = tracer_cli(site, "reclassify", site.refs["q3"][0], "reclamation", "--topic", "rendez_vous",
                     "--by", "referent", "--reason", "relu")
    assert cli.returncode == 0, cli.stderr
    page.reload()
    assert site.refs["q3"][0] in page.locator("#table-ecarts").inner_text()
    assert "diffèrent" in page.locator("#chiffres-figes").inner_text()
    # freezing twice is refused in French
    client = site.client("referent")
    again = client.post("/indicateurs/figer", data={"trimestre": QUARTER, "csrf_token": client.csrf("/indicateurs")})
    assert again.status_code == 400 and "déjà figés" in again.text
    unfinished = client.get("/indicateurs/figer", params={"trimestre": "2026-Q4"})
    assert unfinished.status_code == 400 and "pas terminé" in unfinished.text


def test_auditor_sees_dashboard_journal_register_and_no_changing_button(page, site):
    from tracer.core import clock
    from tracer.reports import control_sheet
    from tracer.store import db

    with db.session_scope(site.engine) as session:  # a drawn sample with one grid: the auditor reads it
        drawn = control_sheet.draw(session, site.runtime, QUARTER, 2, 3, "referent", clock.now())
        control_sheet.record(session, site.runtime, QUARTER, drawn["references"][0], {"clair": True}, None,
                             "referent", clock.now())
    sign_in(page, "auditeur")
    page.wait_for_url("**/demandes")
    assert site.refs["qualite_mail"] in page.locator("#table-demandes").inner_text()  # the register, every service
    assert site.refs["accueil_mail"] in page.locator("#table-demandes").inner_text()
    for path in (f"/indicateurs?periode=trimestre&valeur={QUARTER}", f"/controle?trimestre={QUARTER}", "/journal",
                 "/etat", "/demandes", f"/demandes/{site.refs['q3'][0]}"):
        page.goto(path)
        assert page.get_by_role("heading", level=1).count() == 1
        forms = [f for f in page.locator("main form").all() if (f.get_attribute("method") or "get").lower() == "post"]
        assert forms == [], path  # nothing that changes anything
    page.goto(f"/controle?trimestre={QUARTER}")
    assert page.locator("#progression").inner_text().startswith("1 / 2 contrôlées")
    page.goto(f"/controle?trimestre={QUARTER}&demande={drawn['references'][0]}")
    assert "Clair : oui" in page.locator("#grille-lecture").inner_text()  # the grid, read only
    page.goto("/journal")
    assert "connexion" in page.locator("#table-journal").inner_text()
    page.get_by_label("Type d'événement").select_option("received")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**/journal?*type=received*")
    kinds = {row.get_attribute("data-kind") for row in page.locator("#table-journal tbody tr[data-kind]").all()}
    assert kinds == {"received"}
    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter ces événements (CSV)").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("N°;Date et heure;Référence;Événement")
    assert all(";received;" in line for line in text.splitlines()[1:])
    assert page.console_errors == []


def test_auditor_forged_posts_are_refused(site):
    client = site.client("auditeur")
    token = client.csrf("/indicateurs")
    for path, data in (("/indicateurs/figer", {"trimestre": QUARTER}),
                       ("/controle/tirage", {"trimestre": QUARTER, "taille": "2"}),
                       ("/controle/grille", {"trimestre": QUARTER, "demande": site.refs["q3"][0], "clair": "oui"}),
                       ("/etat/renvoi/1", {})):
        answer = client.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 403, path
        assert "lecture seule" in answer.text
    with Session(site.engine) as session:
        assert session.execute(select(Event).where(Event.kind.in_(("sample_drawn", "control", "figures_frozen")))).first() is None
    assert client.get("/indicateurs/figer", params={"trimestre": QUARTER}).status_code == 403


@pytest.mark.parametrize("login", ["agent.qualite", "admin"])
def test_agent_and_admin_are_refused_every_referent_page(site, login):
    client = site.client(login)
    for path in ("/indicateurs", "/indicateurs.csv", "/indicateurs.xlsx", "/indicateurs/transparence.xlsx",
                 "/indicateurs/figer?trimestre=2026-Q3", "/controle", "/controle/export.xlsx", "/journal",
                 "/journal.csv", "/etat", "/etat/quarantaine/1.eml"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "référent" in answer.text
    token = client.csrf("/demandes" if login != "admin" else "/comptes")
    assert client.post("/controle/tirage", data={"trimestre": QUARTER, "csrf_token": token}).status_code == 403
    nav = client.get("/demandes" if login != "admin" else "/comptes").text
    assert 'href="/indicateurs"' not in nav and 'href="/journal"' not in nav


def test_status_page_shows_a_stopped_daemon_in_red_and_resends_a_mail(page, site):
    from tracer.core import clock
    from tracer.store import db
    from tracer.store.models import FolderState, Outbox, Quarantine
    import zlib

    now = clock.now()
    with db.session_scope(site.engine) as session:
        session.add(FolderState(mailbox="qualite", folder="INBOX", role="inbox", last_uid=3, uidvalidity=1,
                                last_success_at=now.replace(year=now.year - 1)))
        session.add(Outbox(kind="reply", status="failed", message_id="<renvoi@example.org>",
                           sender="pref-qualite@haute-savoie.gouv.fr", recipients=["jeanne.martin@example.org"], subject="Re: titre",
                           data=b"Subject: Re: titre\r\n\r\nBonjour\r\n", attempts=1, last_error="550 refusé",
                           created_at=now, created_by="agent.qualite", mailbox="qualite"))
        raw = b"From: x\r\nSubject: \xff\xfe illisible\r\n\r\ncorps brut\r\n"
        session.add(Quarantine(mailbox="qualite", folder="INBOX", source="imap", reason="en-tête illisible",
                               size=len(raw), sha256="0" * 64, data=zlib.compress(raw), created_at=now))
    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.goto("/etat")
    heartbeat = page.locator("#battement")
    assert heartbeat.get_attribute("data-stale") == "true" and "fr-alert--error" in heartbeat.get_attribute("class")
    assert "ne relève plus" in heartbeat.inner_text()
    row = page.locator("#table-envois tr[data-outbox]")
    assert "refusé" in row.inner_text() and "550 refusé" in row.inner_text()
    with page.expect_download() as info:
        page.locator("#table-quarantaine").get_by_role("link", name="Télécharger").click()
    assert open(info.value.path(), "rb").read() == raw
    row.get_by_role("button", name="Renvoyer").click()
    page.wait_for_selector("#notice")
    assert "Envoi n°" in page.locator("#notice").inner_text()  # no SMTP in this config: back to waiting, said so
    with Session(site.engine) as session:
        (mail,) = session.execute(select(Outbox)).scalars().all()
    assert mail.attempts == 2 and mail.status == "pending"
    assert page.console_errors == []


def test_admin_creates_changes_resets_and_disables_an_account(page, site):
    sign_in(page, "admin")
    page.wait_for_url("**/comptes")
    page.locator("#nouvel-identifiant").fill("agent.nouveau")
    page.get_by_label("Nom affiché").fill("Agent Nouveau")
    page.get_by_label("Rôle", exact=True).select_option("agent")
    page.locator("#formulaire-compte").get_by_text("Mission qualité", exact=True).click()  # DSFR: the label is clicked
    page.get_by_role("button", name="Créer le compte").click()
    password = page.locator("#mot-de-passe-unique").inner_text()
    assert len(password) >= 12
    # the new password works, and the CLI lists the account as created by the page
    agent = site.client()
    assert agent.sign_in("agent.nouveau", password).status_code == 303
    listed = {a["login"]: a for a in json.loads(tracer_cli(site, "user", "list", "--json").stdout)}
    assert listed["agent.nouveau"]["role"] == "agent" and listed["agent.nouveau"]["services"] == ["qualite"]
    page.goto("/comptes")
    row = page.locator("tr[data-login='agent.nouveau']")
    assert "jamais" not in row.inner_text()  # its last sign-in shows
    row.get_by_label("Rôle de agent.nouveau").select_option("auditeur")
    row.get_by_role("button", name="Modifier agent.nouveau").click()
    page.wait_for_selector("#notice")
    assert "auditeur" in page.locator("#notice").inner_text()
    assert agent.get("/demandes").status_code == 303  # its session ended with the change of rights
    page.locator("tr[data-login='agent.nouveau']").get_by_role("button", name="Réinitialiser le mot de passe de agent.nouveau").click()
    new_password = page.locator("#mot-de-passe-unique").inner_text()
    assert new_password != password
    assert site.client().sign_in("agent.nouveau", password).status_code == 401
    assert site.client().sign_in("agent.nouveau", new_password).status_code == 303
    page.goto("/comptes")
    page.locator("tr[data-login='agent.nouveau']").get_by_role("button", name="Désactiver agent.nouveau").click()
    page.wait_for_selector("#notice")
    assert "désactivé" in page.locator("tr[data-login='agent.nouveau']").inner_text()
    assert site.client().sign_in("agent.nouveau", new_password).status_code == 401
    assert "agent.nouveau" in page.locator("#table-connexions").inner_text()
    with Session(site.engine) as session:
        kinds = [e.kind for e in session.execute(select(Event).where(Event.actor == "admin")).scalars()]
    assert {"compte_cree", "compte_modifie", "mot_de_passe_reinitialise", "compte_desactive"} <= set(kinds)
    assert page.console_errors == []
    # a mistake is a French message in the page (answered 400), not a traceback
    page.locator("#nouvel-identifiant").fill("agent.sans.service")
    page.get_by_label("Rôle", exact=True).select_option("agent")
    page.get_by_role("button", name="Créer le compte").click()
    assert "au moins un service" in page.locator("#erreur-compte").inner_text()


def test_accounts_page_is_the_administrators_only(site):
    for login in ("referent", "auditeur", "agent.qualite"):
        assert site.client(login).get("/comptes").status_code == 403


def _outbox_and_quarantine(site):
    import zlib

    from tracer.core import clock
    from tracer.store import db
    from tracer.store.models import Outbox, Quarantine

    now = clock.now()
    with db.session_scope(site.engine) as session:
        session.add(Outbox(kind="reply", status="failed", message_id="<a11y@example.org>", sender="x@example.org",
                           recipients=["y@example.org"], subject="Re: x", data=b"Subject: x\r\n\r\nx\r\n", attempts=1,
                           last_error="550 refusé", created_at=now, created_by="agent.qualite"))
        session.add(Quarantine(mailbox="qualite", folder="INBOX", reason="en-tête illisible", size=3, sha256="1" * 64,
                               data=zlib.compress(b"abc"), created_at=now))


def test_the_referent_pages_filled_in_have_no_a_or_aa_violation(site, browser):
    """axe-core on each page of this issue with its content: charts, a drawn sample with a grid, the freeze
    confirmation, a frozen quarter with its gaps, the journal, the outbox and quarantine, the accounts."""
    from test_web_a11y import axe_violations, node_tools
    from tracer.core import clock
    from tracer.register import requests as reg
    from tracer.reports import control_sheet
    from tracer.store import db

    node_tools()
    _outbox_and_quarantine(site)
    with db.session_scope(site.engine) as session:
        drawn = control_sheet.draw(session, site.runtime, QUARTER, 3, 7, "referent", clock.now())
        control_sheet.record(session, site.runtime, QUARTER, drawn["references"][0], {"clair": True}, "vu", "referent",
                             clock.now())
    bad = {}
    for login, paths in (  # one browser context per login
        ("referent", [f"/indicateurs?periode=trimestre&valeur={QUARTER}",
                      "/indicateurs?periode=annee&valeur=2026&par=month", f"/controle?trimestre={QUARTER}",
                      f"/indicateurs/figer?trimestre={QUARTER}", "/journal", "/etat"]),
        ("auditeur", [f"/controle?trimestre={QUARTER}&demande={drawn['references'][0]}", "/etat"]),
        ("admin", ["/comptes"]),
    ):
        context = browser.new_context(base_url=site.url, locale="fr-FR")
        page = context.new_page()
        sign_in(page, login)
        page.wait_for_load_state("networkidle")
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            bad.update({f"{login} {path}": v for v in [axe_violations(page)] if v})
        if login == "referent":  # the frozen quarter with a gap since publication
            page.goto(f"/indicateurs/figer?trimestre={QUARTER}")
            page.get_by_role("button", name=re.compile("Confirmer")).click()
            page.wait_for_selector("#chiffres-figes")
            with db.session_scope(site.engine) as session:
                reg.reclassify(session, site.runtime, site.refs["q3"][0], "reclamation", "referent", clock.now(),
                               topic="rendez_vous")
            page.reload()
            page.wait_for_selector("#table-ecarts")
            bad.update({f"{login} frozen": v for v in [axe_violations(page)] if v})
        if login == "admin":  # a password shown once
            page.get_by_role("button", name="Réinitialiser le mot de passe de agent.accueil").click()
            page.wait_for_selector("#mot-de-passe-unique")
            bad.update({f"{login} reset": v for v in [axe_violations(page)] if v})
        context.close()
    assert not bad, "\n".join(f"{path}: {line}" for path, lines in bad.items() for line in lines)


def test_tracer_user_update_and_password_are_the_pages_functions(site):
    changed = tracer_cli(site, "user", "update", "agent.accueil", "--role", "auditeur")
    assert changed.returncode == 0, changed.stderr
    assert "auditeur" in changed.stdout
    page = site.client("admin").get("/comptes").text
    row = re.search(r'<tr data-login="agent.accueil">(.*?)</tr>', page, re.S).group(1)
    assert "auditeur" in row and "accueil" not in re.sub(r"<form.*?</form>", "", row, flags=re.S).split("</td>")[2]
    assert tracer_cli(site, "user", "update", "agent.accueil", "--role", "auditeur").returncode == 1  # nothing changes
    reset = tracer_cli(site, "user", "password", "agent.accueil")
    assert reset.returncode == 0, reset.stderr
    password = reset.stdout.strip().splitlines()[-1]
    assert site.client().sign_in("agent.accueil", password).status_code == 303
    assert site.client().sign_in("agent.accueil", PASSWORD).status_code == 401
    unknown = tracer_cli(site, "user", "password", "personne")
    assert unknown.returncode == 1 and "introuvable" in unknown.stderr and "Traceback" not in unknown.stderr


def test_referent_draws_and_fills_a_grid_with_the_keyboard_alone(page, site):
    from test_web_keyboard import tab_to

    sign_in(page, "referent")
    page.wait_for_url("**/demandes")
    page.goto(f"/controle?trimestre={QUARTER}")
    tab_to(page, "#taille")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "#graine-tirage")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    page.wait_for_selector("#echantillon")
    assert page.locator("#graine").inner_text() == "5"
    tab_to(page, "#critere-clair")
    page.keyboard.press("Space")
    tab_to(page, "#critere-courtois")
    page.keyboard.press("Space")
    tab_to(page, "#formulaire-grille button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#notice")
    assert page.locator("#progression").inner_text().startswith("1 / 2 contrôlées")
    assert page.locator("#table-criteres tr[data-key='courtois'] td").all_inner_texts() == ["1", "1", "100,00 %"]
    assert page.locator("#table-criteres tr[data-key='signe'] td").all_inner_texts() == ["1", "0", "0,00 %"]
    # the dashboard's grouping, chosen with the keyboard
    page.goto(f"/indicateurs?periode=trimestre&valeur={QUARTER}")
    tab_to(page, "#par")
    page.keyboard.press("ArrowDown")  # service -> catégorie
    tab_to(page, "#choix-periode button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**par=category**")
    assert page.locator("#table-indicateurs tr[data-key='reclamation'] th").inner_text() == "Réclamation"
