"""The weekly digest links each reference to its page when [web].base_url is a public address."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session

from mailfactory import make_mail
from tracer.core import config
from tracer.mail import ingest
from tracer.outgoing import digest
from tracer.services import Runtime

BOX = {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none"}
AS_OF = datetime.fromisoformat("2026-09-21T08:00:00+02:00")


def with_base(base: str | None):
    return SimpleNamespace(web=SimpleNamespace(base_url=base))


def test_the_base_url_is_used_only_when_public():
    assert digest.page_base(with_base("https://tracer.haute-savoie.gouv.fr/")) == "https://tracer.haute-savoie.gouv.fr"
    for local in ("http://127.0.0.1:8000", "http://localhost:8000/", "", None):
        assert digest.page_base(with_base(local)) is None
    assert digest.page_base(SimpleNamespace()) is None  # no [web] section at all


def test_overdue_references_link_to_their_page(engine):
    rt = Runtime(config.from_dict({"mailbox": [BOX]}))
    raw = make_mail(message_id="<late@x>", body="Bonjour, quels documents faut-il pour un passeport ?")
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, datetime.fromisoformat("2026-09-07T09:00:00+02:00"), "qualite", "inbox",
                                                     source="test")], AS_OF)
    with Session(engine) as session:
        data = digest.build(session, rt, AS_OF)
    ref = data["services"][0]["overdue"][0]["reference"]
    assert data["base_url"] is None and "/demandes/" not in digest.render_text(data) + digest.render_html(data, None)
    data["base_url"] = digest.page_base(with_base("https://tracer.haute-savoie.gouv.fr"))
    url = f"https://tracer.haute-savoie.gouv.fr/demandes/{ref}"
    assert f"    {url}" in digest.render_text(data).splitlines()
    assert f"<a href='{url}'" in digest.render_html(data, None)
