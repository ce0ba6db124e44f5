"""The référent's dashboard (``/indicateurs``): a period, a grouping, the table and the charts' data.

Every figure comes from :func:`tracer.reports.stats.compute`, the function of
``tracer stats --format json``: the page and the command cannot disagree.
One query per page (``stats.compute_many``: the chosen grouping, per month,
per service, per category and topic folded from one pass over the period).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlmodel import Session

from tracer.core.errors import UserError
from tracer.reports import exports, quality, stats
from tracer.rules.vocabulary import TOPIC_CATEGORIES

# The groupings a person picks in the page (INTERFACE's --by keys, minus the technical ones).
GROUPINGS = ("service", "category", "channel", "topic", "month", "assignee")
PERIOD_KINDS = ("trimestre", "mois", "annee", "dates")
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre"]


class Period(NamedTuple):
    start: date
    end: date  # excluded
    kind: str  # trimestre | mois | annee | dates
    value: str  # "2026-Q3", "2026-09", "2026", or "2026-07-01..2026-10-01"
    label: str  # French, for titles

    @property
    def quarter(self) -> str | None:
        return self.value if self.kind == "trimestre" else None


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: date) -> str:
    year, q = day.year, (day.month - 1) // 3 + 1
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


def quarter_period(text: str) -> Period:
    start, end = stats.quarter_bounds(text)
    q = (start.month - 1) // 3 + 1
    return Period(start, end, "trimestre", f"{start.year}-Q{q}", f"{q}{'er' if q == 1 else 'e'} trimestre {start.year}")


def choose_period(kind: str | None, value: str | None, date_from: str | None, date_to: str | None, today: date) -> Period:
    """The period a page asks for; this quarter when nothing is given. A bad value is a French UserError."""
    kind = (kind or "trimestre").strip()
    value = (value or "").strip()
    if kind == "trimestre":
        return quarter_period(value or quarter_of(today))
    if kind == "mois":
        value = value or today.strftime("%Y-%m")
        try:
            year, month = (int(p) for p in value.split("-"))
            start = date(year, month, 1)
        except ValueError:
            raise UserError(f"mois invalide « {value} » (attendu : 2026-09)") from None
        end = date(year + (month == 12), 1 if month == 12 else month + 1, 1)
        return Period(start, end, "mois", f"{year}-{month:02d}", f"{MONTHS_FR[month - 1]} {year}")
    if kind == "annee":
        value = value or str(today.year)
        if not value.isdigit() or not 1900 < int(value) < 3000:
            raise UserError(f"année invalide « {value} » (attendu : 2026)")
        year = int(value)
        return Period(date(year, 1, 1), date(year + 1, 1, 1), "annee", value, f"année {year}")
    if kind == "dates":
        start, end = stats.parse_period(date_from or "", date_to or "")
        return Period(start, end, "dates", f"{start.isoformat()}..{end.isoformat()}",
                      f"du {start.strftime('%d/%m/%Y')} au {end.strftime('%d/%m/%Y')} (exclu)")
    raise UserError(f"période inconnue « {kind} » (attendu : {', '.join(PERIOD_KINDS)})")


def service_labels(rt) -> dict[str, str]:
    return {s.name: s.label or s.name for s in rt.cfg.services}


def key_label(rt, key: str, value) -> str:
    if key == "service":
        return service_labels(rt).get(value, value or "—")
    if key == "month" and value:
        year, month = value.split("-")
        return f"{MONTHS_FR[int(month) - 1]} {year}"
    return exports.label(key, value)


def dashboard(session: Session, rt, period: Period, as_of: datetime, by: str = "service") -> dict:
    """The table for the chosen grouping and the three charts' series, with the frozen figures if any."""
    if by not in GROUPINGS:
        raise UserError(f"regroupement inconnu « {by} » (attendu : {', '.join(GROUPINGS)})")
    # a table by topic holds complaints and suggestions only, as ``tracer stats --by topic``
    table, monthly, services, topics = stats.compute_many(session, rt, period.start, period.end, as_of,
                                                          [[by], ["month"], ["service"], ["category", "topic"]],
                                                          [TOPIC_CATEGORIES if by == "topic" else None, None, None, None])
    published = quality.frozen_for(session, period.start, period.end)
    return {
        "period": period,
        "by": by,
        "stats": table,
        "rows": [{"label": key_label(rt, by, g["key"][by]), **g} for g in table["groups"]],
        "rate_by_month": [(key_label(rt, "month", g["key"]["month"]), g["rate_on_time"]) for g in monthly["groups"]],
        "delay_by_service": sorted(((key_label(rt, "service", g["key"]["service"]), g["mean_delay_days"])
                                    for g in services["groups"]), key=lambda item: -(item[1] or 0)),
        "topics": topic_counts(topics),
        "frozen": published,
    }


def topic_counts(result: dict) -> list[tuple[str, int, int]]:
    """(topic label, complaints, suggestions), the most frequent first."""
    counts: dict[str, list[int]] = {}
    for group in result["groups"]:
        category = group["key"]["category"]
        if category not in ("reclamation", "suggestion"):
            continue
        row = counts.setdefault(exports.label("topic", group["key"]["topic"] or "autre"), [0, 0])
        row[0 if category == "reclamation" else 1] += group["received"]
    return sorted(((t, c, s) for t, (c, s) in counts.items()), key=lambda item: (-(item[1] + item[2]), item[0]))


def transparence(session: Session, rt, period: Period, as_of: datetime) -> dict:
    """The « Transparence » table of a period: the published figures when frozen, else today's, by channel and category."""
    published = quality.frozen_for(session, period.start, period.end)
    if published is not None:
        return published.figures
    return stats.compute(session, rt, period.start, period.end, as_of, quality.FREEZE_BY)
