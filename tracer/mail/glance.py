"""A glance before a poll: which mailboxes have nothing new (IMAP STATUS only).

For each mailbox, one IMAP connection asks every polled folder's UIDVALIDITY
and UIDNEXT (STATUS, no SELECT) and compares them with the folder's
high-water mark. A mailbox where nothing is new has its folders marked as
polled and its reports returned; every other case (new mail, a folder never
polled or that failed last time, a changed UIDVALIDITY, a server error, a
database that ``store.lite`` cannot read) is left to the full poll
(``ingest.poll_mailbox``), which reports and records it as always. Loads
neither SQLAlchemy nor the rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from tracer.mail.summary import FolderReport, Summary
from tracer.store.lite import LiteStore


def nothing_new(cfg, names: list[str] | None, now_fn: Callable[[], datetime]) -> dict[str, list[FolderReport]]:
    """``{mailbox: reports}`` for the mailboxes (of ``names``, else all) with nothing new."""
    store = LiteStore.open(cfg.database_url)
    if store is None:
        return {}
    done: dict[str, list[FolderReport]] = {}
    try:
        for box in cfg.mailboxes:
            if names and box.name not in names:
                continue
            folders = [(role, folder) for role, folder in (("inbox", box.inbox), ("sent", box.sent)) if folder]
            if _unchanged(store, box, folders):
                store.mark_polled([(box.name, folder) for _role, folder in folders], now_fn())
                done[box.name] = [FolderReport(box.name, folder, role, Summary()) for role, folder in folders]
    finally:
        store.close()
    return done


def _unchanged(store: LiteStore, box, folders: list[tuple[str, str]]) -> bool:
    from tracer.mail.mailbox import ImapMailbox, MailboxError

    marks = store.folders(box.name)
    if any(folder not in marks or marks[folder].failing for _role, folder in folders):
        return False
    try:
        with ImapMailbox(box) as imap:
            for _role, folder in folders:
                info = imap.status(folder)
                mark = marks[folder]
                if info is None or info.uidvalidity != mark.uidvalidity or info.uidnext > mark.last_uid + 1:
                    return False
    except MailboxError:
        return False  # the full poll meets it again, reports and records it
    return True
