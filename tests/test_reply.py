"""Template replies and the outbox, against Dovecot and a real SMTP server."""

from __future__ import annotations

import json
from email.utils import parseaddr
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from mailfactory import make_mail

UTC = timezone.utc
RECEIVED = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)


def tracer(config, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tracer {' '.join(args)}: {result.returncode}\n{result.stderr}")
    return result


@pytest.fixture
def setup(dovecot, make_config, smtp_server):
    user, _ = dovecot.user("qualite")
    raw = make_mail(to=user, message_id="<demande-1@exemple.fr>", subject="Renouvellement de mon titre de séjour",
                    references=["<avant@exemple.fr>"])
    dovecot.server.append(user, "INBOX", raw, RECEIVED)
    extra = f"""
[smtp]
host = "127.0.0.1"
port = {smtp_server.port}
tls = "none"
timeout = 5

[[service]]
name = "qualite"
label = "Mission qualité"
signature = "Préfecture de la Haute-Savoie – Mission qualité"
contact = ["Tél. 04 50 33 60 00", "pref-qualite@haute-savoie.gouv.fr"]
"""
    config = make_config([{"name": "qualite", "address": user, "username": user, "service": "qualite"}], port=dovecot.port, extra=extra)
    tracer(config, "poll")
    (case,) = json.loads(tracer(config, "cases", "--json").stdout)
    return config, case["reference"], user, dovecot, smtp_server


def test_reply_is_delivered_threaded_signed_and_copied_to_sent(setup):
    config, ref, user, dovecot, smtp = setup
    preview = tracer(config, "reply", ref, "--template", "titre_sejour_renouvellement", "--by", "agent.martin", "--preview").stdout
    assert "Objet : RE: Renouvellement de mon titre de séjour [" + ref + "]" in preview and not smtp.messages
    out = tracer(config, "reply", ref, "--template", "titre_sejour_renouvellement", "--by", "agent.martin")
    assert "Réponse envoyée" in out.stdout
    (mail,) = smtp.parsed()
    assert mail["In-Reply-To"] == "<demande-1@exemple.fr>"
    assert mail["References"] == "<avant@exemple.fr> <demande-1@exemple.fr>"
    assert mail["Subject"] == f"RE: Renouvellement de mon titre de séjour [{ref}]"
    assert parseaddr(str(mail["From"])) == ("Mission qualité", user)  # the service's name
    assert mail["To"] == "jeanne.martin@example.org"
    body = mail.get_content()
    assert "Mission qualité" in body and ref in body and "7 septembre 2026" in body
    assert "{{" not in body and "{%" not in body
    sent_flags = dovecot.server.flags(user, "Sent")
    assert len(sent_flags) == 1 and all(b"\\Seen" in f for f in sent_flags.values())
    (case,) = json.loads(tracer(config, "cases", "--json").stdout)
    assert case["status"] == "answered" and case["answered_at"] is not None
    # the Sent copy is the reply already recorded, not a second one
    summary = json.loads(tracer(config, "poll", "--json").stdout)
    assert summary["recorded"] == 0 and summary["duplicates"] == 1
    shown = json.loads(tracer(config, "show", ref, "--json").stdout)
    assert [m["kind"] for m in shown["messages"]] == ["mail", "reply"]
    answered = [e for e in shown["events"] if e["kind"] == "answered"]
    assert answered[0]["actor"] == "agent.martin" and answered[0]["data"]["template"] == "titre_sejour_renouvellement"


def test_smtp_down_queues_then_retry_delivers_exactly_once(setup):
    config, ref, _user, _dovecot, smtp = setup
    smtp.stop()
    out = tracer(config, "reply", ref, "--template", "rendez_vous", "--by", "agent.martin")
    assert out.returncode == 0 and "envoi en attente" in out.stdout and "connexion impossible" in out.stdout
    queued = json.loads(tracer(config, "outbox", "--json").stdout)["queued"]
    assert len(queued) == 1 and queued[0]["status"] == "pending"
    smtp.start()
    first = json.loads(tracer(config, "outbox", "--retry", "--json").stdout)
    assert first["sent"] == 1 and first["queued"] == []
    second = json.loads(tracer(config, "outbox", "--retry", "--json").stdout)
    assert second["sent"] == 0
    assert len(smtp.messages) == 1


def test_4xx_keeps_it_pending_and_5xx_stops_retrying(setup):
    config, ref, _user, _dovecot, smtp = setup
    smtp.fail_with("451 4.3.0 Réessayez plus tard")
    tracer(config, "reply", ref, "--template", "rendez_vous", "--by", "a")
    (item,) = json.loads(tracer(config, "outbox", "--json").stdout)["queued"]
    assert item["status"] == "pending" and "451" in item["last_error"]
    smtp.fail_with("550 5.1.1 Destinataire inconnu")
    tracer(config, "outbox", "--retry")
    (item,) = json.loads(tracer(config, "outbox", "--json").stdout)["queued"]
    assert item["status"] == "failed" and "550" in item["last_error"]
    smtp.fail_with(None)
    assert json.loads(tracer(config, "outbox", "--retry", "--json").stdout)["sent"] == 0
    assert smtp.messages == []


def test_undefined_variable_is_refused_naming_it(setup):
    config, ref, _user, _dovecot, smtp = setup
    out = tracer(config, "reply", ref, "--template", "reclamation_excuses", "--by", "a", "--force", check=False)
    assert out.returncode == 1 and "« action » non définie" in out.stderr and "--set action=" in out.stderr
    assert "Traceback" not in out.stderr and smtp.messages == []
    ok = tracer(config, "reply", ref, "--template", "reclamation_excuses", "--by", "a", "--force", "--set", "action=Un agent vous rappellera.")
    assert "Réponse envoyée" in ok.stdout
    assert "Un agent vous rappellera." in smtp.parsed()[0].get_content()


def test_acknowledgement_is_sent_once_and_does_not_stop_the_clock(dovecot, make_config, smtp_server):
    user, _ = dovecot.user("qualite")
    for i in range(2):
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=f"<ar-{i}@x.fr>", subject=f"Question {i}"),
                              RECEIVED + timedelta(minutes=i))
    dovecot.server.append(user, "INBOX", make_mail(to=user, sender="MAILER-DAEMON@mx.x.fr", subject="Undelivered Mail",
                                                   message_id="<bounce@x.fr>"), RECEIVED)
    extra = f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\ntls = "none"\n'
    config = make_config([{"name": "qualite", "address": user, "username": user, "acknowledge": True}], port=dovecot.port, extra=extra)
    tracer(config, "poll")
    tracer(config, "poll")
    acks = smtp_server.parsed()
    assert len(acks) == 1  # two requests from the same sender the same day: one acknowledgement
    assert acks[0]["Auto-Submitted"] == "auto-replied" and "Accusé de réception" in acks[0]["Subject"]
    assert all(c["answered_at"] is None for c in json.loads(tracer(config, "cases", "--json").stdout))


# --------------------------------------------------------------------------
# The service layer (reply.prepare_reply / send_reply) on both databases.

from sqlalchemy import select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from tracer.core import config as config_mod
from tracer.outgoing import reply  # noqa: E402
from tracer.core.errors import NotFound, UserError  # noqa: E402
from tracer.store.models import Event, Message, Outbox, Request  # noqa: E402
from tracer.services import Runtime  # noqa: E402

BOX = "pref-qualite@haute-savoie.gouv.fr"


def service_runtime(smtp_port: int | None) -> Runtime:
    data = {
        "tracer": {"reference_prefix": "PREF74"},
        "mailbox": [{"name": "qualite", "address": BOX, "host": "127.0.0.1", "tls": "none", "sent": "Envoyés"}],
        "service": [{"name": "qualite", "label": "Mission qualité", "signature": "Préfecture – Mission qualité",
                     "contact": ["Tél. 04 50 33 60 00"]}],
    }
    if smtp_port is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "tls": "none", "timeout": 5}
    return Runtime(config_mod.from_dict(data))


def insert_request(engine, reference="PREF74-2026-00042", category="information", sender_addr="jeanne.martin@example.org",
                   subject="TR: RE: Titre de séjour") -> None:
    with Session(engine) as session:
        request = Request(reference=reference, channel="email", mailbox="qualite", service="qualite", category=category,
                          sender_addr=sender_addr, sender_name="Jeanne Martin", subject=subject,
                          received_at=RECEIVED, deadline=RECEIVED + timedelta(days=7), created_at=RECEIVED)
        session.add(request)
        session.flush()
        first, follow_up = f"<premier-{reference}@exemple.fr>", f"<relance-{reference}@exemple.fr>"
        for i, (mid, refs) in enumerate([(first, []), (follow_up, [first])]):
            session.add(Message(dedup_key=mid, message_id=mid, direction="in", request_id=request.id, mailbox="qualite",
                                folder="INBOX", received_at=RECEIVED + timedelta(hours=i), from_addr=sender_addr,
                                subject=subject, references=refs, created_at=RECEIVED))
        session.commit()


def test_reply_is_recorded_with_its_outbox_row_and_threaded_to_the_last_inbound(engine, smtp_server):
    rt = service_runtime(smtp_server.port)
    insert_request(engine)
    now = RECEIVED + timedelta(days=1)
    result = reply.send_reply(engine, rt, "PREF74-2026-00042", "rendez_vous", "agent.martin", {}, now)
    assert result["status"] == "sent" and result["error"] is None
    (mail,) = smtp_server.parsed()
    assert mail["Subject"] == "RE: Titre de séjour [PREF74-2026-00042]"
    assert mail["In-Reply-To"] == "<relance-PREF74-2026-00042@exemple.fr>"
    assert mail["References"].strip() == "<premier-PREF74-2026-00042@exemple.fr> <relance-PREF74-2026-00042@exemple.fr>"
    assert parseaddr(str(mail["From"])) == ("Mission qualité", BOX) and mail["To"] == "jeanne.martin@example.org"
    with Session(engine) as session:
        request = session.execute(select(Request)).scalars().one()
        out = session.execute(select(Message).where(Message.direction == "out")).scalars().one()
        row = session.execute(select(Outbox)).scalars().one()
        events = session.execute(select(Event).where(Event.request_id == request.id)).scalars().all()
    assert out.message_id == out.dedup_key == row.message_id == mail["Message-ID"]
    assert (out.kind, out.template, out.sent_by, out.folder, out.request_id) == ("reply", "rendez_vous", "agent.martin",
                                                                               "Envoyés", request.id)
    assert out.body_text.startswith("Madame, Monsieur,")  # her civility unknown: administrative style
    assert request.answered_at == now and request.answer_message_id == out.id
    assert any(e.actor == "agent.martin" and e.data.get("template") == "rendez_vous" for e in events)


def test_smtp_down_the_reply_is_still_recorded_and_queued(engine, smtp_server):
    rt = service_runtime(smtp_server.port)
    insert_request(engine)
    smtp_server.stop()
    now = RECEIVED + timedelta(days=1)
    result = reply.send_reply(engine, rt, "PREF74-2026-00042", "rendez_vous", "agent.martin", {}, now)
    assert result["status"] == "pending" and "connexion impossible" in result["error"]
    with Session(engine) as session:
        assert session.execute(select(Request)).scalars().one().answered_at == now
        assert session.execute(select(Outbox)).scalars().one().status == "pending"


def test_preview_records_and_sends_nothing(engine, smtp_server):
    rt = service_runtime(smtp_server.port)
    insert_request(engine)
    result = reply.send_reply(engine, rt, "PREF74-2026-00042", "titre_sejour_renouvellement", "a", {}, RECEIVED, preview=True)
    assert result["preview"].startswith(f"De : Mission qualité <{BOX}>\nÀ : jeanne.martin@example.org\nObjet : RE: Titre de séjour [PREF74-2026-00042]")
    assert "ANEF" in result["preview"] and smtp_server.messages == []
    with Session(engine) as session:
        assert session.execute(select(Outbox)).scalars().all() == []
        assert session.execute(select(Message).where(Message.direction == "out")).scalars().all() == []


def test_refusals_are_french_user_errors_and_write_nothing(engine):
    rt = service_runtime(None)
    insert_request(engine)
    insert_request(engine, reference="PREF74-2026-00043", sender_addr=None)
    insert_request(engine, reference="PREF74-2026-00044", category="automatique")
    with pytest.raises(NotFound, match="demande PREF74-2026-09999 introuvable"):
        reply.send_reply(engine, rt, "PREF74-2026-09999", "rendez_vous", "a", {}, RECEIVED)
    with pytest.raises(UserError, match="n'a pas d'adresse électronique"):
        reply.send_reply(engine, rt, "PREF74-2026-00043", "rendez_vous", "a", {}, RECEIVED)
    with pytest.raises(UserError, match="message automatique"):
        reply.send_reply(engine, rt, "PREF74-2026-00044", "rendez_vous", "a", {}, RECEIVED)
    with pytest.raises(UserError, match="« action » non définie"):
        reply.send_reply(engine, rt, "PREF74-2026-00042", "reclamation_excuses", "a", {}, RECEIVED, force=True)
    with Session(engine) as session:
        assert session.execute(select(Outbox)).scalars().all() == []
        assert all(r.answered_at is None for r in session.execute(select(Request)).scalars())
