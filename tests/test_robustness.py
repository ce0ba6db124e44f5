"""Hostile and broken mail never crashes a poll or an import (issue 8, first part)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from corpus_classification import messages
from tracer.mail.parse import ParseError, parse


def cpython_email_corpus() -> Path | None:
    try:
        import test.test_email as pkg
    except ImportError:
        return None
    folder = Path(pkg.__file__).parent / "data"
    return folder if folder.is_dir() else None


def test_every_message_of_cpythons_email_corpus_is_recorded_or_quarantined(tmp_path):
    folder = cpython_email_corpus()
    if folder is None:
        from conftest import require

        require("corpus de test e-mail de CPython absent (paquet libpython3.11-testsuite)")
    files = sorted(folder.glob("msg_*.txt"))
    assert len(files) >= 40
    work = tmp_path / "corpus"
    work.mkdir()
    for f in files:  # read at test time from where the interpreter has them, never copied into the project
        (work / f.name).write_bytes(f.read_bytes())
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\n')
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "import", str(work), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    # msg_19 is a mailing list digest's text part, with no header at all: not mail, skipped and named
    assert summary.get("skipped") == [str(work / "msg_19.txt")]
    assert summary["recorded"] + summary["duplicates"] + summary["quarantined"] == len(files) - 1
    quarantined = json.loads(subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "quarantine", "--json"],
                                            capture_output=True, text=True, check=True).stdout)
    assert len(quarantined) == summary["quarantined"] and all(q["reason"] for q in quarantined)


SAMPLES = [raw for *_, raw in messages()]


def mutate(raw: bytes, rnd: random.Random) -> bytes:
    choice = rnd.randrange(7)
    if choice == 0:  # truncated anywhere
        return raw[: rnd.randrange(len(raw) + 1)]
    if choice == 1:  # bad charset
        return raw.replace(b'charset="utf-8"', b'charset="x-klingon"').replace(b"charset=utf-8", b"charset=nope")
    if choice == 2:  # broken RFC 2047 word
        return raw.replace(b"Subject: ", b"Subject: =?utf-8?B?w6k=?= =?iso-8859-1?Q?caf=E9", 1)
    if choice == 3:  # missing boundary
        return raw.replace(b"boundary=", b"boundari=")
    if choice == 4:  # NUL bytes
        pos = rnd.randrange(len(raw) + 1)
        return raw[:pos] + b"\x00" * rnd.randrange(1, 50) + raw[pos:]
    if choice == 5:  # a thousand headers
        return b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(1000)) + raw
    flipped = bytearray(raw)
    if not flipped:  # truncated to nothing by an earlier round: one random byte
        return bytes([rnd.randrange(256)])
    for _ in range(rnd.randrange(1, 40)):
        flipped[rnd.randrange(len(flipped))] = rnd.randrange(256)
    return bytes(flipped)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(SAMPLES) - 1), seed=st.integers(), rounds=st.integers(1, 3))
def test_mutated_mime_never_raises_past_the_quarantine(index, seed, rounds):
    rnd = random.Random(seed)
    raw = SAMPLES[index]
    for _ in range(rounds):
        raw = mutate(raw, rnd)
    try:
        parse(raw)
    except ParseError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=3000))
def test_random_bytes_never_raise_past_the_quarantine(raw):
    try:
        parse(raw)
    except ParseError as exc:
        assert str(exc)


def test_import_of_mbox_and_maildir_keeps_their_delivery_times(tmp_path):
    import mailbox as stdlib_mailbox

    from mailfactory import make_mail

    mbox = stdlib_mailbox.mbox(str(tmp_path / "archive.mbox"))
    msg = stdlib_mailbox.mboxMessage(make_mail(message_id="<mbox-1@x>"))
    msg.set_from("jeanne@example.org", (2026, 9, 7, 8, 30, 0, 0, 0, 0))
    mbox.add(msg)
    mbox.close()
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1789300800.M1P1.host").write_bytes(make_mail(message_id="<maildir-1@x>"))
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\n')
    run = lambda *a: subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), *a], capture_output=True, text=True)
    out = run("import", str(tmp_path / "archive.mbox"), str(maildir), "--json")
    assert json.loads(out.stdout) == {"recorded": 2, "duplicates": 0, "quarantined": 0}
    assert json.loads(run("import", str(tmp_path / "archive.mbox"), "--json").stdout)["duplicates"] == 1
    cases = {c["message_ids"][0]: c for c in json.loads(run("cases", "--json").stdout)}
    assert cases["<mbox-1@x>"]["received_at"] == "2026-09-07T10:30:00+02:00"
    assert cases["<maildir-1@x>"]["received_at"] == "2026-09-13T14:00:00+02:00"
    missing = run("import", str(tmp_path / "nulle-part"))
    assert missing.returncode == 1 and "chemin introuvable" in missing.stderr and "Traceback" not in missing.stderr
