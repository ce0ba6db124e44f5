"""Working days and deadlines: exact cases, then properties against a
deliberately simple reference (day-by-day loops over a precomputed holiday set)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings, strategies as st

from tracer.rules.calendar import ZONES, WorkingCalendar, normalize_zone

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def due(received: str, days: int = 5, zone: str = "metropole", closure=()) -> str:
    """Deadline as local ISO text (offset included), from an ISO reception instant."""
    cal = WorkingCalendar(zone, closure)
    result = cal.deadline(datetime.fromisoformat(received), days)
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)  # aware UTC
    return result.astimezone(PARIS).isoformat()


# ------------------------------------------------------------------ exact cases


@pytest.mark.parametrize(
    "received, expected",
    [
        ("2026-09-07T10:00:00+02:00", "2026-09-14T23:59:59+02:00"),  # Monday -> next Monday
        ("2026-07-10T09:00:00+02:00", "2026-07-20T23:59:59+02:00"),  # across 14 July (Tuesday)
        ("2026-07-13T09:00:00+02:00", "2026-07-21T23:59:59+02:00"),  # Monday 13 July: 14 July skipped
        ("2026-07-14T09:00:00+02:00", "2026-07-21T23:59:59+02:00"),  # on 14 July: Wednesday 15 is day 1
        ("2026-07-11T10:00:00+02:00", "2026-07-20T23:59:59+02:00"),  # Saturday: Monday 13 is day 1
        ("2026-07-12T23:59:00+02:00", "2026-07-20T23:59:59+02:00"),  # Sunday late evening
        ("2026-05-13T10:00:00+02:00", "2026-05-21T23:59:59+02:00"),  # across Ascension (Thu 14 May)
        ("2026-05-14T10:00:00+02:00", "2026-05-21T23:59:59+02:00"),  # on Ascension day
        ("2026-05-22T10:00:00+02:00", "2026-06-01T23:59:59+02:00"),  # across Whit Monday (25 May)
        ("2026-05-25T10:00:00+02:00", "2026-06-01T23:59:59+02:00"),  # on Whit Monday
        ("2026-12-23T10:00:00+01:00", "2026-12-31T23:59:59+01:00"),  # across Christmas
        ("2026-12-25T10:00:00+01:00", "2027-01-04T23:59:59+01:00"),  # on Christmas, across 1 January
        ("2026-09-11T23:30:00+02:00", "2026-09-18T23:59:59+02:00"),  # Friday 23:30 Paris
        ("2026-09-10T21:30:00+00:00", "2026-09-17T23:59:59+02:00"),  # Thursday 23:30 Paris
        ("2026-09-10T22:30:00+00:00", "2026-09-18T23:59:59+02:00"),  # Thursday UTC, but Friday 00:30 Paris
        ("2026-09-06T22:05:00+00:00", "2026-09-14T23:59:59+02:00"),  # Monday 00:05 Paris = Sunday 22:05 UTC
        ("2026-09-06T21:55:00+00:00", "2026-09-11T23:59:59+02:00"),  # Sunday 23:55 Paris
        ("2026-10-23T10:00:00+02:00", "2026-10-30T23:59:59+01:00"),  # across the end of summer time
        ("2026-03-27T10:00:00+01:00", "2026-04-03T23:59:59+02:00"),  # across the start of summer time
        ("2026-03-29T01:30:00+01:00", "2026-04-03T23:59:59+02:00"),  # just before the change (Sunday)
        ("2026-03-29T03:30:00+02:00", "2026-04-03T23:59:59+02:00"),  # just after the change
    ],
)
def test_email_deadlines(received, expected):
    assert due(received) == expected


def test_deadline_utc_offsets_across_dst():
    cal = WorkingCalendar()
    # end of summer time: Sunday 25 October 2026
    assert cal.deadline(datetime(2026, 10, 19, 10, tzinfo=PARIS), 5) == datetime(2026, 10, 26, 22, 59, 59, tzinfo=UTC)
    assert cal.deadline(datetime(2026, 10, 19, 10, tzinfo=PARIS), 4) == datetime(2026, 10, 23, 21, 59, 59, tzinfo=UTC)
    # start of summer time: Sunday 29 March 2026
    assert cal.deadline(datetime(2026, 3, 23, 10, tzinfo=PARIS), 4) == datetime(2026, 3, 27, 22, 59, 59, tzinfo=UTC)
    assert cal.deadline(datetime(2026, 3, 23, 10, tzinfo=PARIS), 5) == datetime(2026, 3, 30, 21, 59, 59, tzinfo=UTC)


def test_good_friday_and_26_december_in_alsace_moselle():
    # Good Friday 2026 is 3 April; Easter Monday 6 April is off everywhere
    assert WorkingCalendar("metropole").is_working_day(date(2026, 4, 3))
    assert not WorkingCalendar("alsace-moselle").is_working_day(date(2026, 4, 3))
    assert due("2026-03-30T10:00:00+02:00", zone="metropole") == "2026-04-07T23:59:59+02:00"
    assert due("2026-03-30T10:00:00+02:00", zone="alsace-moselle") == "2026-04-08T23:59:59+02:00"
    assert due("2026-04-02T10:00:00+02:00", zone="alsace-moselle") == "2026-04-13T23:59:59+02:00"
    assert due("2026-04-02T10:00:00+02:00", zone="metropole") == "2026-04-10T23:59:59+02:00"
    # 26 December 2025 is a Friday
    assert WorkingCalendar("metropole").is_working_day(date(2025, 12, 26))
    assert not WorkingCalendar("alsace-moselle").is_working_day(date(2025, 12, 26))
    assert due("2025-12-22T10:00:00+01:00", zone="metropole") == "2025-12-30T23:59:59+01:00"
    assert due("2025-12-22T10:00:00+01:00", zone="alsace-moselle") == "2025-12-31T23:59:59+01:00"


def test_zone_aliases_and_unknown_zone():
    assert normalize_zone("Moselle") == "alsace-moselle"
    assert normalize_zone("67") == "alsace-moselle"
    assert normalize_zone("La Réunion") == "974"
    assert WorkingCalendar("68").zone == "alsace-moselle"
    with pytest.raises(ValueError, match="zone de jours fériés inconnue"):
        WorkingCalendar("corse")


def test_closure_days_and_paper_letters():
    # Friday 15 May 2026 (bridge after Ascension) declared closed
    closed = [date(2026, 5, 15)]
    assert not WorkingCalendar(closure_days=closed).is_working_day(date(2026, 5, 15))
    assert due("2026-05-11T10:00:00+02:00", closure=closed) == "2026-05-20T23:59:59+02:00"
    assert due("2026-05-11T10:00:00+02:00") == "2026-05-19T23:59:59+02:00"
    assert due("2026-05-15T10:00:00+02:00", closure=closed) == "2026-05-22T23:59:59+02:00"
    assert due("2026-05-11T10:00:00+02:00", closure=["2026-05-15"]) == "2026-05-20T23:59:59+02:00"
    # paper: 10 working days
    assert due("2026-09-07T10:00:00+02:00", days=10) == "2026-09-21T23:59:59+02:00"
    assert due("2026-07-10T10:00:00+02:00", days=10) == "2026-07-27T23:59:59+02:00"
    assert due("2026-12-18T10:00:00+01:00", days=10) == "2027-01-05T23:59:59+01:00"


def test_overseas_zones_have_their_own_holidays():
    slavery = {"971": date(2026, 5, 27), "972": date(2026, 5, 22), "973": date(2026, 6, 10),
               "974": date(2027, 12, 20), "976": date(2026, 4, 27)}
    for zone, day in slavery.items():
        assert day.weekday() < 5
        assert not WorkingCalendar(zone).is_working_day(day), zone
        assert WorkingCalendar("metropole").is_working_day(day), zone
    assert not WorkingCalendar("971").is_working_day(date(2026, 7, 21))  # Victor Schœlcher
    assert not WorkingCalendar("972").is_working_day(date(2026, 7, 21))


def test_add_and_next_working_day():
    cal = WorkingCalendar()
    assert cal.next_working_day(date(2026, 7, 13)) == date(2026, 7, 15)
    assert cal.next_working_day(date(2026, 7, 10)) == date(2026, 7, 13)
    assert cal.add_working_days(date(2026, 7, 11), 0) == date(2026, 7, 11)
    assert cal.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert cal.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 4)
    assert cal.add_working_days(date(2026, 1, 1), 400) == date(2027, 8, 3)
    assert cal.add_working_days(date(2026, 7, 15), -1) == date(2026, 7, 13)
    assert cal.add_working_days(date(2027, 1, 4), -2) == date(2026, 12, 30)
    assert cal.previous_working_day(date(2026, 5, 26)) == date(2026, 5, 22)


def test_working_time_between():
    cal = WorkingCalendar()
    start = datetime(2026, 7, 11, 10, tzinfo=PARIS)  # Saturday
    end = datetime(2026, 7, 21, 9, tzinfo=PARIS)  # Tuesday after 14 July
    assert cal.working_time_between(start, end) == timedelta(hours=129)
    assert cal.working_time_between(end, start) == timedelta(0)
    assert cal.working_time_between(start, start) == timedelta(0)
    # same working day
    assert cal.working_time_between(datetime(2026, 9, 7, 9, tzinfo=PARIS), datetime(2026, 9, 7, 17, 30, tzinfo=PARIS)) == timedelta(hours=8, minutes=30)
    # Friday 23:30 -> Monday 00:05 Paris: 30 min + 5 min
    assert cal.working_time_between(datetime(2026, 9, 11, 23, 30, tzinfo=PARIS), datetime(2026, 9, 14, 0, 5, tzinfo=PARIS)) == timedelta(minutes=35)
    # across the start of summer time: the weekend (with the 23 h Sunday) is left out
    assert cal.working_time_between(datetime(2026, 3, 27, 12, tzinfo=PARIS), datetime(2026, 3, 30, 12, tzinfo=PARIS)) == timedelta(hours=24)
    # a week of closure days counts nothing
    closed = WorkingCalendar(closure_days=[date(2026, 9, 7) + timedelta(days=i) for i in range(5)])
    assert closed.working_time_between(datetime(2026, 9, 5, tzinfo=PARIS), datetime(2026, 9, 13, tzinfo=PARIS)) == timedelta(0)


def test_working_time_on_a_23_hour_working_day():
    # Tehran switched to summer time at midnight on Monday 22 March 2021: a 23 h working day
    cal = WorkingCalendar(tz=ZoneInfo("Asia/Tehran"))
    tehran = ZoneInfo("Asia/Tehran")
    week = cal.working_time_between(datetime(2021, 3, 20, 12, tzinfo=tehran), datetime(2021, 3, 27, 12, tzinfo=tehran))
    assert week == timedelta(hours=5 * 24 - 1)
    # and a 25 h day (back to standard time at midnight, Wednesday 22 September 2021)
    week = cal.working_time_between(datetime(2021, 9, 18, 12, tzinfo=tehran), datetime(2021, 9, 25, 12, tzinfo=tehran))
    assert week == timedelta(hours=5 * 24 + 1)


def test_working_days_left():
    cal = WorkingCalendar()
    deadline = cal.deadline(datetime(2026, 9, 7, 10, tzinfo=PARIS), 5)  # Monday 14 September
    assert cal.working_days_left(datetime(2026, 9, 10, 9, tzinfo=PARIS), deadline) == 2
    assert cal.working_days_left(datetime(2026, 9, 11, 9, tzinfo=PARIS), deadline) == 1
    assert cal.working_days_left(datetime(2026, 9, 13, 9, tzinfo=PARIS), deadline) == 1  # Sunday
    assert cal.working_days_left(datetime(2026, 9, 14, 9, tzinfo=PARIS), deadline) == 0
    assert cal.working_days_left(deadline, deadline) == 0
    assert cal.working_days_left(deadline + timedelta(milliseconds=1), deadline) == -1
    assert cal.working_days_left(datetime(2026, 9, 15, 9, tzinfo=PARIS), deadline) == -1
    assert cal.working_days_left(datetime(2026, 9, 19, 9, tzinfo=PARIS), deadline) == -4  # Saturday
    assert cal.working_days_left(datetime(2026, 9, 21, 9, tzinfo=PARIS), deadline) == -5
    # across 14 July
    deadline = cal.deadline(datetime(2026, 7, 10, 9, tzinfo=PARIS), 5)  # Monday 20 July
    assert cal.working_days_left(datetime(2026, 7, 13, 9, tzinfo=PARIS), deadline) == 4


def test_holidays_are_cached_per_year(monkeypatch):
    cal = WorkingCalendar("alsace-moselle")
    cal.is_working_day(date(2030, 1, 2))
    calls = []
    monkeypatch.setattr(holidays, "France", lambda *a, **k: calls.append(1) or {})
    for day in range(300):
        cal.is_working_day(date(2030, 1, 1) + timedelta(days=day))
    assert calls == []


# ---------------------------------------------------------------- reference


@lru_cache(maxsize=None)
def reference_holidays(zone: str) -> frozenset[date]:
    """Every holiday of the zone, 2013-2038, straight from the package."""
    subdiv = {"metropole": None, "alsace-moselle": "57"}.get(zone, zone)
    return frozenset(holidays.France(years=range(2013, 2039), subdiv=subdiv).keys())


def reference_is_working(zone: str, day: date, closure=frozenset()) -> bool:
    return day.weekday() < 5 and day not in reference_holidays(zone) and day not in closure


def reference_deadline(zone: str, received: datetime, n: int, closure=frozenset()) -> datetime:
    day, count = received.astimezone(PARIS).date(), 0
    while count < n:
        day += timedelta(days=1)
        if reference_is_working(zone, day, closure):
            count += 1
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=PARIS)


def reference_working_time(zone: str, start: datetime, end: datetime, closure=frozenset(), tz=PARIS) -> timedelta:
    total = timedelta(0)
    day = start.astimezone(tz).date() - timedelta(days=1)
    while day <= end.astimezone(tz).date():
        if reference_is_working(zone, day, closure):
            begin = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
            nxt = day + timedelta(days=1)
            finish = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
            lo, hi = max(begin, start), min(finish, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def reference_days_left(zone: str, as_of: datetime, deadline: datetime) -> int:
    today, due_day = as_of.astimezone(PARIS).date(), deadline.astimezone(PARIS).date()
    if as_of <= deadline:
        count, day = 0, today
        while day < due_day:
            day += timedelta(days=1)
            count += reference_is_working(zone, day)
        return count
    count, day = 0, due_day
    while day < today:
        day += timedelta(days=1)
        count += reference_is_working(zone, day)
    return -max(1, count)


zones = st.sampled_from(sorted(ZONES))
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
instants = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 1), timezones=st.just(UTC))
closures = st.frozensets(days, max_size=6)
# Paris, overseas zones, and one with DST changes at midnight on working days
timezones = st.sampled_from([PARIS, ZoneInfo("Indian/Reunion"), ZoneInfo("America/Cayenne"), ZoneInfo("Asia/Tehran")])


def test_reference_sees_every_zone():
    assert date(2026, 4, 3) in reference_holidays("alsace-moselle")
    assert date(2026, 4, 3) not in reference_holidays("metropole")
    assert date(2026, 12, 20) in reference_holidays("974")


@settings(max_examples=500, deadline=None)
@given(zone=zones, received=instants, n=st.integers(min_value=0, max_value=25), closure=closures)
def test_deadline_matches_the_reference(zone, received, n, closure):
    got = WorkingCalendar(zone, closure).deadline(received, n)
    assert got == reference_deadline(zone, received, n, closure)
    assert got.utcoffset() == timedelta(0)


@settings(max_examples=500, deadline=None)
@given(zone=zones, day=days, closure=closures)
def test_working_day_matches_the_reference(zone, day, closure):
    assert WorkingCalendar(zone, closure).is_working_day(day) == reference_is_working(zone, day, closure)


@settings(max_examples=200, deadline=None)
@given(zone=zones, day=days, n=st.integers(min_value=-30, max_value=30))
def test_add_working_days_matches_the_reference(zone, day, n):
    expected, step, count = day, (1 if n > 0 else -1), 0
    while count < abs(n):
        expected += timedelta(days=step)
        count += reference_is_working(zone, expected)
    assert WorkingCalendar(zone).add_working_days(day, n) == expected


@settings(max_examples=200, deadline=None)
@given(
    zone=zones,
    start=instants,
    seconds=st.integers(min_value=-3600, max_value=86400 * 60),
    closure=closures,
    tz=timezones,
)
def test_working_time_matches_the_reference(zone, start, seconds, closure, tz):
    end = start + timedelta(seconds=seconds)
    got = WorkingCalendar(zone, closure, tz).working_time_between(start, end)
    assert got == reference_working_time(zone, start, end, closure, tz)
    assert timedelta(0) <= got <= max(end - start, timedelta(0))


@settings(max_examples=150, deadline=None)
@given(zone=zones, as_of=instants, received=instants, n=st.integers(min_value=1, max_value=12))
def test_working_days_left_matches_the_reference(zone, as_of, received, n):
    cal = WorkingCalendar(zone)
    received = min(received, as_of + timedelta(days=40))
    received = max(received, as_of - timedelta(days=60))
    deadline = cal.deadline(received, n)
    assert cal.working_days_left(as_of, deadline) == reference_days_left(zone, as_of, deadline)


def test_holidays_kept_in_the_data_folder_are_read_back_and_a_bad_file_is_ignored(tmp_path):
    from tracer.services import HolidayFile

    store = HolidayFile(tmp_path / "cache")
    first = WorkingCalendar(zone="alsace-moselle", store=store)
    assert date(2026, 4, 3) in first.holidays_of(2026)  # Good Friday, computed by the package
    assert store.path.exists() and store.path.name.startswith("holidays-")
    # what a later run reads: the kept dates decide (a made-up holiday proves it)
    store.path.write_text('{"alsace-moselle/2026": ["2026-06-02"]}', encoding="utf-8")
    later = WorkingCalendar(zone="alsace-moselle", store=HolidayFile(tmp_path / "cache"))
    assert not later.is_working_day(date(2026, 6, 2)) and later.is_working_day(date(2026, 4, 3))
    store.path.write_text("{not json", encoding="utf-8")
    again = WorkingCalendar(zone="alsace-moselle", store=HolidayFile(tmp_path / "cache"))
    assert not again.is_working_day(date(2026, 4, 3))  # computed again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [store.path.name]  # no stray temp file
