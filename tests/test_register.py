"""The register: paper letters, reclassification, transfer, references, events."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import Session

from mailfactory import make_mail
from tracer.core import config
from tracer.store import db
from tracer.mail import ingest
from tracer.register import requests as register
from tracer.core.errors import UserError
from tracer.services import Runtime

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 9, 20, 12, tzinfo=PARIS)

CONFIG = """
[tracer]
database_url = "sqlite:///{db}"
reference_prefix = "PREF74"

[[service]]
name = "qualite"
label = "Mission qualité"

[[service]]
name = "etrangers"
label = "Bureau des étrangers"
"""


@pytest.fixture
def cfg_path(tmp_path):
    path = tmp_path / "tracer.toml"
    path.write_text(CONFIG.format(db=tmp_path / "t.db"), encoding="utf-8")
    return path


def tracer(cfg_path, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg_path), *args],
                            capture_output=True, text=True, env={"TRACER_NOW": NOW.isoformat(), "PATH": "/usr/bin:/bin"})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_paper_letter_gets_ten_working_days_and_reclassify_transfer_are_events(cfg_path):
    out = json.loads(tracer(cfg_path, "register-paper", "--received", "2026-09-07", "--sender", "Mme Yvette Roux",
                            "--subject", "Lettre au sujet de l'accueil", "--service", "qualite", "--json").stdout)
    ref = out["reference"]
    assert ref == "PREF74-2026-00001" and out["channel"] == "paper"
    assert out["deadline"] == "2026-09-21T23:59:59+02:00"  # 10 working days
    tracer(cfg_path, "reclassify", ref, "hors_perimetre", "--by", "agent.martin", "--reason", "dossier en cours")
    shown = json.loads(tracer(cfg_path, "show", ref, "--json").stdout)
    assert shown["category"] == "hors_perimetre" and shown["deadline"] is None and shown["status"] == "excluded"
    tracer(cfg_path, "reclassify", ref, "reclamation", "--by", "agent.martin")
    tracer(cfg_path, "transfer", ref, "etrangers", "--by", "agent.durand")
    shown = json.loads(tracer(cfg_path, "show", ref, "--json").stdout)
    assert shown["service"] == "etrangers" and shown["received_at"] == out["received_at"]
    assert shown["deadline"] == "2026-09-21T23:59:59+02:00"
    kinds = [(e["kind"], e["actor"]) for e in shown["events"]]
    assert kinds == [("received", "tracer"), ("reclassified", "agent.martin"), ("reclassified", "agent.martin"),
                     ("transferred", "agent.durand")]
    first = shown["events"][1]["data"]
    assert first["old_category"] == "information" and first["new_category"] == "hors_perimetre" and first["reason"] == "dossier en cours"


def test_user_errors_are_one_french_line(cfg_path):
    bad = tracer(cfg_path, "transfer", "PREF74-2026-99999", "qualite", "--by", "x", check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "tracer : demande PREF74-2026-99999 introuvable"
    bad = tracer(cfg_path, "register-paper", "--received", "hier", "--sender", "x", "--subject", "y", "--service", "qualite", check=False)
    assert bad.returncode == 1 and "--received" in bad.stderr and "Traceback" not in bad.stderr
    bad = tracer(cfg_path, "register-paper", "--received", "2026-09-01", "--sender", "x", "--subject", "y", "--service", "inconnu", check=False)
    assert "service inconnu" in bad.stderr
    bad = tracer(cfg_path, "cases", "--as-of", "demain", check=False)
    assert bad.returncode == 1 and "--as-of" in bad.stderr


def test_deadline_follows_a_change_of_category_from_the_original_reception(engine):
    rt = Runtime(config.from_dict({"mailbox": [{"name": "q", "address": "q@x.fr", "host": "127.0.0.1", "tls": "none"}]}))
    when = datetime(2026, 9, 7, 10, tzinfo=PARIS)
    ingest.record_batch(engine, rt, [ingest.Incoming(make_mail(message_id="<r1@x>"), when, "q", "inbox")], NOW)
    with Session(engine) as session, session.begin():
        (case,) = register.list_cases(session, rt, as_of=NOW)
        request = register.reclassify(session, rt, case["reference"], "automatique", "agent", NOW)
        assert request.deadline is None
        request = register.reclassify(session, rt, case["reference"], "information", "agent", NOW)
        assert request.deadline == datetime(2026, 9, 14, 23, 59, 59, tzinfo=PARIS)
        with pytest.raises(UserError):
            register.reclassify(session, rt, case["reference"], "n_importe_quoi", "agent", NOW)


def test_references_are_unique_and_gapless_under_concurrent_writers(db_url):
    engine = db.open_engine(db_url)
    rt = Runtime(config.from_dict({"tracer": {"reference_prefix": "PREF74"}}))
    errors = []

    def writer(n):
        try:
            for i in range(10):
                with Session(engine) as session:
                    register.register_paper(session, rt, received="2026-09-01", sender=f"w{n}", subject=str(i), service="x", now=NOW)
                    session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        refs = [r for (r,) in conn.execute(text("select reference from request"))]
    assert sorted(int(r[-5:]) for r in refs) == list(range(1, 41))
    engine.dispose()


def test_events_have_no_update_or_delete_path():
    """Append-only: no code path updates or deletes an Event row."""
    import pathlib
    import re

    source = "\n".join(p.read_text() for p in pathlib.Path(register.__file__).parent.rglob("*.py"))
    assert not re.search(r"(update|delete)\(\s*Event\b", source)
    assert "session.delete(" not in source
