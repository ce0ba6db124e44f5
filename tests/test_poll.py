"""``tracer poll`` end to end: a real Dovecot, the real command in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from corpus_classification import messages
from mailfactory import make_mail, reply_to

UTC = timezone.utc
BASE = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)


def tracer(config, *args, check=True, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "tracer", "--config", str(config), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tracer {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def cases(config):
    return json.loads(tracer(config, "cases", "--json").stdout)


def test_poll_records_each_message_once_and_changes_nothing_in_the_mailbox(dovecot, make_config):
    user, _ = dovecot.user("qualite")
    dates = {}
    corpus = list(messages())[:50]
    for i, (index, _cat, _topic, _subject, raw) in enumerate(corpus):
        when = BASE + timedelta(hours=7 * i, seconds=i)
        dovecot.server.append(user, "INBOX", raw, when)
        dates[f"<corpus-{index}@exemple-mail.fr>"] = when
    dovecot.server.append(user, "INBOX", b"\x01 pas un courriel \xff\n", BASE)
    config = make_config([{"name": "qualite", "address": user, "username": user}], port=dovecot.port)

    first = json.loads(tracer(config, "poll", "--json").stdout)
    assert (first["recorded"], first["duplicates"], first["quarantined"]) == (50, 0, 1)
    second = json.loads(tracer(config, "poll", "--json").stdout)
    assert (second["recorded"], second["duplicates"], second["quarantined"]) == (0, 0, 0)

    register = cases(config)
    assert len(register) == 50
    for case in register:
        (mid,) = case["message_ids"]
        received = datetime.fromisoformat(case["received_at"])
        assert received == dates[mid] and received.utcoffset() == timedelta(hours=2)  # Paris summer time
        assert case["reference"].startswith("PREF74-2026-")
    assert sorted(int(c["reference"][-5:]) for c in register) == list(range(1, 51))
    assert all(b"\\Seen" not in flags for flags in dovecot.server.flags(user, "INBOX").values())

    quarantine = json.loads(tracer(config, "quarantine", "--json").stdout)
    assert len(quarantine) == 1 and "aucun en-tête" in quarantine[0]["reason"]
    exported = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "quarantine", "--export",
                               str(quarantine[0]["id"])], capture_output=True)
    # Dovecot stores lines with CRLF: the bytes kept are the server's, untouched
    assert exported.stdout == b"\x01 pas un courriel \xff\r\n"
    assert quarantine[0]["size"] == len(exported.stdout)


def test_cc_to_two_mailboxes_and_replies_from_the_sent_folders(dovecot, make_config):
    qualite, _ = dovecot.user("qualite")
    accueil, _ = dovecot.user("accueil")
    original = make_mail(to=qualite, cc=accueil, message_id="<cc-1@exemple.fr>")
    dovecot.server.append(qualite, "INBOX", original, BASE)
    dovecot.server.append(accueil, "INBOX", original, BASE + timedelta(seconds=3))
    other = make_mail(to=qualite, message_id="<solo-1@exemple.fr>", subject="Horaires d'ouverture ?")
    dovecot.server.append(qualite, "INBOX", other, BASE + timedelta(hours=1))
    answer_at = BASE + timedelta(days=2, hours=3)
    dovecot.server.append(accueil, "Sent", reply_to("<cc-1@exemple.fr>", sender=accueil), answer_at)
    config = make_config(
        [{"name": "qualite", "address": qualite, "username": qualite}, {"name": "accueil", "address": accueil, "username": accueil}],
        port=dovecot.port,
    )
    summary = json.loads(tracer(config, "poll", "--json").stdout)
    assert summary["recorded"] == 3 and summary["duplicates"] == 1
    register = {c["message_ids"][0]: c for c in cases(config)}
    assert len(register) == 2
    assert datetime.fromisoformat(register["<cc-1@exemple.fr>"]["answered_at"]) == answer_at
    assert register["<solo-1@exemple.fr>"]["answered_at"] is None
    again = json.loads(tracer(config, "poll", "--json").stdout)
    assert again["recorded"] == 0 and cases(config) == list(cases(config))


def test_a_failing_mailbox_does_not_stop_the_others(dovecot, make_config, tmp_path):
    good, _ = dovecot.user("qualite")
    dovecot.server.append(good, "INBOX", make_mail(to=good), BASE)
    config = make_config(
        [
            {"name": "cassee", "address": "x@haute-savoie.gouv.fr", "username": "x@haute-savoie.gouv.fr", "password_file": str(tmp_path / "faux")},
            {"name": "qualite", "address": good, "username": good},
        ],
        port=dovecot.port,
    )
    (tmp_path / "faux").write_text("pas-le-bon")
    result = tracer(config, "poll", "--json", check=False)
    assert result.returncode == 1
    assert "mot de passe refusé" in result.stderr and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["recorded"] == 1
    status = json.loads(tracer(config, "status", "--json").stdout)
    boxes = {b["name"]: b for b in status["mailboxes"]}
    assert not boxes["cassee"]["ok"] and "mot de passe refusé" in boxes["cassee"]["last_error"]
    assert boxes["qualite"]["ok"] and boxes["qualite"]["last_success_at"]


def test_uidvalidity_change_rescans_without_duplicates(dovecot, make_config):
    user, _ = dovecot.user("qualite")
    for i in range(5):
        dovecot.server.append(user, "Sent", make_mail(sender=user, message_id=f"<s{i}@x.fr>"), BASE + timedelta(hours=i))
    config = make_config([{"name": "qualite", "address": user, "username": user}], port=dovecot.port)
    assert json.loads(tracer(config, "poll", "--json").stdout)["recorded"] == 5
    dovecot.server.recreate_folder(user, "Sent")
    again = json.loads(tracer(config, "poll", "--json").stdout)
    assert (again["recorded"], again["duplicates"]) == (0, 5)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_backlog_loses_and_duplicates_nothing(dovecot, make_config):
    user, _ = dovecot.user("qualite")
    total = 2000
    dovecot.server.append_many(
        user, "INBOX", [(make_mail(to=user, message_id=f"<bulk-{i}@x.fr>", subject=f"Demande {i}"), BASE + timedelta(minutes=i)) for i in range(total)]
    )
    config = make_config([{"name": "qualite", "address": user, "username": user, "batch_size": 100}], port=dovecot.port)
    proc = subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(config), "poll"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = config.parent / "tracer.store.db"
    deadline = time.monotonic() + 120
    killed_at = None
    import sqlite3

    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            with sqlite3.connect(db, timeout=1) as conn:
                count = conn.execute("select count(*) from message").fetchone()[0]
        except sqlite3.Error:
            continue
        if count >= 300:
            helpers = descendants(proc.pid)  # the worker process, its forkserver, the resource tracker
            proc.send_signal(signal.SIGKILL)
            killed_at = count
            break
    proc.wait()
    assert killed_at is not None and killed_at < total, "the poll finished before it could be killed"
    assert helpers, "the backlog was not prepared in a worker process"
    gone_by = time.monotonic() + 15
    while time.monotonic() < gone_by and any(alive(pid) for pid in helpers):
        time.sleep(0.1)
    assert not [pid for pid in helpers if alive(pid)], "processes left behind by a killed poll"
    tracer(config, "poll")
    register = cases(config)
    ids = [c["message_ids"][0] for c in register]
    assert len(ids) == total and len(set(ids)) == total
    assert sorted(int(c["reference"][-5:]) for c in register) == list(range(1, total + 1))
