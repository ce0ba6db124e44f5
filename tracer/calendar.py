"""Working days and deadlines (DOMAIN.md, "Deadlines"): pure functions.

Working day: Monday to Friday, minus the French public holidays of the
prefecture's zone (the ``holidays`` package: metropolitan France,
Alsace-Moselle, overseas departments) and minus its declared closure days.

Deadline convention: the end (23:59:59 local) of the Nth working day strictly
after the local day of reception; received on a non-working day, the count
starts at the next working day (which is day 1).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

import holidays

from tracer.clock import PARIS, UTC

ZONES = {
    "metropole": None,
    "alsace-moselle": "57",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}
END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=512)
def _holidays(zone: str, year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year, subdiv=ZONES[zone]).keys())


class WorkingCalendar:
    def __init__(self, zone: str = "metropole", closure_days: Iterable[date] = (), tz: ZoneInfo = PARIS):
        if zone not in ZONES:
            raise ValueError(f"zone de jours fériés inconnue : {zone}")
        self.zone = zone
        self.closure_days = frozenset(closure_days)
        self.tz = tz

    def holidays_of(self, year: int) -> frozenset[date]:
        return _holidays(self.zone, year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closure_days and day not in _holidays(self.zone, day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The Nth working day strictly after ``day`` (n = 0: ``day`` itself)."""
        if n < 0:
            raise ValueError("n doit être positif")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def end_of(self, day: date) -> datetime:
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz).astimezone(UTC)

    def deadline(self, received_at: datetime, working_days: int) -> datetime:
        return self.end_of(self.add_working_days(self.local_day(received_at), working_days))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Elapsed time between two instants, counting only local working days."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = self.local_day(start)
        last = self.local_day(end)
        while day <= last:
            if self.is_working_day(day):
                begin = datetime.combine(day, time(0), tzinfo=self.tz)
                finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
                lo, hi = max(begin, start), min(finish, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in (first, last]: 0 when last <= first."""
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def working_days_left(self, as_of: datetime, deadline: datetime) -> int:
        """Working days from the day of ``as_of`` to the deadline day (0: due today).

        Negative once the deadline has passed: minus the working days elapsed
        since the deadline day, at least -1.
        """
        today, due = self.local_day(as_of), self.local_day(deadline)
        if as_of <= deadline:
            return self.working_days_between(today, due)
        return -max(1, self.working_days_between(due, today))
