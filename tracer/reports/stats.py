"""Indicators (DOMAIN.md, "Indicators"), computed in SQL.

For a period [from, to) of Paris days and any grouping, over requests of the
perimeter (information, reclamation, suggestion; an unclassified request
counts as information) received in the period and known at ``as_of``:

- received; answered (``answered_at <= as_of``);
- on_time: answered at or before the deadline;
- late: answered after the deadline, plus open with the deadline passed;
- pending: open, deadline not yet passed (left out of the rate);
- rate_on_time = on_time / (on_time + late), percent;
- mean_delay_days / mean_delay_working_days over answered requests.

A request of the perimeter with no deadline (anonymous, no reply address)
counts in received, answered and the delays, never in on_time/late/pending.

SQLite has no time-zone functions, so the Paris buckets (day, ISO week,
month, quarter) and the delays are denormalised on the request by
``register.requests.derived_fields`` whenever its reception or answer changes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, literal, or_, select
from sqlmodel import Session

from tracer.core import clock
from tracer.core.errors import UserError
from tracer.store.models import Request

PERIMETER = ("information", "reclamation", "suggestion")
TARGET = 80.0
KEYS = ("service", "mailbox", "category", "topic", "channel", "week", "month", "quarter", "assignee")


def _columns():
    return {
        "service": Request.service,
        "mailbox": Request.mailbox,
        "category": func.coalesce(Request.category, literal("information")),
        "topic": Request.topic,
        "channel": Request.channel,
        "week": Request.received_week,
        "month": Request.received_month,
        "quarter": Request.received_quarter,
        "assignee": Request.assignee,  # the agent it is given to (late: answered late or overdue), null: nobody
    }


def parse_period(date_from: str, date_to: str) -> tuple[date, date]:
    try:
        start, end = clock.parse_day(date_from), clock.parse_day(date_to)
    except (TypeError, ValueError):
        raise UserError(f"période invalide : dates JJ/MM/AAAA ou AAAA-MM-JJ attendues (--from {date_from} --to {date_to})") from None
    if end <= start:
        raise UserError("période vide : --to doit être postérieur à --from")
    return start, end


def quarter_bounds(text: str) -> tuple[date, date]:
    try:
        year, q = text.strip().upper().split("-Q")
        year, q = int(year), int(q)
        assert 1 <= q <= 4
    except (ValueError, AssertionError):
        raise UserError(f"trimestre invalide « {text} » (attendu : 2026-Q3)") from None
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return start, end


def round2(numerator: float, denominator: float) -> float | None:
    if not denominator:
        return None
    value = Decimal(repr(float(numerator))) / Decimal(repr(float(denominator)))
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def compute(session: Session, rt, date_from: date, date_to: date, as_of: datetime, by: list[str] | tuple = (),
            categories: tuple[str, ...] | None = None, services: list[str] | None = None) -> dict:
    """The indicators of ``[date_from, date_to)`` as of ``as_of``, grouped by ``by``; ``categories``
    narrows the perimeter (a topics table holds complaints and suggestions only, its total their sum);
    ``services`` (a signed-in user's scope) counts the requests of these services only."""
    by = _checked(by)
    return _result(rt, date_from, date_to, as_of, by,
                   _raw(session, rt, date_from, date_to, as_of, by, categories, services))


def compute_many(session: Session, rt, date_from: date, date_to: date, as_of: datetime, groupings: list,
                 categories: list | None = None) -> list[dict]:
    """Several groupings of one period in a single pass over the requests (the dashboard's table and charts).

    The query groups by every key of every grouping; each grouping's rows are
    folded from those sums in Python, as ``compute`` folds its total: each
    result equals what ``compute`` gives for that grouping alone.
    ``categories``, one entry per grouping (None: the whole perimeter), narrows
    a grouping as ``compute``'s ``categories`` does (a topics table).
    """
    groupings = [_checked(by) for by in groupings]
    narrow = list(categories) if categories is not None else [None] * len(groupings)
    union = list(dict.fromkeys(k for by in groupings for k in by))
    if any(narrow) and "category" not in union:
        union.append("category")
    rows = _raw(session, rt, date_from, date_to, as_of, union)
    out = []
    for by, only in zip(groupings, narrow):
        positions = [union.index(k) for k in by]
        folded: dict[tuple, list] = {}
        for row in rows:
            if only is not None and row[union.index("category")] not in only:
                continue
            key = tuple(row[i] for i in positions)
            sums = folded.setdefault(key, [0, 0, 0, 0, 0, 0.0, 0.0])
            folded[key] = [a + (b or 0) for a, b in zip(sums, row[len(union):])]
        out.append(_result(rt, date_from, date_to, as_of, by, [(*key, *sums) for key, sums in folded.items()]))
    return out


def _checked(by) -> list[str]:
    by = list(by)
    for key in by:
        if key not in KEYS:
            raise UserError(f"--by : clé inconnue « {key} » (attendu : {', '.join(KEYS)})")
    return by


def _raw(session: Session, rt, date_from: date, date_to: date, as_of: datetime, by: list[str],
         categories: tuple[str, ...] | None = None, services: list[str] | None = None) -> list:
    """One row per group: the keys of ``by``, then the seven raw sums."""
    tz = rt.cfg.tz
    start, end = clock.start_of_day(date_from, tz), clock.start_of_day(date_to, tz)
    # Counted with conditions that are NULL (not counted) where a date is
    # missing, so each row costs few comparisons; late is what remains of the
    # requests with a deadline: answered after it, or still open past it.
    answered = Request.answered_at <= as_of
    open_now = or_(Request.answered_at.is_(None), Request.answered_at > as_of)
    measures = [
        func.count().label("received"),
        func.count(case((answered, 1))).label("answered"),
        func.count(case((and_(answered, Request.answered_at <= Request.deadline), 1))).label("on_time"),
        func.count(Request.deadline).label("with_deadline"),
        func.count(case((and_(Request.deadline >= as_of, open_now), 1))).label("pending"),
        func.sum(case((answered, Request.delay_seconds))).label("delay"),
        func.sum(case((answered, Request.delay_working_seconds))).label("delay_working"),
    ]
    columns = _columns()
    keys = [columns[k].label(f"k_{k}") for k in by]
    query = (
        select(*keys, *measures)
        .where(*_received_between(start, end, as_of))
        # not through the category index (an unclassified request counts as information): the
        # period's range on an index that covers the query is what SQLite should read
        .where(func.coalesce(Request.category, literal("information")).in_(PERIMETER))
    )
    if "month" in by:
        # the months the period spans: the (month, service) index is then read
        # in group order over that range only, with no sort
        last = date.fromordinal(date_to.toordinal() - 1)
        query = query.where(Request.received_month >= f"{date_from:%Y-%m}", Request.received_month <= f"{last:%Y-%m}")
    if categories is not None:
        query = query.where(Request.category.in_(categories))
    if services is not None:
        query = query.where(Request.service.in_(list(services)) if services else Request.id.is_(None))
    if keys:
        query = query.group_by(*[columns[k] for k in by])
    n = len(keys)
    out = []
    for row in session.execute(query).all():
        received, answered_n, on_time_n, with_deadline, pending_n, delay, delay_working = row[n:]
        out.append((*row[:n], received, answered_n, on_time_n, with_deadline - on_time_n - pending_n, pending_n,
                    delay or 0.0, delay_working or 0.0))
    return out


def _received_between(start: datetime, end: datetime, as_of: datetime) -> list:
    """Received in [start, end) and known at ``as_of``: two comparisons per request, not three."""
    if as_of < end:
        return [Request.received_at >= start, Request.received_at <= as_of]
    return [Request.received_at >= start, Request.received_at < end]


def _result(rt, date_from: date, date_to: date, as_of: datetime, by: list[str], rows) -> dict:
    tz = rt.cfg.tz
    keys = by
    groups = []
    total = _empty()
    for row in rows:
        figures = _figures(row[len(keys):])
        if by:
            groups.append({"key": {k: row[i] for i, k in enumerate(by)}, **figures})
        _accumulate(total, row[len(keys):])
    groups.sort(key=lambda g: tuple((v is None, str(v)) for v in g["key"].values()))
    return {
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat(), "as_of": clock.iso_local(as_of, tz)},
        "groups": groups if by else [],
        "total": _figures(total["raw"]),
    }


def _empty() -> dict:
    return {"raw": [0, 0, 0, 0, 0, 0.0, 0.0]}


def _accumulate(total: dict, values) -> None:
    total["raw"] = [a + (b or 0) for a, b in zip(total["raw"], values)]


def _figures(values) -> dict:
    received, answered, on_time, late, pending, delay, delay_working = [v or 0 for v in values]
    return {
        "received": int(received),
        "answered": int(answered),
        "on_time": int(on_time),
        "late": int(late),
        "pending": int(pending),
        "rate_on_time": round2(on_time * 100, on_time + late),
        "mean_delay_days": round2(delay, answered * 86400),
        "mean_delay_working_days": round2(delay_working, answered * 86400),
    }
