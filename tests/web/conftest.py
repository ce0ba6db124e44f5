"""Web fixtures: a real tracer web server (uvicorn) over a seeded database, and Chromium.

- ``web_server``: ``create_app`` served by uvicorn in a thread on a free port,
  over a fresh SQLite database (``@pytest.mark.parametrize("web_db",
  ["sqlite", "postgresql"], indirect=True)`` for PostgreSQL too), with two
  services, seeded requests (e-mail and paper, in both services) and one
  account per role (password ``PASSWORD``); an ``smtp_server`` sink when the
  test asks for it (``web_server.smtp``);
- ``browser`` and ``page`` (a fresh Chromium per test): playwright's
  sync API driving Debian's Chromium (``/usr/bin/chromium``), no download;
- ``WebClient``: an httpx client that signs in through the real form.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mailfactory import make_mail
from smtpsink import free_port

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "mot-de-passe-web"
QUALITE_BOX = "pref-qualite@haute-savoie.gouv.fr"
ACCUEIL_BOX = "prefecture@haute-savoie.gouv.fr"
# login: (role, services)
ACCOUNTS = {
    "agent.qualite": ("agent", ["qualite"]),
    "agent.accueil": ("agent", ["accueil"]),
    "referent": ("referent", []),
    "auditeur": ("auditeur", []),
    "admin": ("admin", []),
}


@dataclass
class WebSite:
    url: str
    engine: object
    runtime: object
    config_path: Path
    refs: dict = field(default_factory=dict)  # name -> reference
    smtp: object = None

    def client(self, login: str | None = None) -> "WebClient":
        c = WebClient(self.url)
        if login:
            c.sign_in(login)
        return c


class WebClient(httpx.Client):
    def __init__(self, base_url: str):
        super().__init__(base_url=base_url, follow_redirects=False, timeout=30)

    def csrf(self, path: str = "/connexion") -> str:
        page = self.get(path, follow_redirects=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf("/connexion")
        return self.post("/connexion", data={"identifiant": login, "mot_de_passe": password, "csrf_token": token})


def _config_text(db_url: str, smtp_port: int | None) -> str:
    text = f"""
[tracer]
database_url = "{db_url}"
reference_prefix = "PREF74"

[[mailbox]]
name = "qualite"
address = "{QUALITE_BOX}"
service = "qualite"
host = "127.0.0.1"
tls = "none"

[[mailbox]]
name = "accueil"
address = "{ACCUEIL_BOX}"
service = "accueil"
host = "127.0.0.1"
tls = "none"

[[service]]
name = "qualite"
label = "Mission qualité"
signature = "Préfecture de la Haute-Savoie – Mission qualité"

[[service]]
name = "accueil"
label = "Accueil général"
signature = "Préfecture de la Haute-Savoie – Accueil général"

[web]
base_url = "http://127.0.0.1:8000"
"""
    if smtp_port is not None:
        text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\ntimeout = 5\n'
    return text


def seed(engine, rt, folder: Path, now) -> dict:
    """Requests of both services (e-mail and paper) and one account per role."""
    from tracer.mail import ingest
    from tracer.register import accounts
    from tracer.register import requests as reg
    from tracer.store import db

    refs = {}
    mails = {
        "qualite_mail": ("qualite", QUALITE_BOX, "Renouvellement de mon titre de séjour", "jeanne.martin@example.org", 1),
        "accueil_mail": ("accueil", ACCUEIL_BOX, "Horaires d'ouverture du guichet", "paul.durand@example.org", 2),
    }
    for name, (box, to, subject, sender, days) in mails.items():
        path = folder / f"{name}.eml"
        path.write_bytes(make_mail(sender=f"Usager <{sender}>", to=to, subject=subject,
                                   message_id=f"<{name}@example.org>", date=now - timedelta(days=days)))
        ingest.import_paths(engine, rt, [str(path)], box, now)
    with db.session_scope(engine) as session:
        for name, (box, _to, _subject, _sender, _days) in mails.items():
            (case,) = reg.list_cases(session, rt, service=box, as_of=now, search=mails[name][2][:20])
            refs[name] = case["reference"]
        for name, service in (("qualite_paper", "qualite"), ("accueil_paper", "accueil")):
            request = reg.register_paper(session, rt, received=(now - timedelta(days=3)).date().isoformat(),
                                         sender="Jean Courrier", subject=f"Courrier pour {service}", service=service,
                                         now=now, by="agent.test")
            refs[name] = request.reference
        for login, (role, services) in ACCOUNTS.items():
            accounts.add_account(session, login, role, now, password=PASSWORD, services=services,
                                 name=login.replace(".", " ").title())
    return refs


class _Server:
    def __init__(self, app, port: int):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("tracer web did not start")
            time.sleep(0.02)
        return self

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def web_db(request, tmp_path):
    """The web server's database: SQLite, or PostgreSQL with ``indirect`` parametrisation."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'web.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def web_server(request, tmp_path, web_db):
    from tracer.core import clock
    from tracer.core import config as config_mod
    from tracer.services import Runtime
    from tracer.store import db
    from tracer.web.app import create_app

    smtp = request.getfixturevalue("smtp_server") if "smtp_server" in request.fixturenames else None
    path = tmp_path / "tracer.toml"
    path.write_text(_config_text(web_db, smtp.port if smtp else None), encoding="utf-8")
    rt = Runtime(config_mod.load(str(path)))
    engine = db.open_engine(rt.cfg.database_url)
    refs = seed(engine, rt, tmp_path, clock.now())
    port = free_port()
    server = _Server(create_app(rt, engine=engine), port).start()
    yield WebSite(url=f"http://127.0.0.1:{port}", engine=engine, runtime=rt, config_path=path, refs=refs, smtp=smtp)
    server.stop()
    engine.dispose()


@pytest.fixture
def browser():
    # One per test, not per session: playwright's sync API keeps an asyncio loop
    # running in the main thread while it is open, and every later asyncio.run()
    # of the process (the outbox's SMTP sessions) would fail.
    if not Path(CHROMIUM).exists():
        reason = f"Chromium absent ({CHROMIUM}, paquet chromium)"
        if os.environ.get("TRACER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"service required under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, web_server):
    context = browser.new_context(base_url=web_server.url, locale="fr-FR")
    tab = context.new_page()
    errors = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.console_errors = errors
    yield tab
    context.close()


def sign_in(page, login: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/connexion")
    page.get_by_label("Identifiant", exact=True).fill(login)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
