"""A stranger cannot join someone else's request by quoting its reference or a
Message-ID; erasing a person touches only that person's own data."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from mailfactory import make_mail, reply_to
from tracer.core import config
from tracer.mail import ingest
from tracer.register import retention
from tracer.services import Runtime
from tracer.store.models import Message, Request

PARIS = ZoneInfo("Europe/Paris")
PREF = "pref-qualite@haute-savoie.gouv.fr"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
RT = Runtime(config.from_dict({
    "tracer": {"reference_prefix": "PREF74"},
    "mailbox": [{"name": "q", "address": PREF, "host": "127.0.0.1", "tls": "none"}],
}))


def put(engine, raw: bytes, when: datetime, role: str = "inbox") -> None:
    ingest.record_batch(engine, RT, [ingest.Incoming(raw, when, "q", role, source="t")], when)


def request_of(engine, message_id: str) -> Request:
    with Session(engine) as session:
        rid = session.execute(select(Message.request_id).where(Message.message_id == message_id)).scalar_one()
        return session.get(Request, rid)


def first_request(engine, cc: str | None = None) -> Request:
    put(engine, make_mail(message_id="<j1@example.org>", sender="Jeanne Martin <jeanne@example.org>", cc=cc,
                          subject="Mon titre de séjour"), T0)
    request = request_of(engine, "<j1@example.org>")
    assert request.reference == "PREF74-2026-00001"
    return request


def test_a_stranger_quoting_a_reference_opens_their_own_request(engine):
    first_request(engine)
    put(engine, make_mail(message_id="<s1@evil.example>", sender="Intrus <intrus@evil.example>",
                          subject="RE: [PREF74-2026-00001] Mon titre de séjour"), T0 + timedelta(hours=1))
    assert request_of(engine, "<s1@evil.example>").reference == "PREF74-2026-00002"
    assert request_of(engine, "<s1@evil.example>").parent_id is None
    # the citizen herself, from a new message quoting the reference, joins
    put(engine, make_mail(message_id="<j2@example.org>", sender="jeanne@example.org", subject="[PREF74-2026-00001] complément"),
        T0 + timedelta(hours=2))
    assert request_of(engine, "<j2@example.org>").reference == "PREF74-2026-00001"


def test_a_stranger_quoting_the_citizens_message_id_opens_their_own_request(engine):
    first_request(engine)
    put(engine, make_mail(message_id="<s2@evil.example>", sender="intrus@evil.example", subject="Re: Mon titre de séjour",
                          in_reply_to="<j1@example.org>", references=["<j1@example.org>"]), T0 + timedelta(hours=1))
    assert request_of(engine, "<s2@evil.example>").reference == "PREF74-2026-00002"


def test_a_third_party_answering_the_prefectures_own_mail_joins(engine):
    first_request(engine)
    put(engine, reply_to("<j1@example.org>", to="jeanne@example.org", message_id="<r1@pref.gouv.fr>"), T0 + timedelta(hours=3), "sent")
    # her lawyer answers the prefecture's reply: In-Reply-To a message tracer sent. The request
    # was answered, so it is a follow-up after the answer: a new request linked to the first.
    put(engine, make_mail(message_id="<a1@avocat.example>", sender="Maître Dupont <dupont@avocat.example>",
                          subject="RE: votre demande", in_reply_to="<r1@pref.gouv.fr>"), T0 + timedelta(hours=4))
    joined = request_of(engine, "<a1@avocat.example>")
    assert joined.parent_id == request_of(engine, "<j1@example.org>").id


def test_someone_copied_on_the_first_message_is_a_participant(engine):
    first_request(engine, cc="Paul Durand <paul@example.net>")
    put(engine, make_mail(message_id="<p1@example.net>", sender="Paul Durand <paul@example.net>",
                          subject="[PREF74-2026-00001] j'ajoute une pièce"), T0 + timedelta(hours=1))
    assert request_of(engine, "<p1@example.net>").reference == "PREF74-2026-00001"


def test_erasing_a_participant_leaves_the_requesters_data(engine):
    first_request(engine, cc="Paul Durand <paul@example.net>")
    put(engine, make_mail(message_id="<p1@example.net>", sender="Paul Durand <paul@example.net>",
                          subject="[PREF74-2026-00001] j'ajoute une pièce", body="Paul Durand, son frère.\n"), T0 + timedelta(hours=1))
    with Session(engine) as session, session.begin():
        result = retention.erase_person(session, RT, "paul@example.net", "dpo", T0 + timedelta(days=1))
    assert result["requests"] == 0 and result["messages"] == 1
    with Session(engine) as session:
        request = session.execute(select(Request).where(Request.reference == "PREF74-2026-00001")).scalars().one()
        assert (request.sender_addr, request.sender_name, request.subject) == ("jeanne@example.org", "Jeanne Martin", "Mon titre de séjour")
        assert request.purged_at is None
        mine = session.execute(select(Message).where(Message.message_id == "<j1@example.org>")).scalars().one()
        assert mine.body_text and mine.from_addr == "jeanne@example.org"
        bodies = session.execute(select(Message.body_text).where(Message.request_id == request.id)).scalars().all()
        assert not any("Paul Durand" in (b or "") for b in bodies)
        assert "paul@example.net" not in mine.cc_addrs  # her message keeps its content, not his address
