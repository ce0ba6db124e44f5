"""A message's HTML version sanitised and its attachments downloaded, within the reader's scope."""

from __future__ import annotations

from email.message import EmailMessage

from conftest import QUALITE_BOX, sign_in


def _html_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Usager <claire.petit@example.org>"
    msg["To"] = QUALITE_BOX
    msg["Subject"] = "Réclamation sur le délai de mon permis"
    msg["Message-ID"] = "<html-mail@example.org>"
    msg.set_content("Bonjour,\nmon permis tarde.\n")
    msg.add_alternative('<p onclick="alert(1)">Bonjour, <b>mon permis</b> tarde.</p><script>alert(2)</script>'
                        '<img src="http://pisteur.example/p.gif"><a href="javascript:alert(3)">lien</a>'
                        '<a href="https://www.service-public.fr/">service public</a>', subtype="html")
    msg.add_attachment(b"%PDF-1.4 liste", maintype="application", subtype="pdf", filename="liste des pièces.pdf")
    return bytes(msg)


def _import(web_server, tmp_path) -> str:
    from tracer.core import clock
    from tracer.mail import ingest
    from tracer.register import requests as reg
    from tracer.store import db

    path = tmp_path / "html.eml"
    path.write_bytes(_html_mail())
    ingest.import_paths(web_server.engine, web_server.runtime, [str(path)], "qualite", clock.now())
    with db.read_scope(web_server.engine) as session:
        (case,) = reg.list_cases(session, web_server.runtime, search="délai de mon permis", as_of=clock.now())
    return case["reference"]


def test_the_html_version_is_shown_sanitised_and_the_attachment_downloads(page, web_server, tmp_path):
    ref = _import(web_server, tmp_path)
    sign_in(page, "agent.qualite")
    page.wait_for_url("**/demandes")
    page.goto(f"/demandes/{ref}")
    page.get_by_role("link", name="Version mise en forme (HTML nettoyé)").click()
    page.wait_for_url(f"**/demandes/{ref}/messages/1")
    shown = page.locator("#message-html")
    assert "mon permis" in shown.inner_text()
    markup = shown.inner_html()
    assert "onclick" not in markup and "<script" not in markup and "<img" not in markup and "javascript:" not in markup
    assert 'href="https://www.service-public.fr/"' in markup and "noopener" in markup
    assert page.console_errors == []
    page.goto(f"/demandes/{ref}")
    with page.expect_download() as download:
        page.get_by_role("link", name="liste des pièces.pdf").click()
    assert download.value.suggested_filename == "liste des pièces.pdf"
    assert open(download.value.path(), "rb").read() == b"%PDF-1.4 liste"


def test_another_services_message_and_attachment_are_404(web_server, tmp_path):
    ref = _import(web_server, tmp_path)
    own = web_server.client("agent.qualite")
    got = own.get(f"/demandes/{ref}/messages/1/pieces/1")
    assert got.status_code == 200 and got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    other = web_server.client("agent.accueil")
    assert other.get(f"/demandes/{ref}/messages/1").status_code == 404
    assert other.get(f"/demandes/{ref}/messages/1/pieces/1").status_code == 404
    assert own.get(f"/demandes/{ref}/messages/9").status_code == 404
