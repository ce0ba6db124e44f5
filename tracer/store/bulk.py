"""Rows written in bulk just before the commit.

Append-only side rows (raw messages, where a message was seen, the ids it
points to, events) are not read back in the transaction that writes them, so
they are collected and inserted with one ``executemany`` per table before the
commit (or earlier, with :func:`flush_deferred`, by a reader that needs them).
This keeps the per-message cost of a poll close to the parsing itself.
"""

from __future__ import annotations

from sqlalchemy import event, insert
from sqlmodel import Session, SQLModel

KEY = "deferred_rows"


def defer(session: Session, model, **values) -> None:
    rows = session.info.setdefault(KEY, {})
    rows.setdefault(model, []).append(values)
    if not session.info.get("deferred_hook"):
        event.listen(session, "before_commit", flush_deferred)
        event.listen(session, "after_rollback", _forget)
        session.info["deferred_hook"] = True


def flush_deferred(session: Session) -> None:
    rows = session.info.get(KEY)
    if not rows:
        return
    session.info[KEY] = {}
    session.flush()  # the rows they refer to exist first
    conn = session.connection()
    for model, items in rows.items():
        if items:
            conn.execute(insert(model.__table__), [_resolve(item) for item in items])


def _resolve(values: dict) -> dict:
    """A value given as a row object (not flushed when deferred) becomes its id."""
    return {k: (v.id if isinstance(v, SQLModel) else v) for k, v in values.items()}


def _forget(session: Session) -> None:
    session.info[KEY] = {}
