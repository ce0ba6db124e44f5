"""Keyboard only (RGAA 7.3, WCAG 2.1.1): an agent signs in, finds a request and opens it with Tab and Enter
alone, in Chromium; the focus is always visible on a real control."""

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
