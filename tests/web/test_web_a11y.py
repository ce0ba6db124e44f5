"""Accessibility (RGAA follows WCAG 2.1 AA): axe-core (npm, pinned in tests/web/node/package-lock.json)
run in the same Chromium on every page each role reaches, and the error pages; no violation of level A or AA."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from conftest import sign_in  # tests/web/conftest.py
from test_web_oidc import NODE_DIR, node_tools

AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
REFERENCE = re.compile(r"[A-Z0-9]+-\d{4}-\d+")
MAX_PAGES = 40
DOWNLOADS = (".csv", ".xlsx", ".eml", "/pieces/")  # files, not pages (attachments: /demandes/REF/messages/N/pieces/K)


def axe_violations(page) -> list[str]:
    """axe-core's A/AA violations of the page as shown, one line each (rule, impact, first nodes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # through the DevTools protocol: the CSP does not apply
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + " | ".join(n["html"][:160] for n in v["nodes"][:3])
            for v in result["violations"]]


def _shape(path: str) -> str:
    """Pages of one template once: /demandes/PREF74-2026-000001 and …000002 are the same page."""
    parts = urlsplit(path)
    return REFERENCE.sub("REF", parts.path) + ("?" + parts.query.split("&")[0].split("=")[0] if parts.query else "")


def _links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        href = (href or "").split("#")[0]
        if not href.startswith("/") or href.startswith(("//", "/static/", "/api/")) or any(ext in href for ext in DOWNLOADS):
            continue
        out.append(href)
    return out


def crawl(page, base: str, start: list[str]) -> dict[str, list[str]]:
    """Every page reachable by GET links from ``start`` (one per shape), with its violations."""
    found, queue, seen = {}, list(start), set()
    while queue and len(found) < MAX_PAGES:
        path = queue.pop(0)
        if _shape(path) in seen:
            continue
        seen.add(_shape(path))
        response = page.goto(base + path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        page.wait_for_load_state("networkidle")
        found[page.url.removeprefix(base)] = axe_violations(page)
        queue += _links(page)
    return found


@pytest.fixture
def axe_page(page):
    node_tools()
    return page


def test_the_sign_in_page_and_its_error_have_no_a_or_aa_violation(axe_page):
    axe_page.goto("/connexion")
    assert axe_violations(axe_page) == []
    sign_in(axe_page, "agent.qualite", "mauvais-mot-de-passe")
    axe_page.wait_for_selector("#erreur-connexion")
    assert axe_violations(axe_page) == []


@pytest.mark.parametrize("login", ["agent.qualite", "referent", "auditeur", "admin"])
def test_every_page_a_role_reaches_has_no_a_or_aa_violation(axe_page, web_server, login):
    sign_in(axe_page, login)
    axe_page.wait_for_load_state("networkidle")
    ref = web_server.refs["qualite_mail"]
    start = ["/", f"/demandes/{ref}", f"/demandes/{web_server.refs['qualite_paper']}",
             f"/demandes/{ref}/repondre?modele=titre_sejour_renouvellement"]  # a template chosen, its preview shown
    pages = crawl(axe_page, web_server.url, start)
    assert len(pages) >= (1 if login == "admin" else 3), pages.keys()
    bad = {path: v for path, v in pages.items() if v}
    assert not bad, "\n".join(f"{path}: {line}" for path, lines in bad.items() for line in lines)


def test_the_error_pages_have_no_a_or_aa_violation(axe_page, web_server):
    sign_in(axe_page, "agent.qualite")
    axe_page.wait_for_url("**/demandes")
    assert axe_page.goto(f"/demandes/{web_server.refs['accueil_mail']}").status == 404
    assert axe_violations(axe_page) == []
    assert axe_page.goto("/nulle-part").status == 404
    assert axe_violations(axe_page) == []
    axe_page.context.clear_cookies()
    sign_in(axe_page, "admin")
    assert axe_page.goto("/demandes").status == 403
    assert axe_violations(axe_page) == []
