"""``tracer run`` with IMAP IDLE: new mail never waits for the timed poll.

The timed poll is every 300 s, so a message recorded within 20 s was brought
in by IDLE (20 s is a correctness bound, not a speed goal: bench/latency.py
measures the latency). Messages are delivered one at a time at the moments
IDLE used to miss: right after start, while the first poll runs, between two
IDLE slices, and later.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timezone

from mailfactory import make_mail
from test_daemon import start, stop, wait_for

BOUND_S = 20.0


def recorded_ids(config) -> set[str]:
    path = config.parent / "tracer.store.db"
    if not path.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return {row[0] for row in conn.execute("SELECT message_id FROM message")}
    except sqlite3.OperationalError:  # the daemon has not created the tables yet
        return set()


def test_every_delivery_is_recorded_by_idle_not_by_the_timed_poll(dovecot, make_config):
    user, _ = dovecot.user("idle")
    config = make_config([{"name": "qualite", "address": user, "username": user, "service": "qualite", "timeout": 5}],
                         port=dovecot.port, extra="[schedule]\npoll_seconds = 300\nalerts_seconds = 3600\noutbox_seconds = 3600\n")
    proc = start(config)
    delivered: dict[str, float] = {}
    seen: dict[str, float] = {}

    def watch(seconds: float) -> None:
        until = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            for mid in recorded_ids(config) & set(delivered):
                seen.setdefault(mid, now)
            if now >= until or len(seen) == len(delivered) and seconds == BOUND_S:
                return
            time.sleep(0.1)

    try:
        # right after start (during the first poll, before IDLE is set up),
        # then at uneven moments that fall on IDLE slice ends, then later
        for index, pause in enumerate([0.0, 0.4, 1.2, 2.0, 3.1, 6.0, 2.9, 0.1, 12.0]):
            watch(pause)
            mid = f"<idle-{index}@x.fr>"
            dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=mid, subject=f"Demande {index}"),
                                  datetime.now(timezone.utc))
            delivered[mid] = time.monotonic()
        watch(BOUND_S)
    finally:
        code, _took, err = stop(proc)
    late = {mid: round(seen[mid] - at, 1) if mid in seen else None for mid, at in delivered.items()
            if mid not in seen or seen[mid] - at > BOUND_S}
    assert not late, f"not recorded within {BOUND_S} s (None: never): {late}\n{err[-3000:]}"
    assert code == 0 and "Traceback" not in err, err[-3000:]


def test_mail_announced_between_two_idle_slices_counts(dovecot):
    """Dovecot announces a message delivered while no IDLE was running only in
    its answer to the next IDLE's DONE: that answer is not dropped."""
    from test_mailbox import box_for
    from tracer.mail.mailbox import ImapMailbox

    user, _ = dovecot.user("idle")
    with ImapMailbox(box_for(dovecot, user)) as imap:
        imap.select("INBOX")
        assert not imap.idle_wait(0.5)
        for index in range(3):
            dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=f"<slice-{index}@x.fr>"), datetime.now(timezone.utc))
            assert imap.idle_wait(0.5)
        info = imap.status("INBOX")
        assert (info.uidnext, info.exists) == (4, 3)


def test_mail_announced_while_a_poll_runs_is_polled_for_when_it_ends(dovecot, make_config, monkeypatch):
    """A forced poll (IDLE) that finds the mailbox being polled is not merged
    into that poll, whose UID SEARCH came before the new message: the running
    poll polls again."""
    from tracer import daemon
    from tracer.core import config as config_mod
    from tracer.mail import ingest
    from tracer.store import db

    user, _ = dovecot.user("idle")
    backlog = [(make_mail(to=user, message_id=f"<backlog-{i}@x.fr>", subject=f"Demande {i}"), datetime.now(timezone.utc))
               for i in range(300)]
    dovecot.server.append_many(user, "INBOX", backlog)
    config = make_config([{"name": "qualite", "address": user, "username": user, "service": "qualite", "batch_size": 20}],
                         port=dovecot.port)
    cfg = config_mod.load(str(config))
    engine = db.open_engine(cfg.database_url)
    runner = daemon.Daemon(cfg, engine)
    first_batch_in = threading.Event()
    polled = threading.Thread(target=runner.poll, args=("qualite",))
    real_record_batch = ingest.record_batch

    def record_batch(*args, **kwargs):
        summary = real_record_batch(*args, **kwargs)
        first_batch_in.set()  # the running poll's UID SEARCH is behind it
        return summary

    monkeypatch.setattr(ingest, "record_batch", record_batch)
    polled.start()
    assert first_batch_in.wait(60)
    dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<pendant@x.fr>"), datetime.now(timezone.utc))
    assert runner.locks["qualite"].locked()  # the poll is still running: the forced one meets it
    runner.poll("qualite", force=True)  # what IDLE does on the announcement
    polled.join(120)
    assert recorded_ids(config) >= {"<pendant@x.fr>", "<backlog-299@x.fr>"}
    engine.dispose()
