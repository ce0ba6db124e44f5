"""The register's service functions the CLI and the web call (issue 13): the filtered
register, assignment, replies made outside the polled mailboxes, topics, anonymous
letters, answered late. On SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from mailfactory import make_mail, reply_to
from tracer.core import config
from tracer.core.errors import UserError
from tracer.mail import ingest
from tracer.register import requests as register
from tracer.register import threads
from tracer.reports import stats
from tracer.services import Runtime

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 2, 12, tzinfo=PARIS)


@pytest.fixture
def rt():
    return Runtime(config.from_dict({
        "tracer": {"reference_prefix": "PREF74"},
        "mailbox": [
            {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none",
             "service": "qualite"},
            {"name": "etrangers", "address": "pref-etrangers@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none",
             "service": "etrangers"},
        ],
        "service": [{"name": "qualite", "label": "Mission qualité"}, {"name": "etrangers", "label": "Étrangers"}],
    }))


def put(engine, rt, raw, when, mailbox="qualite", role="inbox"):
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, when, mailbox, role, source="test")], NOW)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def paper(engine, rt, **kw):
    values = dict(received="2026-09-07", sender="Mme Yvette Roux", subject="Lettre", service="qualite", now=NOW)
    values.update(kw)
    with Session(engine) as session, session.begin():
        return register.register_paper(session, rt, **values).reference


def cases(engine, rt, **filters):
    with Session(engine) as session:
        return register.list_cases(session, rt, as_of=filters.pop("as_of", NOW), **filters)


def show(engine, rt, reference, as_of=NOW):
    with Session(engine) as session:
        return register.show_case(session, rt, reference, as_of)


def act(engine, func, *args, **kw):
    with Session(engine) as session, session.begin():
        return func(session, *args, **kw)


# --------------------------------------------------------------------------
# The register's filters (one service function for `cases` and the web).


@pytest.fixture
def register_of_five(engine, rt):
    put(engine, rt, make_mail(message_id="<a@x>", sender="Éloïse Durand <eloise@example.org>",
                              subject="Réclamation : ÉTAT de mon dossier", body="Accueil désagréable au guichet."),
        at("2026-09-07T10:00:00+02:00"))
    put(engine, rt, make_mail(message_id="<b@x>", subject="Question carte grise", body="Quels documents ?"),
        at("2026-09-08T10:00:00+02:00"), mailbox="etrangers")
    put(engine, rt, reply_to("<b@x>"), at("2026-09-09T10:00:00+02:00"), mailbox="etrangers", role="sent")
    p1 = paper(engine, rt, received="2026-09-09", sender="M. Paul Lefèvre", subject="Courrier 100% papier_1")
    p2 = paper(engine, rt, received="2026-10-30", sender="Mme Anne Petit", subject="Lettre récente", service="etrangers")
    put(engine, rt, make_mail(message_id="<c@x>", subject="Réponse automatique", headers={"Auto-Submitted": "auto-replied"}),
        at("2026-09-10T10:00:00+02:00"))
    return {c["message_ids"][0] if c["message_ids"] else c["subject"]: c["reference"] for c in cases(engine, rt)} | {
        "p1": p1, "p2": p2}


def refs(items):
    return [c["reference"] for c in items]


def test_filters_combine_and_page_in_sql(engine, rt, register_of_five):
    r = register_of_five
    assert len(cases(engine, rt)) == 5
    assert refs(cases(engine, rt, channel="paper")) == [r["p1"], r["p2"]]
    assert refs(cases(engine, rt, channel="email", service="etrangers")) == [r["<b@x>"]]
    assert refs(cases(engine, rt, category="automatique")) == [r["<c@x>"]]
    assert refs(cases(engine, rt, status="answered")) == [r["<b@x>"]]
    assert refs(cases(engine, rt, status="overdue")) == [r["<a@x>"], r["p1"]]
    assert refs(cases(engine, rt, status="open")) == [r["p2"]]
    assert refs(cases(engine, rt, status="excluded")) == [r["<c@x>"]]
    # the scope the caller may see, on top of the other filters
    assert refs(cases(engine, rt, services=["etrangers"])) == [r["<b@x>"], r["p2"]]
    assert refs(cases(engine, rt, services=["etrangers"], channel="paper")) == [r["p2"]]
    assert cases(engine, rt, services=[]) == []
    assert cases(engine, rt, services=["etrangers"], service="qualite") == []
    # paging, in the order asked
    everything = refs(cases(engine, rt))
    assert refs(cases(engine, rt, limit=2)) == everything[:2]
    assert refs(cases(engine, rt, limit=2, offset=2)) == everything[2:4]
    newest = refs(cases(engine, rt, order="-received"))
    assert newest[0] == r["p2"] and newest[-1] == r["<a@x>"]
    with Session(engine) as session:
        assert register.count_cases(session, rt, as_of=NOW, status="overdue") == 2
        assert register.count_cases(session, rt, as_of=NOW, services=["qualite"]) == 3
    for bad in ({"category": "astrologie"}, {"channel": "fax"}, {"status": "tout"}, {"order": "hasard"}, {"limit": 0}):
        with pytest.raises(UserError):
            cases(engine, rt, **bad)


def test_search_finds_reference_sender_and_subject_whatever_the_case(engine, rt, register_of_five):
    r = register_of_five
    assert refs(cases(engine, rt, search="état")) == [r["<a@x>"]]  # « ÉTAT » in the subject: Unicode case folding
    assert refs(cases(engine, rt, search="ÉLOÏSE")) == [r["<a@x>"]]  # the sender's name
    assert refs(cases(engine, rt, search="eloise@example")) == [r["<a@x>"]]  # the address
    assert refs(cases(engine, rt, search=r["p2"].lower())) == [r["p2"]]  # the reference
    assert refs(cases(engine, rt, search="100%")) == [r["p1"]]  # % and _ are text, not wildcards
    assert cases(engine, rt, search="100_p") == []
    assert refs(cases(engine, rt, search="papier_1")) == [r["p1"]]
    assert refs(cases(engine, rt, search="lettre", channel="paper", service="etrangers")) == [r["p2"]]


def test_cases_command_takes_the_filters(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\nreference_prefix = "PREF74"\n'
                   '[[service]]\nname = "qualite"\n[[service]]\nname = "etrangers"\n', encoding="utf-8")

    def tracer(*args, check=True):
        out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), *args], capture_output=True, text=True,
                             env={"TRACER_NOW": NOW.isoformat(), "PATH": "/usr/bin:/bin"})
        assert not check or out.returncode == 0, out.stderr
        return out

    for i, (sender, service) in enumerate([("Mme Roux", "qualite"), ("M. Émile Roux", "etrangers"), ("M. Dupont", "qualite")]):
        tracer("register-paper", "--received", f"2026-10-0{i + 1}", "--sender", sender, "--subject", f"Lettre {i}",
               "--service", service)
    tracer("assign", "PREF74-2026-00003", "agent.martin", "--by", "referent")
    found = json.loads(tracer("cases", "--search", "émile", "--channel", "paper", "--json").stdout)
    assert [c["reference"] for c in found] == ["PREF74-2026-00002"]
    found = json.loads(tracer("cases", "--assignee", "agent.martin", "--json").stdout)
    assert [(c["reference"], c["assignee"]) for c in found] == [("PREF74-2026-00003", "agent.martin")]
    found = json.loads(tracer("cases", "--service", "qualite", "--limit", "1", "--json").stdout)
    assert [c["reference"] for c in found] == ["PREF74-2026-00001"]
    bad = tracer("cases", "--limit", "0", check=False)
    assert bad.returncode == 1 and "--limit" in bad.stderr and "Traceback" not in bad.stderr


# --------------------------------------------------------------------------
# Assignment.


def test_assign_and_unassign_are_events_and_show_in_the_views(engine, rt):
    ref = paper(engine, rt)
    assert show(engine, rt, ref)["assignee"] is None
    act(engine, register.assign, rt, ref, " agent.martin ", "referent", NOW)
    assert show(engine, rt, ref)["assignee"] == "agent.martin"
    assert refs(cases(engine, rt, assignee="agent.martin")) == [ref]
    act(engine, register.assign, rt, ref, "agent.durand", "referent", NOW + timedelta(hours=1))
    with pytest.raises(UserError, match="déjà attribuée à agent.durand"):
        act(engine, register.assign, rt, ref, "agent.durand", "referent", NOW)
    act(engine, register.assign, rt, ref, None, "agent.durand", NOW + timedelta(hours=2))
    with pytest.raises(UserError, match="n'est attribuée à personne"):
        act(engine, register.assign, rt, ref, None, "agent.durand", NOW)
    with pytest.raises(UserError, match="--by"):
        act(engine, register.assign, rt, ref, "x", " ", NOW)
    view = show(engine, rt, ref)
    assert view["assignee"] is None and cases(engine, rt, assignee="agent.martin") == []
    changes = [(e["kind"], e["actor"], e["data"]["old_assignee"], e["data"]["new_assignee"]) for e in view["events"][1:]]
    assert changes == [("assigned", "referent", None, "agent.martin"), ("assigned", "referent", "agent.martin", "agent.durand"),
                       ("unassigned", "agent.durand", "agent.durand", None)]


# --------------------------------------------------------------------------
# A reply by post, phone, at the counter, or from another mailbox.


def test_a_letter_answered_by_post_counts_exactly_as_an_email_reply(engine, rt):
    """Same reception and answer instants, one by e-mail and one by `answer`: same figures."""
    received, answered = "2026-09-07T10:00:00+02:00", "2026-09-22T09:00:00+02:00"  # 10 working days end on the 21st
    put(engine, rt, make_mail(message_id="<m@x>"), at(received))
    put(engine, rt, reply_to("<m@x>"), at(answered), role="sent")
    by_mail = cases(engine, rt)[0]
    letter = paper(engine, rt, received=received)
    assert show(engine, rt, letter)["deadline"] == "2026-09-21T23:59:59+02:00"
    act(engine, threads.answer_outside, rt, letter, "courrier", at(answered), "agent.martin", "LRAR 1A 234", NOW)
    by_post = show(engine, rt, letter)
    for key in ("answered_at", "answered_late", "status"):
        assert by_post[key] == by_mail[key], key
    assert by_post["answered_late"] is True and by_post["status"] == "answered"
    event = by_post["events"][-1]
    assert (event["kind"], event["actor"]) == ("answered", "agent.martin")
    assert event["data"] == {"channel": "courrier", "sent_at": "2026-09-22T09:00:00+02:00", "note": "LRAR 1A 234"}
    with Session(engine) as session:
        figures = stats.compute(session, rt, date(2026, 9, 1), date(2026, 10, 1), NOW, ["channel"])
    by_channel = {g["key"]["channel"]: g for g in figures["groups"]}
    for key in ("received", "answered", "on_time", "late", "pending", "rate_on_time", "mean_delay_days",
                "mean_delay_working_days"):
        assert by_channel["paper"][key] == by_channel["email"][key], key
    assert by_channel["paper"]["late"] == 1 and by_channel["paper"]["mean_delay_days"] == 14.96


def test_answer_on_time_before_the_deadline(engine, rt):
    letter = paper(engine, rt, received="2026-09-07")
    act(engine, threads.answer_outside, rt, letter, "telephone", at("2026-09-10T15:00:00+02:00"), "agent", None, NOW)
    view = show(engine, rt, letter)
    assert view["answered_late"] is False and view["status"] == "answered"
    assert view["events"][-1]["data"] == {"channel": "telephone", "sent_at": "2026-09-10T15:00:00+02:00", "note": None}
    with Session(engine) as session:
        total = stats.compute(session, rt, date(2026, 9, 1), date(2026, 10, 1), NOW)["total"]
    assert (total["on_time"], total["late"], total["rate_on_time"]) == (1, 0, 100.0)


def test_answer_outside_splits_follow_ups_received_after_it_like_an_email_reply(engine, rt):
    put(engine, rt, make_mail(message_id="<q@x>"), at("2026-09-07T10:00:00+02:00"))
    put(engine, rt, make_mail(message_id="<q2@x>", body="Je relance.", in_reply_to="<q@x>"), at("2026-09-09T10:00:00+02:00"))
    put(engine, rt, make_mail(message_id="<q3@x>", body="Merci, autre question.", in_reply_to="<q2@x>"),
        at("2026-09-12T10:00:00+02:00"))
    (case,) = cases(engine, rt)
    assert case["message_ids"] == ["<q@x>", "<q2@x>", "<q3@x>"]
    act(engine, threads.answer_outside, rt, case["reference"], "guichet", at("2026-09-10T11:00:00+02:00"), "agent", "reçu", NOW)
    view = show(engine, rt, case["reference"])
    assert view["message_ids"] == ["<q@x>", "<q2@x>"] and view["answered_late"] is False
    (child,) = view["children"]
    assert show(engine, rt, child)["message_ids"] == ["<q3@x>"]
    assert [e["kind"] for e in view["events"]][-2:] == ["answered", "split"]


def test_answer_outside_refusals_and_a_later_reply_keeps_the_clock(engine, rt):
    letter = paper(engine, rt, received="2026-09-07")
    for channel, when, by, message in [
        ("pigeon", "2026-09-10T10:00:00+02:00", "agent", "--channel"),
        ("courrier", "2026-09-01T10:00:00+02:00", "agent", "précéder la réception"),
        ("courrier", "2026-12-01T10:00:00+01:00", "agent", "futur"),
        ("courrier", "2026-09-10T10:00:00+02:00", "", "--by"),
    ]:
        with pytest.raises(UserError, match=message):
            act(engine, threads.answer_outside, rt, letter, channel, at(when), by, None, NOW)
    with pytest.raises(UserError, match="introuvable"):
        act(engine, threads.answer_outside, rt, "PREF74-2026-09999", "courrier", at("2026-09-10T10:00:00+02:00"), "a", None, NOW)
    act(engine, threads.answer_outside, rt, letter, "courriel", at("2026-09-10T10:00:00+02:00"), "agent", None, NOW)
    act(engine, threads.answer_outside, rt, letter, "telephone", at("2026-09-25T10:00:00+02:00"), "agent", "rappel", NOW)
    view = show(engine, rt, letter)
    assert view["answered_at"] == "2026-09-10T10:00:00+02:00" and view["answered_late"] is False
    assert [e["kind"] for e in view["events"]] == ["received", "answered", "reply_recorded"]
    # an earlier one moves the clock back
    act(engine, threads.answer_outside, rt, letter, "guichet", at("2026-09-08T10:00:00+02:00"), "agent", None, NOW)
    assert show(engine, rt, letter)["answered_at"] == "2026-09-08T10:00:00+02:00"


# --------------------------------------------------------------------------
# answered_late, in the views and as of a date.


def test_answered_late_is_null_while_open_and_follows_as_of(engine, rt):
    letter = paper(engine, rt, received="2026-09-07")
    assert show(engine, rt, letter)["answered_late"] is None
    act(engine, threads.answer_outside, rt, letter, "courrier", at("2026-10-01T10:00:00+02:00"), "agent", None, NOW)
    assert show(engine, rt, letter)["answered_late"] is True
    before = show(engine, rt, letter, as_of=at("2026-09-30T00:00:00+02:00"))
    assert before["answered_late"] is None and before["status"] == "overdue"
    assert cases(engine, rt)[0]["answered_late"] is True


# --------------------------------------------------------------------------
# Topics.


def test_topics_are_the_interface_ids_and_complaints_always_carry_one(engine, rt):
    with pytest.raises(UserError, match="thème inconnu « astrologie ».*titres_sejour.*autre"):
        paper(engine, rt, category="reclamation", topic="astrologie")
    with pytest.raises(UserError, match="seules les réclamations et les suggestions"):
        paper(engine, rt, category="information", topic="site_internet")
    complaint = paper(engine, rt, category="reclamation")
    assert show(engine, rt, complaint)["topic"] == "autre"
    with pytest.raises(UserError, match="thème inconnu « astrologie »"):
        act(engine, register.reclassify, rt, complaint, "reclamation", "agent", NOW, topic="astrologie")
    act(engine, register.reclassify, rt, complaint, "suggestion", "agent", NOW, topic="site_internet")
    act(engine, register.reclassify, rt, complaint, "reclamation", "agent", NOW)  # keeps its topic
    assert show(engine, rt, complaint)["topic"] == "site_internet"
    act(engine, register.reclassify, rt, complaint, "information", "agent", NOW)
    assert show(engine, rt, complaint)["topic"] is None
    act(engine, register.reclassify, rt, complaint, "reclamation", "agent", NOW)
    assert show(engine, rt, complaint)["topic"] == "autre"
    info = paper(engine, rt)
    assert show(engine, rt, info)["topic"] is None


def test_a_classified_complaint_without_a_topic_rule_gets_autre(engine, rt):
    put(engine, rt, make_mail(message_id="<z@x>", subject="Réclamation",
                              body="Je souhaite déposer une réclamation, je suis très mécontent."),
        at("2026-09-07T10:00:00+02:00"))
    (case,) = cases(engine, rt)
    assert case["category"] == "reclamation" and case["topic"] == "autre"


# --------------------------------------------------------------------------
# Anonymous letters.


def test_an_anonymous_letter_has_no_deadline_and_stays_out_of_the_rate(engine, rt):
    anonymous = paper(engine, rt, sender="", anonymous=True, category="suggestion")
    signed = paper(engine, rt, category="suggestion")
    view = show(engine, rt, anonymous)
    assert view["deadline"] is None and view["anonymous"] is True and view["sender"] == "Anonyme"
    assert view["status"] == "open" and view["topic"] == "autre"
    # a change of category or service gives it no deadline either
    act(engine, register.reclassify, rt, anonymous, "reclamation", "agent", NOW)
    act(engine, register.transfer, rt, anonymous, "etrangers", "agent", NOW)
    assert show(engine, rt, anonymous)["deadline"] is None
    assert show(engine, rt, signed)["deadline"] == "2026-09-21T23:59:59+02:00"
    with pytest.raises(UserError, match="--anonymous"):
        paper(engine, rt, anonymous=True, sender_addr="x@example.org")
    with Session(engine) as session:
        total = stats.compute(session, rt, date(2026, 9, 1), date(2026, 10, 1), NOW)["total"]
    assert (total["received"], total["late"], total["pending"], total["on_time"]) == (2, 1, 0, 0)
    act(engine, threads.answer_outside, rt, anonymous, "guichet", at("2026-10-20T10:00:00+02:00"), "agent", None, NOW)
    assert show(engine, rt, anonymous)["answered_late"] is False
    with Session(engine) as session:
        total = stats.compute(session, rt, date(2026, 9, 1), date(2026, 10, 1), NOW)["total"]
    assert (total["received"], total["answered"], total["late"], total["on_time"], total["rate_on_time"]) == (2, 1, 1, 0, 0.0)
