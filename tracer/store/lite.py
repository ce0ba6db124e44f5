"""Folder states through the DBAPI alone, for a poll with nothing new.

A ``tracer poll`` that finds no new mail only compares each folder's UIDNEXT
with its high-water mark and records when the poll succeeded; importing
SQLAlchemy and the models costs several times that. This module reads and
writes those two things with the standard library's ``sqlite3``, on a SQLite
database whose schema is at the newest migration (anything else: ``None``,
and the caller takes the full path through ``db``). Datetimes are written as
SQLAlchemy writes them on SQLite (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"


def newest_revision() -> str | None:
    """The newest migration's revision (files are named ``NNNN_what.py`` after it)."""
    found = sorted(path.name.split("_", 1)[0] for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    return found[-1] if found else None


@dataclass
class FolderMark:
    uidvalidity: int | None
    last_uid: int
    failing: bool  # its last poll failed (an error newer than its last success)


class LiteStore:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @classmethod
    def open(cls, url: str) -> "LiteStore | None":
        """The SQLite file of ``url`` if its schema is at the newest revision, else None."""
        if not url.startswith("sqlite:///") or "?" in url:
            return None
        path = url[len("sqlite:///"):]
        if not path or path == ":memory:" or not os.path.isfile(path):
            return None
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error:
            return None
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            conn.close()
            return None
        if row is None or row[0] != newest_revision():
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    def folders(self, mailbox: str) -> dict[str, FolderMark]:
        rows = self.conn.execute(
            "SELECT folder, uidvalidity, last_uid, last_success_at, last_error_at FROM folder_state WHERE mailbox = ?", (mailbox,)
        ).fetchall()
        return {folder: FolderMark(uidvalidity, last_uid or 0, bool(error_at) and (not success_at or error_at >= success_at))
                for folder, uidvalidity, last_uid, success_at, error_at in rows}

    def mark_polled(self, folders: list[tuple[str, str]], at: datetime) -> None:
        """``(mailbox, folder)`` pairs polled successfully at ``at``, in one transaction."""
        stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany("UPDATE folder_state SET last_success_at = ? WHERE mailbox = ? AND folder = ?",
                                  [(stamp, mailbox, folder) for mailbox, folder in folders])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
