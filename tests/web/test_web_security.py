"""Security of the web interface beyond the foundation's tests: the login limit per client address
(as nginx passes it, deploy/nginx-tracer.conf), the security headers on every kind of answer, and
what Chromium does with them (no framing by another site, no inline script run)."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager

from sqlalchemy import select

from conftest import PASSWORD
from tracer.register import accounts
from tracer.store.models import Event


def refused_events(site):
    from sqlmodel import Session

    with Session(site.engine) as session:
        return list(session.execute(select(Event).where(Event.kind == "connexion_refusee")).scalars())


def test_login_is_rate_limited_per_address_whatever_the_login(web_server):
    """Many logins tried from one address (behind nginx: X-Forwarded-For from 127.0.0.1) lock that address only."""
    attacker = web_server.client()
    attacker.headers["X-Forwarded-For"] = "203.0.113.7"
    for n in range(accounts.MAX_FAILURES_PER_ADDRESS):
        # a different login each time: the per-account limit is never reached
        assert attacker.sign_in(f"essai{n}", "faux-mot-de-passe").status_code == 401
    refused = attacker.sign_in("agent.qualite", PASSWORD)  # even the right password, from there
    assert refused.status_code == 401 and "Trop de tentatives" in refused.text
    events = refused_events(web_server)
    assert len(events) == accounts.MAX_FAILURES_PER_ADDRESS + 1  # each failure an event
    assert {e.data["address"] for e in events} == {"203.0.113.7"}
    assert events[-1].data["reason"] == "trop de tentatives" and events[-1].data["login"] == "agent.qualite"
    assert all(PASSWORD not in str(e.data) and "faux-mot-de-passe" not in str(e.data) for e in events)
    colleague = web_server.client()
    colleague.headers["X-Forwarded-For"] = "203.0.113.8"
    assert colleague.sign_in("agent.qualite", PASSWORD).status_code == 303  # another address is not locked


def _assert_headers(response, what):
    csp = {part.split()[0]: part.split()[1:] for part in response.headers["content-security-policy"].split("; ")}
    assert csp["script-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"], what
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"], what
    assert not any("unsafe" in value for values in csp.values() for value in values), what
    assert response.headers["x-frame-options"] == "DENY", what
    assert response.headers["referrer-policy"] == "same-origin", what


def test_security_headers_on_redirects_refusals_fragments_and_sign_in_answers(web_server):
    anonymous = web_server.client()
    _assert_headers(anonymous.get("/"), "redirection vers /connexion")
    _assert_headers(anonymous.get("/demandes"), "connexion nécessaire")
    _assert_headers(anonymous.get("/api/v1/demandes"), "API 401")
    _assert_headers(anonymous.sign_in("agent.qualite", "faux"), "connexion refusée")
    _assert_headers(anonymous.post("/connexion", data={"identifiant": "x"}), "CSRF refusé")
    _assert_headers(anonymous.sign_in("agent.qualite"), "connexion réussie (303)")
    _assert_headers(anonymous.put("/demandes", headers={"X-CSRF-Token": "x"}), "méthode refusée")
    _assert_headers(anonymous.get("/demandes", headers={"HX-Request": "true"}), "fragment htmx")
    _assert_headers(anonymous.get("/connexion/oidc"), "connexion unique non configurée (404)")


def test_chromium_refuses_to_frame_tracer_and_runs_no_inline_script(page, web_server):
    page.goto("/connexion")
    # an inline script added to a tracer page is refused by the CSP (what a stored injection would be)
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.injected = true'; document.body.appendChild(s); }""")
    assert page.evaluate("() => window.injected === undefined")
    assert any("Content Security Policy" in error for error in page.console_errors)
    # another site (another origin) framing tracer, for clickjacking, gets Chromium's blocked-frame page
    with _other_site(f'<iframe id="cadre" src="{web_server.url}/connexion" title="cadre"></iframe>') as other:
        page.goto(other)
        frame = page.wait_for_selector("#cadre").content_frame()
        frame.wait_for_load_state("load")
        assert frame.url.startswith("chrome-error://"), frame.url
        assert frame.query_selector("#formulaire-connexion") is None


@contextmanager
def _other_site(html: str):
    """A page of another origin (another port), as a hostile site would serve it."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
