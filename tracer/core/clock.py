"""The one clock: every "now" in tracer comes from here.

Service functions take ``now`` as an argument; only the edges (CLI, daemon)
call :func:`now`.  Tests pin time with ``TRACER_NOW`` (an ISO 8601 instant)
for subprocesses, or pass ``--as-of``.

Every datetime in tracer is aware; the database returns UTC.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    """Current instant, aware, UTC (``TRACER_NOW`` overrides it)."""
    pinned = os.environ.get("TRACER_NOW")
    if pinned:
        return parse_instant(pinned)
    return datetime.now(UTC)


# What a French user types: « 02/12/2026 », « 02/12/2026 20:16 », « 02/12/2026 à 20h16 ».
_FR_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:(?:\s+à\s+|\s+|T)(\d{1,2})[:h](\d{2}))?")


def parse_instant(text: str, tz: ZoneInfo = PARIS) -> datetime:
    """ISO 8601 instant, or ``JJ/MM/AAAA`` with an optional ``HH:MM``; a naive value or a bare date is read in ``tz``."""
    text = (text or "").strip()
    m = _FR_DAY.fullmatch(text)
    if m:
        value = datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)), int(m.group(4) or 0), int(m.group(5) or 0),
                         tzinfo=tz)
        return value.astimezone(UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")


def is_instant(value) -> bool:
    """Is ``value`` an ISO 8601 instant with its offset (as ``iso_local`` writes them)?"""
    return isinstance(value, str) and _INSTANT.fullmatch(value) is not None


def parse_day(text: str) -> date:
    """``AAAA-MM-JJ`` or ``JJ/MM/AAAA`` (ValueError otherwise)."""
    text = (text or "").strip()
    m = _FR_DAY.fullmatch(text)
    if m and m.group(4) is None:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(text)


def is_day(text: str) -> bool:
    """Is ``text`` a bare date (ISO or French), not an instant?"""
    try:
        parse_day(text)
    except (TypeError, ValueError):
        return False
    return True


def to_db(value: datetime | None) -> datetime | None:
    """Any datetime -> aware UTC (naive input is taken as UTC)."""
    return from_db(value)


def from_db(value: datetime | None) -> datetime | None:
    """Aware UTC (naive input is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime | None, tz: ZoneInfo = PARIS) -> datetime | None:
    """Aware (or naive UTC) -> aware in the display zone."""
    if value is None:
        return None
    return from_db(value).astimezone(tz)


def iso_local(value: datetime | None, tz: ZoneInfo = PARIS) -> str | None:
    """ISO 8601 with offset in the display zone, or None (JSON shapes)."""
    shown = local(value, tz)
    return shown.isoformat() if shown else None


def start_of_day(day: date, tz: ZoneInfo = PARIS) -> datetime:
    """00:00 local of ``day`` as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
