"""``tracer demo``: the whole chain on a bundled sample of fictional French mail.

Builds a throw-away configuration (two functional mailboxes of a fictional
Haute-Savoie prefecture), imports ``tracer/demo_mail/`` (inbox, then the
replies in ``sent/``) into a SQLite database and returns the register.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from tracer.core import config as config_mod
from tracer.store import db
from tracer.mail import ingest
from tracer.core import paths
from tracer.register import requests as register
from tracer.services import Runtime

DEMO_CONFIG = {
    "tracer": {"reference_prefix": "PREF74", "timezone": "Europe/Paris", "holiday_zone": "metropole"},
    "mailbox": [
        {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr", "service": "qualite", "host": "127.0.0.1", "tls": "none"},
        {"name": "accueil", "address": "prefecture@haute-savoie.gouv.fr", "service": "accueil", "host": "127.0.0.1", "tls": "none"},
    ],
    "service": [
        {"name": "qualite", "label": "Mission qualité", "signature": "Préfecture de la Haute-Savoie – Mission qualité"},
        {"name": "accueil", "label": "Accueil général", "signature": "Préfecture de la Haute-Savoie – Accueil général"},
    ],
}


def demo_config(data_dir: Path) -> config_mod.Config:
    data = {**DEMO_CONFIG, "tracer": {**DEMO_CONFIG["tracer"], "database_url": f"sqlite:///{data_dir / 'demo.db'}"}}
    return config_mod.from_dict(data)


def run(data_dir: str | None, now: datetime) -> dict:
    folder = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="tracer-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    cfg = demo_config(folder)
    rt = Runtime(cfg)
    rt.check()
    engine = db.open_engine(cfg.database_url)
    mail = paths.demo_mail_dir()
    inbox = sorted(p for p in mail.glob("*.eml"))
    sent = sorted((mail / "sent").glob("*.eml"))
    total = ingest.Summary()
    for path in inbox:
        box = "accueil" if b"prefecture@haute-savoie.gouv.fr" in _to_line(path) else "qualite"
        total.merge(ingest.import_paths(engine, rt, [str(path)], box, now))
    for path in sent:
        box = "accueil" if b"From: prefecture@" in path.read_bytes()[:4096] else "qualite"
        total.merge(ingest.import_paths(engine, rt, [str(path)], box, now, role="sent"))
    with db.session_scope(engine) as session:
        cases = register.list_cases(session, rt, status="all", as_of=now)
    engine.dispose()
    return {"database": cfg.database_url, "folder": str(folder), "import": total.as_dict(), "cases": cases}


def _to_line(path: Path) -> bytes:
    head = path.read_bytes()[:8192].lower()
    for line in head.splitlines():
        if line.startswith(b"to:"):
            return line
    return b""
