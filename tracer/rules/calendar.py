"""Working days and deadlines (DOMAIN.md, "Deadlines"): pure functions, no DB.

Working day: Monday to Friday, minus the French public holidays of the
prefecture's zone (the ``holidays`` package: metropolitan France,
Alsace-Moselle, overseas departments) and minus its declared closure days.

Deadline convention: the end (23:59:59 local) of the Nth working day strictly
after the local day of reception; received on a non-working day, the count
starts at the next working day (which is day 1).

Performance: these functions run for every row of the statistics (millions in
the benchmark).  Holidays are computed once per (zone, year); each calendar
keeps, per year, the sorted ordinals of its working days, so counting and
adding working days are bisections instead of day-by-day loops.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Iterable, Protocol
from zoneinfo import ZoneInfo

from tracer.core.clock import PARIS, UTC

# Canonical zone name (configuration key ``holiday_zone``) -> ``holidays.France``
# subdivision.  Verified against holidays 0.109:
#   "57" (Moselle) and "6AE" (Alsace) give the same days: Good Friday, 26 December;
#   "971" Guadeloupe: abolition of slavery 27 May, Victor Schoelcher 21 July
#         (the package also lists Good Friday and Mi-Carême there);
#   "972" Martinique: 22 May, 21 July;  "973" Guyane: 10 June;
#   "974" La Réunion: 20 December;      "976" Mayotte: 27 April.
ZONES: dict[str, str | None] = {
    "metropole": None,
    "alsace-moselle": "57",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}

# Spellings also accepted for a zone (compared lower-case).
ZONE_ALIASES: dict[str, str] = {
    "métropole": "metropole",
    "france": "metropole",
    "alsace": "alsace-moselle",
    "moselle": "alsace-moselle",
    "57": "alsace-moselle",
    "67": "alsace-moselle",
    "68": "alsace-moselle",
    "6ae": "alsace-moselle",
    "guadeloupe": "971",
    "martinique": "972",
    "guyane": "973",
    "la réunion": "974",
    "reunion": "974",
    "réunion": "974",
    "mayotte": "976",
}

END_OF_DAY = time(23, 59, 59)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)


def normalize_zone(zone: str) -> str:
    """Canonical zone name, or ValueError (French message)."""
    key = str(zone).strip().lower()
    if key in ZONES:
        return key
    if key in ZONE_ALIASES:
        return ZONE_ALIASES[key]
    raise ValueError(
        f"zone de jours fériés inconnue : {zone!r} (attendu : " + ", ".join(ZONES) + ")"
    )


@lru_cache(maxsize=1024)
def _holidays(zone: str, year: int) -> frozenset[date]:
    """Public holidays of ``zone`` in ``year`` (cached: the package is slow,
    and imported only here: loading it costs about 80 ms)."""
    import holidays

    return frozenset(holidays.France(years=year, subdiv=ZONES[zone]).keys())


class HolidayStore(Protocol):
    """Where holidays already computed are kept between runs (see tracer.runtime)."""

    def get(self, zone: str, year: int) -> frozenset[date] | None: ...

    def put(self, zone: str, year: int, days: frozenset[date]) -> None: ...


class _Year:
    """Working days of one year for one calendar."""

    __slots__ = ("ordinals", "working", "odd_lengths")

    def __init__(self, ordinals: list[int], odd_lengths: dict[int, timedelta]):
        self.ordinals = ordinals  # sorted ordinals of the working days
        self.working = frozenset(ordinals)
        # local days whose length is not 24 h (DST changes): ordinal -> length - 24 h
        self.odd_lengths = odd_lengths


class WorkingCalendar:
    """Working days of a prefecture: zone holidays, weekends, closure days."""

    def __init__(
        self,
        zone: str = "metropole",
        closure_days: Iterable[date | str] = (),
        tz: ZoneInfo | str = PARIS,
        store: HolidayStore | None = None,
    ):
        self.zone = normalize_zone(zone)
        self.store = store
        self.closure_days = frozenset(
            date.fromisoformat(d) if isinstance(d, str) else (d.date() if isinstance(d, datetime) else d)
            for d in closure_days
        )
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._years: dict[int, _Year] = {}
        self._deadlines: dict[tuple[date, int], datetime] = {}  # (local day, N) -> deadline
        self._closure_ordinals = frozenset(d.toordinal() for d in self.closure_days)

    def __repr__(self) -> str:
        return f"WorkingCalendar(zone={self.zone!r}, closure_days={sorted(self.closure_days)!r}, tz={self.tz!r})"

    # ------------------------------------------------------------ per-year data

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is None:
            found = self._years[year] = self._build_year(year)
        return found

    def _build_year(self, year: int) -> _Year:
        off = {d.toordinal() for d in self.holidays_of(year)} | self._closure_ordinals
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        ordinals = [o for o in range(first, last + 1) if o % 7 not in (6, 0) and o not in off]
        # ordinal % 7: 1 = Monday ... 6 = Saturday, 0 = Sunday
        odd: dict[int, timedelta] = {}
        midnight = self._midnight_ordinal(first)
        for o in range(first, last + 1):
            following = self._midnight_ordinal(o + 1) if o < date.max.toordinal() else midnight + _DAY
            length = following - midnight
            if length != _DAY:
                odd[o] = length - _DAY
            midnight = following
        return _Year(ordinals, odd)

    def _midnight_ordinal(self, ordinal: int) -> datetime:
        return self.start_of(date.fromordinal(ordinal))

    def holidays_of(self, year: int) -> frozenset[date]:
        """Public holidays of the zone in ``year`` (closure days not included)."""
        if self.store is not None:
            kept = self.store.get(self.zone, year)
            if kept is not None:
                return kept
        days = _holidays(self.zone, year)
        if self.store is not None:
            self.store.put(self.zone, year, days)
        return days

    # ------------------------------------------------------------------- days

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday of the zone, not a closure day."""
        return day.toordinal() in self._year(day.year).working

    def add_working_days(self, day: date, n: int) -> date:
        """The Nth working day strictly after ``day`` (n = 0: ``day`` itself;
        n < 0: the |n|th working day strictly before ``day``)."""
        if n == 0:
            return day
        ordinal = day.toordinal()
        year = day.year
        if n > 0:
            data = self._year(year)
            index = bisect_right(data.ordinals, ordinal) + n - 1
            while index >= len(data.ordinals):
                index -= len(data.ordinals)
                year += 1
                data = self._year(year)
            return date.fromordinal(data.ordinals[index])
        data = self._year(year)
        index = bisect_left(data.ordinals, ordinal) + n  # n < 0
        while index < 0:
            year -= 1
            data = self._year(year)
            index += len(data.ordinals)
        return date.fromordinal(data.ordinals[index])

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        return self.add_working_days(day, -1)

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in (first, last]; 0 when last <= first."""
        if last <= first:
            return 0
        a, b = first.toordinal(), last.toordinal()
        if first.year == last.year:
            ords = self._year(first.year).ordinals
            return bisect_right(ords, b) - bisect_right(ords, a)
        ords = self._year(first.year).ordinals
        count = len(ords) - bisect_right(ords, a)
        for year in range(first.year + 1, last.year):
            count += len(self._year(year).ordinals)
        ords = self._year(last.year).ordinals
        return count + bisect_right(ords, b)

    # --------------------------------------------------------------- instants

    def local_day(self, instant: datetime) -> date:
        """The local (``tz``) calendar day of an aware instant."""
        return instant.astimezone(self.tz).date()

    def start_of(self, day: date) -> datetime:
        """00:00 local of ``day``, as an aware UTC instant."""
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(UTC)

    def end_of(self, day: date) -> datetime:
        """23:59:59 local of ``day``, as an aware UTC instant."""
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz).astimezone(UTC)

    def deadline(self, received_at: datetime, working_days: int) -> datetime:
        """End (23:59:59 local) of the Nth working day strictly after the local
        day of reception, as an aware UTC instant."""
        if received_at.tzinfo is None:
            raise ValueError("received_at doit être un instant avec fuseau horaire")
        key = (self.local_day(received_at), working_days)
        found = self._deadlines.get(key)
        if found is None:
            found = self._deadlines[key] = self.end_of(self.add_working_days(key[0], working_days))
        return found

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Real elapsed time in [start, end) that falls on local working days
        (a DST day lasts 23 or 25 h); zero when end <= start."""
        if end <= start:
            return _ZERO
        first, last = self.local_day(start), self.local_day(end)
        if first == last:
            return end - start if self.is_working_day(first) else _ZERO
        total = _ZERO
        if self.is_working_day(first):
            total += max(_ZERO, self.start_of(first + _DAY) - start)
        if self.is_working_day(last):
            total += max(_ZERO, end - self.start_of(last))
        inner_first, inner_last = first + _DAY, last - _DAY  # whole days
        if inner_last >= inner_first:
            count = self.working_days_between(first, inner_last)
            total += count * _DAY
            lo, hi = inner_first.toordinal(), inner_last.toordinal()
            for year in range(inner_first.year, inner_last.year + 1):
                data = self._year(year)
                for ordinal, delta in data.odd_lengths.items():
                    if lo <= ordinal <= hi and ordinal in data.working:
                        total += delta
        return total

    def working_days_left(self, as_of: datetime, deadline: datetime) -> int:
        """Working days after the local day of ``as_of`` up to and including the
        local day of ``deadline`` (0: due today, 1: due the next working day).

        Negative once the deadline has passed: minus the working days elapsed
        since the deadline day, at least -1.
        """
        today, due = self.local_day(as_of), self.local_day(deadline)
        if as_of <= deadline:
            return self.working_days_between(today, due)
        return -max(1, self.working_days_between(due, today))
