"""Template replies and the outbox, against Dovecot and a real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from mailfactory import make_mail
from tracer import config as config_mod, templates

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
    assert mail["From"] == user and mail["To"] == "jeanne.martin@example.org"
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
    out = tracer(config, "reply", ref, "--template", "reclamation_excuses", "--by", "a", check=False)
    assert out.returncode == 1 and "« action » non définie" in out.stderr and "--set action=" in out.stderr
    assert "Traceback" not in out.stderr and smtp.messages == []
    ok = tracer(config, "reply", ref, "--template", "reclamation_excuses", "--by", "a", "--set", "action=Un agent vous rappellera.")
    assert "Réponse envoyée" in ok.stdout
    assert "Un agent vous rappellera." in smtp.parsed()[0].get_content()


def test_every_shipped_template_renders_with_no_syntax_left():
    cfg = config_mod.from_dict({})
    context = {
        "request": {"reference": "PREF74-2026-00042", "subject": "Question", "subject_clean": "Question",
                    "received_at_fr": "7 septembre 2026 à 10 h 30", "received_date_fr": "7 septembre 2026",
                    "deadline_fr": "14 septembre 2026", "category": "information", "topic": None},
        "citizen": {"name": "Jeanne Martin", "email": "j@x.fr"},
        "service": {"name": "q", "label": "Mission qualité", "signature": "Préfecture – Mission qualité", "contact": ["Tél. 04"]},
        "mailbox": {"name": "q", "address": "q@x.fr"},
        "today_fr": "8 septembre 2026",
        "values": {"action": "x", "organisme": "la CAF", "service_competent": "le bureau des étrangers"},
    }
    names = [t.name for t in templates.list_templates(cfg)]
    assert len(names) >= 9
    for name in names:
        rendered = templates.render(cfg, name, context)
        for text in (rendered.subject, rendered.text):
            assert "{{" not in text and "{%" not in text
        assert "Préfecture – Mission qualité" in rendered.text and "PREF74-2026-00042" in rendered.text


def test_sandbox_and_user_folder_override(tmp_path):
    own = tmp_path / "modeles"
    own.mkdir()
    (own / "rendez_vous.txt.j2").write_text("+++\ntitle = \"Local\"\n+++\nBonjour {{ citizen.name }}\n", encoding="utf-8")
    (own / "piege.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    cfg = config_mod.from_dict({"tracer": {"templates_dir": str(own)}})
    info = {t.name: t for t in templates.list_templates(cfg)}
    assert info["rendez_vous"].title == "Local" and "permis_conduire" in info
    context = {"citizen": {"name": "Paul"}, "request": {"subject_clean": "x", "reference": "R"}}
    assert templates.render(cfg, "rendez_vous", context).text == "Bonjour Paul\n"
    with pytest.raises(templates.TemplateError):
        templates.render(cfg, "piege", context)


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
