"""Reply tracking and threads (issue 4), through the same recording path as polls.

Runs on SQLite and PostgreSQL. The Dovecot end-to-end version is in
``test_poll_replies.py``; this one covers every ordering cheaply.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from mailfactory import make_id, make_mail, reply_to
from tracer.core import config
from tracer.mail import ingest
from tracer.register import requests as register
from tracer.register import threads as replies
from tracer.services import Runtime

UTC = timezone.utc
T0 = datetime(2026, 9, 7, 8, 0, tzinfo=UTC)  # Monday 10:00 Paris
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def rt():
    cfg = config.from_dict(
        {
            "tracer": {"reference_prefix": "PREF74"},
            "mailbox": [
                {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none"},
                {"name": "accueil", "address": "prefecture@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none"},
            ],
        }
    )
    return Runtime(cfg)


def record(engine, rt, raw: bytes, at: datetime, mailbox: str = "qualite", role: str = "inbox") -> ingest.Summary:
    item = ingest.Incoming(raw=raw, received_at=at, mailbox=mailbox, role=role, source="test")
    return ingest.record_batch(engine, rt, [item], NOW)


def cases(engine, rt) -> dict[str, dict]:
    with Session(engine) as session:
        items = register.list_cases(session, rt, as_of=NOW)
    return {c["message_ids"][0] if c["message_ids"] else c["reference"]: c for c in items}


def answered(engine, rt, mid: str) -> str | None:
    return cases(engine, rt)[mid]["answered_at"]


def iso(at: datetime) -> str:
    return at.astimezone(rt_tz()).isoformat()


def rt_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


def test_reply_by_in_reply_to_stops_the_clock(engine, rt):
    mid = make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    reply_at = T0 + timedelta(days=1, hours=3)
    record(engine, rt, reply_to(mid, references=[]), reply_at, role="sent")
    assert answered(engine, rt, mid) == iso(reply_at)
    assert cases(engine, rt)[mid]["status"] == "answered"


def test_reply_by_references_only(engine, rt):
    mid = make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    reply_at = T0 + timedelta(days=2)
    record(engine, rt, reply_to(mid, in_reply_to=None, references=["<unrelated@x.org>", mid]), reply_at, role="sent")
    assert answered(engine, rt, mid) == iso(reply_at)


def test_reply_by_subject_tag_only(engine, rt):
    mid = make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    reference = cases(engine, rt)[mid]["reference"]
    reply_at = T0 + timedelta(days=3)
    raw = reply_to(mid, in_reply_to=None, references=[], subject=f"RE: votre titre de séjour [{reference}]")
    record(engine, rt, raw, reply_at, role="sent")
    assert answered(engine, rt, mid) == iso(reply_at)


def test_acknowledgement_does_not_stop_the_clock(engine, rt):
    mid = make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    ack = reply_to(mid, subject="Accusé de réception", headers={"Auto-Submitted": "auto-replied"})
    record(engine, rt, ack, T0 + timedelta(minutes=1), role="sent")
    assert answered(engine, rt, mid) is None
    reply_at = T0 + timedelta(days=4)
    record(engine, rt, reply_to(mid), reply_at, role="sent")
    assert answered(engine, rt, mid) == iso(reply_at)
    with Session(engine) as session:
        view = register.show_case(session, rt, cases(engine, rt)[mid]["reference"], NOW)
    assert [m["kind"] for m in view["messages"]] == ["mail", "ack", "reply"]


def test_follow_up_before_the_reply_joins_without_resetting_the_clock(engine, rt):
    mid, follow = make_id(), make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    before = cases(engine, rt)[mid]
    record(engine, rt, make_mail(message_id=follow, subject="RE: relance", in_reply_to=mid, references=[mid]), T0 + timedelta(days=2))
    after = cases(engine, rt)
    assert len(after) == 1
    assert after[mid]["message_ids"] == [mid, follow]
    assert after[mid]["deadline"] == before["deadline"]
    assert after[mid]["received_at"] == before["received_at"]


def test_follow_up_after_the_reply_opens_a_linked_request(engine, rt):
    mid, rid, follow = make_id(), make_id(), make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    record(engine, rt, reply_to(mid, message_id=rid), T0 + timedelta(days=1), role="sent")
    record(engine, rt, make_mail(message_id=follow, subject="RE: merci", in_reply_to=rid, references=[mid, rid]), T0 + timedelta(days=5))
    all_cases = cases(engine, rt)
    assert len(all_cases) == 2
    first, second = all_cases[mid], all_cases[follow]
    assert second["answered_at"] is None and second["category"] == first["category"]
    with Session(engine) as session:
        assert register.show_case(session, rt, second["reference"], NOW)["parent"] == first["reference"]
        assert register.show_case(session, rt, first["reference"], NOW)["children"] == [second["reference"]]


def test_cc_to_two_mailboxes_is_one_request_answered_from_the_second(engine, rt):
    mid = make_id()
    raw = make_mail(message_id=mid, cc="prefecture@haute-savoie.gouv.fr")
    assert record(engine, rt, raw, T0, mailbox="qualite").recorded == 1
    assert record(engine, rt, raw, T0 + timedelta(seconds=2), mailbox="accueil").duplicates == 1
    reply_at = T0 + timedelta(days=1)
    record(engine, rt, reply_to(mid, sender="prefecture@haute-savoie.gouv.fr"), reply_at, mailbox="accueil", role="sent")
    all_cases = cases(engine, rt)
    assert len(all_cases) == 1
    assert all_cases[mid]["answered_at"] == iso(reply_at)
    assert all_cases[mid]["mailbox"] == "qualite"


def test_reply_recorded_before_its_request_is_linked_when_it_appears(engine, rt):
    mid = make_id()
    reply_at = T0 + timedelta(days=1)
    record(engine, rt, reply_to(mid), reply_at, role="sent")
    with Session(engine) as session:
        assert len(replies.unlinked(session, rt)) == 1
    record(engine, rt, make_mail(message_id=mid), T0)
    assert answered(engine, rt, mid) == iso(reply_at)
    with Session(engine) as session:
        assert replies.unlinked(session, rt) == []


def test_an_earlier_reply_found_late_moves_the_clock_back(engine, rt):
    mid = make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    late, early = T0 + timedelta(days=9), T0 + timedelta(days=1)
    record(engine, rt, reply_to(mid), late, role="sent")
    record(engine, rt, reply_to(mid), early, mailbox="accueil", role="sent")
    assert answered(engine, rt, mid) == iso(early)


def test_follow_up_after_the_answer_polled_before_the_reply_is_split(engine, rt):
    mid, follow = make_id(), make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    record(engine, rt, make_mail(message_id=follow, subject="RE: encore", in_reply_to=mid, references=[mid]), T0 + timedelta(days=6))
    assert len(cases(engine, rt)) == 1
    record(engine, rt, reply_to(mid), T0 + timedelta(days=2), role="sent")
    all_cases = cases(engine, rt)
    assert len(all_cases) == 2
    assert all_cases[mid]["message_ids"] == [mid]
    assert all_cases[follow]["answered_at"] is None


def test_never_answered_stays_null_and_polling_again_changes_nothing(engine, rt):
    mid = make_id()
    raw = make_mail(message_id=mid)
    record(engine, rt, raw, T0)
    before = cases(engine, rt)
    summary = record(engine, rt, raw, T0)
    assert summary.as_dict() == {"recorded": 0, "duplicates": 1, "quarantined": 0}
    assert cases(engine, rt) == before
    assert before[mid]["answered_at"] is None
    assert before[mid]["status"] == "overdue"


def test_unlinked_reply_is_linked_by_hand_with_an_event(engine, rt):
    mid = make_id()
    record(engine, rt, make_mail(message_id=mid), T0)
    reference = cases(engine, rt)[mid]["reference"]
    rid = make_id()
    at = T0 + timedelta(days=1)
    record(engine, rt, make_mail(sender="pref-qualite@haute-savoie.gouv.fr", to="jeanne.martin@example.org",
                                 subject="Votre dossier", message_id=rid), at, role="sent")
    with Session(engine) as session, session.begin():
        replies.link(session, rt, reference, rid.strip("<>"), "agent.dupont", NOW)
    assert answered(engine, rt, mid) == iso(at)
    with Session(engine) as session:
        events = register.show_case(session, rt, reference, NOW)["events"]
    assert any(e["kind"] == "linked" and e["actor"] == "agent.dupont" for e in events)
