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
        # queued is not answered (issue 15.12): the clock runs until the server accepts the reply
        assert session.execute(select(Request)).scalars().one().answered_at is None
        assert session.execute(select(Outbox)).scalars().one().status == "pending"
        assert "reply_queued" in [e.kind for e in session.execute(select(Event)).scalars()]


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


# --------------------------------------------------------------------------
# 15.12 The clock stops when the reply is delivered; a reply refused for good answers nothing.


def alerting_runtime(smtp_port: int) -> Runtime:
    rt = service_runtime(smtp_port)
    data = {
        "tracer": {"reference_prefix": "PREF74"},
        "mailbox": [{"name": "qualite", "address": BOX, "host": "127.0.0.1", "tls": "none", "sent": "Envoyés"}],
        "service": [{"name": "qualite", "label": "Mission qualité", "alert_to": ["referent@haute-savoie.gouv.fr"]}],
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "tls": "none", "timeout": 5},
    }
    rt = Runtime(config_mod.from_dict(data))
    return rt


def test_a_queued_reply_stops_the_clock_when_the_server_accepts_it(engine, smtp_server):
    from tracer.outgoing import outbox

    rt = alerting_runtime(smtp_server.port)
    insert_request(engine)
    smtp_server.stop()
    queued = RECEIVED + timedelta(days=1)
    assert reply.send_reply(engine, rt, "PREF74-2026-00042", "rendez_vous", "agent.martin", {}, queued)["status"] == "pending"
    with Session(engine) as session:
        assert session.execute(select(Request)).scalars().one().answered_at is None
    smtp_server.start()
    delivered = RECEIVED + timedelta(days=3)
    outbox.retry_due(engine, rt.cfg, delivered, all_pending=True)
    with Session(engine) as session:
        request = session.execute(select(Request)).scalars().one()
        out = session.execute(select(Message).where(Message.direction == "out")).scalars().one()
        kinds = [e.kind for e in session.execute(select(Event).order_by(Event.id)).scalars()]
    assert request.answered_at == delivered and request.answer_message_id == out.id and out.received_at == delivered
    assert kinds[-2:] == ["reply_queued", "answered"]


def test_a_reply_refused_for_good_leaves_the_request_open_and_alerts_the_service(engine, smtp_server, caplog):
    from datetime import date

    from tracer.reports import stats

    rt = alerting_runtime(smtp_server.port)
    insert_request(engine)
    smtp_server.refused.add("jeanne.martin@example.org")
    now = RECEIVED + timedelta(days=1)
    with caplog.at_level("INFO"):
        result = reply.send_reply(engine, rt, "PREF74-2026-00042", "rendez_vous", "agent.martin", {}, now)
    assert result["status"] == "failed" and "550" in result["error"]
    with Session(engine) as session:
        request = session.execute(select(Request)).scalars().one()
        events = [e for e in session.execute(select(Event).order_by(Event.id)).scalars()]
        figures = stats.compute(session, rt, date(2026, 9, 1), date(2026, 10, 1), RECEIVED + timedelta(days=30), [])
    assert request.answered_at is None
    assert [e.kind for e in events][-2:] == ["reply_queued", "reply_failed"] and "answered" not in [e.kind for e in events]
    assert figures["total"]["answered"] == 0 and figures["total"]["rate_on_time"] == 0.0
    (alert,) = smtp_server.parsed()
    assert alert["To"] == "referent@haute-savoie.gouv.fr"
    assert alert["Subject"] == "[tracer] Réponse non remise : PREF74-2026-00042"
    assert "jeanne.martin@example.org" not in alert.get_content()
    ours = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("tracer"))
    assert "jeanne.martin@example.org" not in ours and "refusé définitivement" in ours


def test_a_reply_that_had_stopped_the_clock_reopens_the_request_when_refused(engine, smtp_server):
    """A database from before this change holds replies that stopped the clock when queued."""
    from tracer.outgoing import outbox
    from tracer.register import threads

    rt = alerting_runtime(smtp_server.port)
    insert_request(engine)
    smtp_server.stop()
    now = RECEIVED + timedelta(days=1)
    reply.send_reply(engine, rt, "PREF74-2026-00042", "rendez_vous", "agent.martin", {}, now)
    with Session(engine) as session:  # what the old code did at queue time
        request = session.execute(select(Request)).scalars().one()
        out = session.execute(select(Message).where(Message.direction == "out")).scalars().one()
        threads.apply_reply(session, rt, request, out, now)
        session.commit()
        assert request.answered_at == now
    smtp_server.refused.add("jeanne.martin@example.org")
    smtp_server.start()
    outbox.retry_due(engine, rt.cfg, now + timedelta(hours=2), all_pending=True)
    with Session(engine) as session:
        request = session.execute(select(Request)).scalars().one()
        failed = [e for e in session.execute(select(Event).where(Event.kind == "reply_failed")).scalars()]
    assert request.answered_at is None and request.answer_message_id is None and request.delay_seconds is None
    assert len(failed) == 1 and failed[0].data["reopened"] is True
