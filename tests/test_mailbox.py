"""The IMAP adapter against a real Dovecot."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from mailfactory import make_mail
from tracer.core.config import Section
from tracer.mail.mailbox import ImapMailbox, MailboxError

PARIS = ZoneInfo("Europe/Paris")


def box_for(dovecot, user, password="mot-de-passe", port=None, **extra):
    values = {"host": "127.0.0.1", "port": port or dovecot.port, "tls": "none", "ca_file": None, "username": user,
              "password": password, "timeout": 5, "batch_size": 2}
    values.update(extra)
    return Section(values)


def test_fetch_gives_exact_internaldates_and_marks_nothing_read(dovecot):
    user, _ = dovecot.user()
    dates = [
        datetime(2026, 7, 1, 0, 30, tzinfo=PARIS),   # just after midnight, summer time
        datetime(2026, 1, 15, 9, 0, 7, tzinfo=PARIS),  # winter time
        datetime(2026, 7, 14, 23, 59, 59, tzinfo=PARIS),
        datetime(2026, 3, 29, 3, 0, tzinfo=PARIS),   # the DST morning
        datetime(2025, 12, 31, 23, 0, tzinfo=timezone.utc),
    ]
    for i, when in enumerate(dates):
        dovecot.server.append(user, "INBOX", make_mail(subject=f"n{i}"), when)
    with ImapMailbox(box_for(dovecot, user)) as imap:
        info = imap.select("INBOX")
        assert info.exists == 5 and info.uidvalidity > 0
        uids = imap.new_uids(0)
        fetched = list(imap.fetch(uids))
        assert imap.new_uids(max(uids)) == []
    assert [f.internaldate for f in fetched] == [d.astimezone(timezone.utc) for d in dates]
    assert all(f.internaldate.tzinfo is not None for f in fetched)
    assert all(b"Subject: n" in f.raw for f in fetched)
    assert all(b"\\Seen" not in flags for flags in dovecot.server.flags(user, "INBOX").values())


def test_wrong_password_is_a_french_error_without_the_password(dovecot):
    user, _ = dovecot.user()
    with pytest.raises(MailboxError) as err:
        ImapMailbox(box_for(dovecot, user, password="faux-secret")).connect()
    assert "mot de passe refusé" in str(err.value) and "faux-secret" not in str(err.value)


def test_closed_port_is_a_french_error():
    from dovecot import free_port

    box = Section({"host": "127.0.0.1", "port": free_port(), "tls": "none", "ca_file": None, "username": "x",
                   "password": "y", "timeout": 2, "batch_size": 10})
    with pytest.raises(MailboxError) as err:
        ImapMailbox(box).connect()
    assert "connexion refusée" in str(err.value)


def test_uidvalidity_changes_when_the_folder_is_recreated(dovecot):
    user, _ = dovecot.user()
    dovecot.server.append(user, "Sent", make_mail(), datetime(2026, 9, 1, tzinfo=timezone.utc))
    before = dovecot.server.uidvalidity(user, "Sent")
    dovecot.server.recreate_folder(user, "Sent")
    assert dovecot.server.uidvalidity(user, "Sent") != before


def test_expunged_uid_is_skipped_and_append_to_sent_is_seen(dovecot):
    user, _ = dovecot.user()
    for i in range(3):
        dovecot.server.append(user, "INBOX", make_mail(subject=f"m{i}"), datetime(2026, 9, 1, i, tzinfo=timezone.utc))
    with ImapMailbox(box_for(dovecot, user)) as imap:
        imap.select("INBOX")
        uids = imap.new_uids(0)
        dovecot.server.expunge(user, "INBOX", [uids[1]])
        assert [f.uid for f in imap.fetch(uids)] == [uids[0], uids[2]]
        imap.append("Sent", make_mail(subject="copie"))
    flags = dovecot.server.flags(user, "Sent")
    assert [b"\\Seen" in f for f in flags.values()] == [True]


def test_missing_folder_is_a_folder_error(dovecot):
    user, _ = dovecot.user()
    with ImapMailbox(box_for(dovecot, user)) as imap:
        with pytest.raises(MailboxError) as err:
            imap.select("Nulle-part")
    assert err.value.folder_only


def test_batches_are_bounded_in_count_and_bytes():
    from tracer.mail.mailbox import plan_batches

    sizes = {1: 10, 2: 10, 3: 10, 4: 100, 5: 10, 6: 10}
    assert plan_batches([1, 2, 3, 4, 5, 6], sizes, max_count=2, max_bytes=1000) == [[1, 2], [3, 4], [5, 6]]
    # a message larger than the byte budget is fetched alone; the others fill up to it
    assert plan_batches([1, 2, 3, 4, 5, 6], sizes, max_count=10, max_bytes=25) == [[1, 2], [3], [4], [5, 6]]
    assert plan_batches([], {}, 5, 5) == []


def test_fetch_batches_reads_ahead_and_gives_every_batch_in_order(dovecot):
    user, _ = dovecot.user()
    for i in range(7):
        dovecot.server.append(user, "INBOX", make_mail(subject=f"n{i}"), datetime(2026, 7, 1, 9, i, tzinfo=PARIS))
    with ImapMailbox(box_for(dovecot, user, batch_size=3)) as imap:
        imap.select("INBOX")
        uids = imap.new_uids(0)
        batches = imap.batches(uids)
        assert batches == [uids[0:3], uids[3:6], uids[6:7]]
        seen = [(batch, [m.uid for m in fetched]) for batch, fetched in imap.fetch_batches(batches)]
        assert seen == [(b, b) for b in batches]
        # the connection is free again once the generator has ended
        assert imap.new_uids(0) == uids
        # a caller that stops early releases the reading thread
        for _batch, _fetched in imap.fetch_batches(batches):
            break
        assert imap.new_uids(0) == uids
