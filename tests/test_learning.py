"""The classifier learns from the prefecture's corrections (issue 18).

Agents reclassify requests; ``rules train`` (or the daemon, nightly) retrains
the scorer on the shipped corpora plus those corrections and writes it to the
data folder, where the next classification finds it. The model holds weights,
not messages: a name or an address of one writer never reaches it, and a
purge leaves it valid. On SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from mailfactory import make_mail
from tracer.core import config
from tracer.mail import ingest, learning
from tracer.mail.parse import parse
from tracer.register import requests as register
from tracer.register import retention
from tracer.reports import corrections
from tracer.rules import scorer
from tracer.services import Runtime
from tracer.store.models import Request

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 2, 12, tzinfo=PARIS)
BOX = "pref-accueil@haute-savoie.gouv.fr"

# A kind of mail the shipped corpora never show: a hunting society's notice of
# a boar hunt, which this prefecture's agents file as outside the perimeter
# (the federation of hunters deals with it).
HUNTS = [
    ("Société de chasse de Thônes", "Battue aux sangliers du 14 novembre",
     "Bonjour,\n\nNous vous informons que la société de chasse organise une battue aux sangliers le samedi sur le "
     "secteur du col. Les panneaux de battue seront posés aux entrées des chemins forestiers.\n\nLe président"),
    ("ACCA de Faverges", "Battue sangliers secteur des Glières",
     "Madame, Monsieur,\n\nL'ACCA vous informe d'une battue aux sangliers dimanche matin, panneaux de battue en "
     "place sur les chemins forestiers du secteur.\n\nLe responsable de la chasse"),
    ("Diane de Saint-Jorioz", "Organisation d'une battue aux sangliers",
     "Bonjour,\n\nUne battue aux sangliers aura lieu mercredi. Merci de noter que les chemins forestiers seront "
     "signalés par des panneaux de battue pendant la chasse.\n\nCordialement, le garde-chasse"),
]
NEW_HUNT = ("Amicale des chasseurs de Sévrier", "Battue aux sangliers samedi",
            "Bonjour,\n\nNous organisons une battue aux sangliers samedi prochain, les chemins forestiers seront "
            "fermés et des panneaux de battue posés.\n\nBien à vous, le président de la chasse")
# One writer's own details, in one corrected message only.
PRIVATE_NAME, PRIVATE_STREET = "Wojciechowska", "Ptérodactyles"


@pytest.fixture
def rt(tmp_path):
    return Runtime(config.from_dict({
        "tracer": {"reference_prefix": "PREF74", "data_dir": str(tmp_path / "donnees")},
        "mailbox": [{"name": "accueil", "address": BOX, "host": "127.0.0.1", "tls": "none"}],
    }))


def hunt_mail(index: int, name: str, subject: str, body: str) -> bytes:
    return make_mail(sender=f"{name} <chasse{index}@example.org>", to=BOX, subject=subject, body=body,
                     message_id=f"<chasse{index}@example.org>")


def record(engine, rt, raws: list[bytes]) -> list[str]:
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, NOW - timedelta(days=3), "accueil", "inbox", source="test")
                                     for raw in raws], NOW)
    with Session(engine) as session:
        rows = session.exec(Request.__table__.select().order_by(Request.__table__.c.id)).all()
        return [row.reference for row in rows]


def decide(rt, raw: bytes):
    rt.__dict__.pop("rules", None)  # what a new command (or the daemon after training) loads
    return rt.rules.classify(parse(raw), mailbox_name="accueil", mailbox_address=BOX)


def correct_the_hunts(engine, rt) -> list[str]:
    raws = [hunt_mail(i, *hunt) for i, hunt in enumerate(HUNTS)]
    private = make_mail(sender=f"Ewa {PRIVATE_NAME} <ewa.w@example.org>", to=BOX, subject="Battue et mon terrain",
                        body=f"Bonjour, je suis Ewa {PRIVATE_NAME}, 12 rue des {PRIVATE_STREET} à Annecy : la battue "
                             "aux sangliers passe sur mon terrain.\n", message_id="<ewa@example.org>")
    references = record(engine, rt, raws + [private])
    with Session(engine) as session, session.begin():
        for reference in references:
            register.reclassify(session, rt, reference, "hors_perimetre", "agent.dupont", NOW, reason="fédération de chasse")
    return references


def test_reclassify_then_train_changes_the_decision_on_a_like_message(engine, rt):
    new = hunt_mail(9, *NEW_HUNT)
    before = decide(rt, new)
    assert rt.rules.model_source == "livré"
    assert before.category != "hors_perimetre"  # else the test proves nothing
    correct_the_hunts(engine, rt)
    with Session(engine) as session:
        assert learning.needs_training(session, rt)
        done = learning.train_local(session, rt, NOW)
    assert done["corrections"] == 4 and done["corpus"] > 800
    after = decide(rt, new)
    assert rt.rules.model_source == str(scorer.local_model_path(rt.cfg.data_dir))
    assert after.category == "hors_perimetre", rt.rules.explain(after)
    with Session(engine) as session:
        assert not learning.needs_training(session, rt)


def test_the_model_holds_no_name_or_address_of_one_writer(engine, rt):
    correct_the_hunts(engine, rt)
    with Session(engine) as session:
        learning.train_local(session, rt, NOW)
    text = gzip.decompress(scorer.local_model_path(rt.cfg.data_dir).read_bytes()).decode("utf-8")
    assert "sangli" in text  # the words several writers share are learnt…
    for private in ("wojcie", "wojci", "pterod", "ptero", "ewa.w", "example.org"):  # …one writer's are not
        assert private not in text
    assert "battue aux sangliers" not in text  # weights of cues, never a sentence


def test_purge_leaves_the_model_valid(engine, rt):
    correct_the_hunts(engine, rt)
    with Session(engine) as session:
        learning.train_local(session, rt, NOW)
    later = NOW + timedelta(days=rt.cfg.retention.body_days + 30)
    retention.purge(engine, rt, later)
    assert scorer.read_model(scorer.local_model_path(rt.cfg.data_dir)) is not None
    assert decide(rt, hunt_mail(9, *NEW_HUNT)).category == "hors_perimetre"
    with Session(engine) as session:
        assert learning.train_local(session, rt, later)["corrections"] == 0  # purged messages teach nothing more


def test_a_broken_local_model_falls_back_to_the_shipped_one(rt):
    path = scorer.local_model_path(rt.cfg.data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"pas un modele")
    assert decide(rt, hunt_mail(9, *NEW_HUNT)) is not None
    assert rt.rules.model_source == "livré"


def test_the_daemon_retrains_only_when_there_are_new_corrections(engine, rt, monkeypatch):
    from tracer import daemon

    monkeypatch.setattr(daemon.clock, "now", lambda: NOW)
    runner = daemon.Daemon(rt.cfg, engine)
    path = scorer.local_model_path(rt.cfg.data_dir)
    runner.train()
    assert not path.exists()  # no correction yet: nothing to learn
    correct_the_hunts(engine, rt)
    runner.train()
    first = path.stat().st_mtime_ns
    assert runner.rt.rules.model_source == str(path)
    runner.train()
    assert path.stat().st_mtime_ns == first


def test_report_counts_the_corrections_per_category(engine, rt):
    correct_the_hunts(engine, rt)
    record(engine, rt, [make_mail(sender="Paul <paul@example.org>", to=BOX, subject="Horaires",
                                  body="Bonjour, quels sont les horaires d'ouverture du guichet ?")])
    with Session(engine) as session:
        data = corrections.report(session, NOW)
    moved = sum(data["matrix"][c]["hors_perimetre"] for c in data["matrix"] if c != "hors_perimetre")
    assert data["corrected"] == moved >= 3
    assert data["total"] == 5


def test_rules_train_and_report_commands(make_config, tmp_path):
    cfg_path = make_config(mailboxes=[{"name": "accueil", "address": BOX}], data_dir=str(tmp_path / "donnees"))
    rt = Runtime(config.load(cfg_path))
    from tracer.store import db

    engine = db.open_engine(rt.cfg.database_url)
    references = record(engine, rt, [hunt_mail(0, *HUNTS[0])])
    engine.dispose()
    run = lambda *a: subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg_path), *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=240)
    done = run("reclassify", references[0], "hors_perimetre", "--by", "agent.dupont")
    assert done.returncode == 0, done.stderr
    report = run("rules", "report")
    assert report.returncode == 0, report.stderr
    assert "Corrections du classement" in report.stdout and "1 demande(s) reclassée(s) sur 1" in report.stdout
    trained = run("rules", "train")
    assert trained.returncode == 0, trained.stderr
    assert "1 correction(s)" in trained.stdout
    explained = run("classify", "--explain", str(write(tmp_path / "m.eml", hunt_mail(9, *NEW_HUNT))))
    assert explained.returncode == 0 and "Modèle :" in explained.stdout
    assert "scorer.json.gz" in explained.stdout.replace("\n", "") and "Modèle : livré" not in explained.stdout


def write(path, raw: bytes):
    path.write_bytes(raw)
    return path
