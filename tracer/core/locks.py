"""Cluster-wide exclusion for daemons sharing one PostgreSQL database.

``exclusive(engine, name)`` takes a PostgreSQL session advisory lock for the
duration of a step (a mailbox poll, the alerts run, the digest): a second
daemon finds it taken and skips the step; when a daemon dies, its connection
closes and the lock is released, so the other takes over at its next tick.
On SQLite (one host, one daemon) it always succeeds.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"tracer:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()
        try:
            yield bool(got)
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
