"""Large attachments are measured without being parsed: same result, far less memory."""

from __future__ import annotations

import os
import tracemalloc
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tracer.mail import parse as parse_mod


def as_parsed(raw: bytes) -> dict:
    parsed = parse_mod.parse(raw)
    return {k: v for k, v in vars(parsed).items() if not k.startswith("_")}


def both_ways(raw: bytes, monkeypatch) -> tuple[dict, dict]:
    """(parsed with the long runs set aside, parsed by the standard library alone)."""
    with monkeypatch.context() as m:
        m.setattr(parse_mod, "LARGE_MESSAGE", 1000)
        m.setattr(parse_mod, "SET_ASIDE_RUN", 500)
        fast = as_parsed(raw)
    with monkeypatch.context() as m:
        m.setattr(parse_mod, "LARGE_MESSAGE", 10**12)
        plain = as_parsed(raw)
    return fast, plain


def mixed(parts, crlf=False) -> bytes:
    outer = MIMEMultipart("mixed")
    outer["From"] = "Jeanne Martin <jeanne@exemple.fr>"
    outer["To"] = "prefecture@exemple.gouv.fr"
    outer["Subject"] = "Pièces pour mon dossier"
    outer["Message-ID"] = "<large@exemple.fr>"
    for part in parts:
        outer.attach(part)
    raw = outer.as_bytes()
    return raw.replace(b"\n", b"\r\n") if crlf else raw


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=6000), min_size=1, max_size=3),
    text_size=st.integers(min_value=0, max_value=4000),
    crlf=st.booleans(),
)
def test_setting_aside_changes_nothing_but_memory(sizes, text_size, crlf, monkeypatch):
    body = MIMEText("Bonjour, voici mes pièces. " * (text_size // 27 + 1), "plain", "utf-8")  # base64, text: kept
    attachments = [MIMEApplication(os.urandom(n), "pdf", Name=f"piece{i}.pdf") for i, n in enumerate(sizes)]
    raw = mixed([body, *attachments], crlf)
    fast, plain = both_ways(raw, monkeypatch)
    assert fast == plain
    assert [a["size"] for a in fast["attachments"]] == sizes


def test_nested_and_odd_parts_agree(monkeypatch):
    inner = EmailMessage()
    inner["Subject"] = "message transféré"
    inner.set_content("texte")
    inner.add_attachment(os.urandom(5000), maintype="image", subtype="jpeg", filename="photo.jpg")
    forwarded = MIMEApplication(b"", "octet-stream")
    forwarded.set_payload(inner.as_bytes().decode("ascii"))
    forwarded.replace_header("Content-Type", "message/rfc822")
    del forwarded["Content-Transfer-Encoding"]
    unnamed = MIMEApplication(os.urandom(4096), "octet-stream")  # no file name
    big_text = MIMEText("é" * 3000, "html", "utf-8")  # a large text part: never set aside
    raw = mixed([big_text, unnamed, forwarded])
    fast, plain = both_ways(raw, monkeypatch)
    assert fast == plain
    assert "é" * 100 in fast["body_html"]  # the large text part was parsed, not set aside
    assert {a["filename"] for a in fast["attachments"]} >= {"photo.jpg", None}


@pytest.mark.slow
def test_a_25_mb_attachment_parses_in_little_memory():
    raw = mixed([MIMEText("Bonjour", "plain", "utf-8"), MIMEApplication(os.urandom(25 * 1024 * 1024), "pdf", Name="dossier.pdf")])
    tracemalloc.start()
    try:
        parsed = parse_mod.parse(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed.attachments == [{"filename": "dossier.pdf", "size": 25 * 1024 * 1024, "content_type": "application/pdf"}]
    # the standard library alone peaks near ten times the message (about 350 MB here)
    assert peak < 2 * len(raw), f"peak {peak / 1e6:.0f} MB for a {len(raw) / 1e6:.0f} MB message"
