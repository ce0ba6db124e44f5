"""Keyboard only (RGAA 7.3, WCAG 2.1.1), in Chromium: an agent signs in, finds and opens a request, and
answers it with a template (chosen with the arrow keys, text edited, sent) with Tab, arrows, typing and
Enter alone; the focus always lands on a visible control."""

from __future__ import annotations

from conftest import PASSWORD  # tests/web/conftest.py

MAX_TABS = 120


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), id: e.id, href: e.getAttribute('href'), text: (e.innerText || '').trim(),
                visible: !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)}; }""")


def tab_to(page, selector: str) -> dict:
    """Press Tab until ``selector`` has the focus (never the mouse); fail after MAX_TABS presses."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("sel => document.activeElement.matches(sel)", selector):
            now = focused(page)
            assert now["visible"], now
            return now
        seen.append(focused(page))
    raise AssertionError(f"{selector} never reached with Tab: {seen[:40]}")


def test_an_agent_signs_in_finds_and_opens_a_request_with_the_keyboard_alone(page, web_server):
    ref = web_server.refs["qualite_mail"]
    page.goto("/connexion")
    assert focused(page)["id"] == "identifiant"  # autofocus: typing starts at once
    page.keyboard.type("agent.qualite")
    tab_to(page, "#mot_de_passe")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/demandes")
    # the skip link comes first and leads to the content
    page.keyboard.press("Tab")
    assert focused(page)["href"] == "#contenu"
    page.keyboard.press("Enter")
    tab_to(page, f"a[href='/demandes/{ref}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/demandes/{ref}")
    assert ref in page.get_by_role("heading", level=1).inner_text()
    # and out, still with the keyboard
    tab_to(page, "form[action='/deconnexion'] button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/connexion")
    assert page.console_errors == []


def test_an_agent_answers_with_a_template_with_the_keyboard_alone(page, web_server, smtp_server):
    from playwright.sync_api import expect

    ref = web_server.refs["qualite_mail"]
    page.goto("/connexion")
    page.keyboard.type("agent.qualite")
    tab_to(page, "#mot_de_passe")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/demandes")
    tab_to(page, f"a[href='/demandes/{ref}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/demandes/{ref}")
    tab_to(page, "#bouton-repondre")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/demandes/{ref}/repondre")
    tab_to(page, "#modele-choix")
    # arrow keys move through the templates of a closed list; each choice reloads the form in place (htmx)
    choice = page.locator("#modele-choix")
    for _ in range(12):
        if choice.input_value() == "titre_sejour_renouvellement":
            break
        # a key pressed while the last swap is still settling goes to the list being replaced,
        # and its choice is lost with it (seen once under CI): wait until htmx is idle
        page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
        page.keyboard.press("ArrowDown")
        chosen = choice.input_value()
        page.wait_for_url(f"**modele={chosen}")  # the form of that template is in place
        expect(choice).to_have_value(chosen)
        assert focused(page)["id"] == "modele-choix"  # the focus stays on the list after the swap
    assert choice.input_value() == "titre_sejour_renouvellement"
    tab_to(page, "#texte")
    page.keyboard.press("Control+End")
    page.keyboard.type("\nPièce jointe : la liste des documents.")
    expect(page.locator("#apercu-texte")).to_contain_text("la liste des documents")  # the preview follows
    tab_to(page, "#envoyer")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/demandes/{ref}")
    assert page.locator("#notice").inner_text() == "Réponse envoyée."
    (mail,) = smtp_server.parsed()
    assert mail["Subject"] == f"RE: Renouvellement de mon titre de séjour [{ref}]"
    assert "la liste des documents" in mail.get_body(("plain",)).get_content()
    assert page.console_errors == []
