"""``tracer demo``: the whole chain on a bundled sample of fictional French mail.

A fictional Haute-Savoie prefecture with two functional mailboxes and a
believable quarter (``scripts/make_demo_mail.py``): most requests answered in
time, three late, one overdue, three received in the last days. Every date of
the bundled mail is moved by whole days so that the sample's last day is
today; the moved copies are written in the demo folder (``courriels/``),
imported into a SQLite database beside them, and the folder keeps what a
référent would look at: the digest preview (HTML, its chart inside), the
quarter's XLSX export, and ``demo.toml``, a configuration for exploring the
demo further with every command.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tracer.core import clock
from tracer.core import config as config_mod
from tracer.core import paths
from tracer.mail import ingest
from tracer.register import requests as register
from tracer.services import Runtime
from tracer.store import db

# The sample's own "today" (scripts/make_demo_mail.py): its dates are moved so that it is the day the demo runs.
DEMO_TODAY = datetime(2026, 9, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))

DEMO_CONFIG = {
    "tracer": {"reference_prefix": "PREF74", "timezone": "Europe/Paris", "holiday_zone": "metropole"},
    "mailbox": [
        {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr", "service": "qualite", "host": "127.0.0.1",
         "tls": "none"},
        {"name": "accueil", "address": "prefecture@haute-savoie.gouv.fr", "service": "accueil", "host": "127.0.0.1",
         "tls": "none"},
    ],
    "service": [
        {"name": "qualite", "label": "Mission qualité", "signature": "Préfecture de la Haute-Savoie – Mission qualité",
         "alert_to": ["referent-qualite@haute-savoie.gouv.fr"]},
        {"name": "accueil", "label": "Accueil général", "signature": "Préfecture de la Haute-Savoie – Accueil général",
         "alert_to": ["accueil@haute-savoie.gouv.fr"]},
    ],
    "digest": {"to": ["referent-qualite@haute-savoie.gouv.fr"]},
}


def write_config(folder: Path) -> Path:
    """``demo.toml`` in the demo folder: the demo database, its mailboxes and services."""
    data = {**DEMO_CONFIG, "tracer": {**DEMO_CONFIG["tracer"], "database_url": f"sqlite:///{folder / 'demo.db'}"}}
    path = folder / "demo.toml"
    path.write_text(_toml(data), encoding="utf-8")
    return path


def _toml(data: dict) -> str:
    lines = ["# Configuration written by « tracer demo » for its database (fictional prefecture)."]

    def value(v) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    for key, section in data.items():
        for table in section if isinstance(section, list) else [section]:
            lines += ["", f"[[{key}]]" if isinstance(section, list) else f"[{key}]"]
            lines += [f"{k} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def shift_days(now: datetime, tz=clock.PARIS) -> int:
    """Whole days from the sample's today to the real one."""
    return (clock.local(now, tz).date() - DEMO_TODAY.date()).days


_DATED = re.compile(rb"^(Received:[^\n]*;\s*|Date:\s*)([^\n]+?)(\r?)$", re.M | re.I)


def moved(raw: bytes, days: int) -> bytes:
    """The message with its ``Received:`` and ``Date:`` headers moved by ``days`` (the body is left as written)."""
    end = raw.find(b"\n\n")
    head, body = (raw[:end], raw[end:]) if end >= 0 else (raw, b"")

    def one(m: re.Match) -> bytes:
        try:
            when = parsedate_to_datetime(m.group(2).decode("ascii").strip())
        except (TypeError, ValueError, UnicodeDecodeError):
            return m.group(0)
        return m.group(1) + format_datetime(when + timedelta(days=days)).encode() + m.group(3)

    return _DATED.sub(one, head) + body


def _mailbox_of(raw: bytes, role: str) -> str:
    head = raw[:8192].lower()
    if role == "sent":
        return "accueil" if b"\nfrom: prefecture@" in b"\n" + head else "qualite"
    for line in head.splitlines():
        if line.startswith(b"to:"):
            return "accueil" if b"prefecture@haute-savoie.gouv.fr" in line else "qualite"
    return "qualite"


def run(data_dir: str | None, now: datetime) -> dict:
    """Build the demo in ``data_dir`` (a new temporary folder when None) as of ``now``; return what it made."""
    from tracer.outgoing import digest
    from tracer.reports import exports, stats

    folder = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="tracer-demo-"))
    paths.make_private_dir(folder)
    (folder / "demo.db").unlink(missing_ok=True)  # a second run starts afresh
    config_path = write_config(folder)
    cfg = config_mod.load(str(config_path))
    rt = Runtime(cfg)
    rt.check()
    days = shift_days(now, cfg.tz)
    mail = folder / "courriels"
    (mail / "envoyes").mkdir(parents=True, exist_ok=True)
    source = paths.demo_mail_dir()
    batches: list[tuple[Path, str, str]] = []
    for path, role in [*((p, "inbox") for p in sorted(source.glob("*.eml"))),
                       *((p, "sent") for p in sorted((source / "sent").glob("*.eml")))]:
        raw = moved(path.read_bytes(), days)
        target = (mail / "envoyes" if role == "sent" else mail) / path.name
        target.write_bytes(raw)
        batches.append((target, _mailbox_of(raw, role), role))
    engine = db.open_engine(cfg.database_url)
    total = ingest.Summary()
    try:
        for target, box, role in batches:
            total.merge(ingest.import_paths(engine, rt, [str(target)], box, now, role=role))
        start, end = digest.periods(now, cfg.tz).current  # the digest's rolling quarter, today included
        with db.session_scope(engine) as session:
            cases = register.list_cases(session, rt, status="all", as_of=now)
            figures = stats.compute(session, rt, start, end, now, ["service"])
            monthly = stats.compute(session, rt, start, end, now, ["month"])
            weekly = digest.build(session, rt, now)
    finally:
        engine.dispose()
    services = exports.service_labels(cfg)
    xlsx = folder / "indicateurs.xlsx"
    exports.to_xlsx(figures, ["service"], xlsx, monthly, services, "Indicateurs du trimestre", cfg.tz)
    page = folder / "bilan-hebdomadaire.html"
    page.write_text(digest.render_html(weekly, None, chart_src=digest.chart_data_uri(weekly)), encoding="utf-8")
    return {
        "database": cfg.database_url,
        "folder": str(folder),
        "temporary": data_dir is None,
        "config": str(config_path),
        "import": total.as_dict(),
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "stats": figures,
        "cases": cases,
        "digest_html": str(page),
        "xlsx": str(xlsx),
    }



DEMO_ACCOUNTS = [("agent.demo", "agent", "Agent de démonstration"),
                 ("referent.demo", "referent", "Référent de démonstration")]


def add_web_accounts(cfg, now: datetime) -> list[tuple[str, str, str]]:
    """The demo's web accounts (an agent of every demo service, a référent), each with a
    new random password: ``[(login, role in French, password)]``."""
    import secrets

    from tracer.register import accounts

    engine = db.open_engine(cfg.database_url)
    made = []
    try:
        with db.session_scope(engine) as session:
            known = {a.login for a in accounts.list_accounts(session)}
            for login, role, name in DEMO_ACCOUNTS:
                if login in known:
                    continue
                password = secrets.token_urlsafe(9)
                accounts.add_account(session, login, role, now, password=password, name=name,
                                     services=cfg.service_names() if role == "agent" else [])
                made.append((login, accounts.ROLE_FR[role], password))
    finally:
        engine.dispose()
    return made
