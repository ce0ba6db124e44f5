"""Read messages from files for ``tracer import`` (backfill of history).

Accepts ``.eml`` files, folders of them (recursive), mbox files and Maildir
folders. Reception time (INTERFACE.md): the file's own delivery time
(Maildir file name or mtime, mbox ``From `` line), else the topmost
``Received:`` header, else ``Date:``; else None (the caller decides).
"""

from __future__ import annotations

import mailbox
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterator

from tracer.core.errors import UserError
from tracer.mail.parse import received_time_from_headers

MAILDIR_NAME = re.compile(r"^(\d{9,11})\.")
# A header field line (RFC 5322 2.2): a name of printable ASCII without colon, then « : ».
FIELD = re.compile(rb"^([!-9;-~]{1,76})[ \t]*:")
# Fields every message carries one of: a file whose header block names none is not mail.
MAIL_FIELDS = frozenset({
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"received", b"return-path", b"delivered-to",
    b"sender", b"reply-to", b"in-reply-to", b"references", b"mime-version", b"x-original-to", b"content-type",
    b"content-transfer-encoding",
})
HEAD_BYTES = 64 * 1024


def looks_like_mail(head: bytes) -> bool:
    """Whether ``head`` (the start of a file) opens with an RFC 5322 header block.

    The first line is a field (``Name: value``); among the fields (and their
    continuations) up to the first line that is neither, one is a field every
    message carries (From, Date, Received, Content-Type…). A body glued to the
    headers without the empty line still counts: it is a damaged message, for
    quarantine if it does not parse. An HTML page, an XML part, a SQLite WAL, a
    CSV or a text note fails on its first line.
    """
    lines = head.split(b"\n")
    # The last line read may be cut: its start still tells a field (a header of
    # more than HEAD_BYTES is hostile or damaged mail, for the register or quarantine)
    known = False
    for index, line in enumerate(lines):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t") and index > 0:
            continue
        match = FIELD.match(line)
        if match is None:
            break
        known = known or match.group(1).lower() in MAIL_FIELDS
    return known


@dataclass
class ImportItem:
    raw: bytes
    received_at: datetime | None
    origin: str


def iter_messages(paths: list[str | Path], skipped: list[str] | None = None) -> Iterator[ImportItem]:
    """Every message found under ``paths``; files of a folder that are not mail
    (no header block, see ``looks_like_mail``: whatever their name) are listed in
    ``skipped`` instead. A file named on the command line is always read."""
    skipped = [] if skipped is None else skipped
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UserError(f"chemin introuvable : {path}")
        if path.is_dir():
            if _is_maildir(path):
                yield from _maildir(path)
            else:
                yield from _folder(path, skipped)
        elif _is_mbox(path):
            yield from _mbox(path)
        else:
            yield _eml(path)


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def _eml(path: Path) -> ImportItem:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"lecture impossible : {path} ({exc.strerror})") from None
    return ImportItem(raw, received_time_from_headers(raw), str(path))


def _folder(path: Path, skipped: list[str]) -> Iterator[ImportItem]:
    for root, dirs, files in os.walk(path):
        dirs.sort()
        root_path = Path(root)
        if _is_maildir(root_path):
            dirs[:] = []
            yield from _maildir(root_path)
            continue
        for name in sorted(files):
            file = root_path / name
            if name.startswith("."):
                continue
            if _is_mbox(file):
                yield from _mbox(file)
            elif _starts_like_mail(file):
                yield _eml(file)
            else:
                skipped.append(str(file))


def _starts_like_mail(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return looks_like_mail(handle.read(HEAD_BYTES))
    except OSError:
        return True  # unreadable: _eml names the problem


def _maildir(path: Path) -> Iterator[ImportItem]:
    for sub in ("new", "cur"):
        for file in sorted((path / sub).iterdir()):
            if not file.is_file() or file.name.startswith("."):
                continue
            raw = file.read_bytes()
            match = MAILDIR_NAME.match(file.name)
            stamp = int(match.group(1)) if match else int(file.stat().st_mtime)
            yield ImportItem(raw, datetime.fromtimestamp(stamp, timezone.utc), str(file))


def _mbox(path: Path) -> Iterator[ImportItem]:
    box = mailbox.mbox(str(path), create=False)
    try:
        for index, key in enumerate(box.iterkeys(), start=1):
            message = box.get_message(key)
            raw = box.get_bytes(key)
            yield ImportItem(raw, _from_line_time(message.get_from()) or received_time_from_headers(raw), f"{path}#{index}")
    finally:
        box.close()


def _from_line_time(from_line: str | None) -> datetime | None:
    """``sender@x Mon Sep  7 10:00:00 2026`` -> aware UTC (asctime is UTC by convention)."""
    if not from_line:
        return None
    parts = from_line.split(None, 1)
    if len(parts) < 2:
        return None
    try:
        when = datetime.strptime(" ".join(parts[1].split()[:5]), "%a %b %d %H:%M:%S %Y")
        return when.replace(tzinfo=timezone.utc)
    except ValueError:
        try:
            return parsedate_to_datetime(parts[1]).astimezone(timezone.utc)
        except (TypeError, ValueError):
            return None
