"""Working days and deadlines: exact cases, then properties against a simple reference."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings, strategies as st

from tracer.calendar import ZONES, WorkingCalendar
from tracer.deadlines import DeadlineRules, load_deadline_rules
from tracer.rules_errors import RulesError

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def due(received: str, days: int = 5, zone: str = "metropole", closure=()) -> str:
    cal = WorkingCalendar(zone, closure)
    return cal.deadline(datetime.fromisoformat(received), days).astimezone(PARIS).isoformat()


@pytest.mark.parametrize(
    "received, expected",
    [
        ("2026-09-07T10:00:00+02:00", "2026-09-14T23:59:59+02:00"),  # Monday -> next Monday
        ("2026-07-10T09:00:00+02:00", "2026-07-20T23:59:59+02:00"),  # across 14 July (Tuesday)
        ("2026-07-11T10:00:00+02:00", "2026-07-20T23:59:59+02:00"),  # Saturday: count from Monday 13, skip 14 July
        ("2026-05-13T10:00:00+02:00", "2026-05-21T23:59:59+02:00"),  # across Ascension (Thu 14 May)
        ("2026-05-22T10:00:00+02:00", "2026-06-01T23:59:59+02:00"),  # across Whit Monday (25 May)
        ("2026-12-23T10:00:00+01:00", "2026-12-31T23:59:59+01:00"),  # across Christmas
        ("2026-09-11T23:30:00+02:00", "2026-09-18T23:59:59+02:00"),  # Friday late evening
        ("2026-09-06T22:05:00+00:00", "2026-09-14T23:59:59+02:00"),  # 00:05 Monday Paris = Sunday UTC
        ("2026-10-23T10:00:00+02:00", "2026-10-30T23:59:59+01:00"),  # across the end of summer time
        ("2026-03-27T10:00:00+01:00", "2026-04-03T23:59:59+02:00"),  # across the start of summer time
    ],
)
def test_email_deadlines(received, expected):
    assert due(received) == expected


def test_good_friday_and_26_december_in_alsace_moselle():
    # metropole: Easter Monday 6 April is off; Alsace-Moselle also Good Friday 3 April
    assert due("2026-03-30T10:00:00+02:00", zone="metropole") == "2026-04-07T23:59:59+02:00"
    assert due("2026-03-30T10:00:00+02:00", zone="alsace-moselle") == "2026-04-08T23:59:59+02:00"
    # 26 December 2025 is a Friday
    assert due("2025-12-22T10:00:00+01:00", zone="metropole") == "2025-12-30T23:59:59+01:00"
    assert due("2025-12-22T10:00:00+01:00", zone="alsace-moselle") == "2025-12-31T23:59:59+01:00"


def test_closure_days_and_paper_letters():
    assert due("2026-05-11T10:00:00+02:00", closure=[date(2026, 5, 15)]) == "2026-05-20T23:59:59+02:00"
    assert due("2026-09-07T10:00:00+02:00", days=10) == "2026-09-21T23:59:59+02:00"


def test_overseas_zones_have_their_own_holidays():
    assert not WorkingCalendar("974").is_working_day(date(2027, 12, 20))  # a Monday, abolition of slavery
    assert not WorkingCalendar("971").is_working_day(date(2026, 5, 27))
    assert WorkingCalendar("metropole").is_working_day(date(2026, 5, 27))


def test_working_time_and_days_left():
    cal = WorkingCalendar()
    start = datetime(2026, 7, 11, 10, tzinfo=PARIS)  # Saturday
    end = datetime(2026, 7, 21, 9, tzinfo=PARIS)
    assert cal.working_time_between(start, end) == timedelta(hours=129)
    deadline = cal.deadline(datetime(2026, 9, 7, 10, tzinfo=PARIS), 5)
    assert cal.working_days_left(datetime(2026, 9, 10, 9, tzinfo=PARIS), deadline) == 2
    assert cal.working_days_left(datetime(2026, 9, 14, 9, tzinfo=PARIS), deadline) == 0
    assert cal.working_days_left(datetime(2026, 9, 15, 9, tzinfo=PARIS), deadline) == -1
    assert cal.working_days_left(datetime(2026, 9, 21, 9, tzinfo=PARIS), deadline) == -5


# ---------------------------------------------------------------- properties


def reference_holidays(zone: str, year: int) -> set[date]:
    return set(holidays.France(years=year, subdiv=ZONES[zone]).keys())


def reference_is_working(zone: str, day: date) -> bool:
    return day.weekday() < 5 and day not in reference_holidays(zone, day.year)


def reference_deadline(zone: str, received: datetime, n: int) -> datetime:
    day, count = received.astimezone(PARIS).date(), 0
    while count < n:
        day += timedelta(days=1)
        if reference_is_working(zone, day):
            count += 1
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=PARIS)


instants = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(sorted(ZONES)), received=instants, n=st.integers(min_value=0, max_value=15))
def test_deadline_matches_the_reference(zone, received, n):
    assert WorkingCalendar(zone).deadline(received, n) == reference_deadline(zone, received, n)


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(sorted(ZONES)), day=st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)))
def test_working_day_matches_the_reference(zone, day):
    assert WorkingCalendar(zone).is_working_day(day) == reference_is_working(zone, day)


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(sorted(ZONES)), start=instants, hours=st.integers(min_value=0, max_value=24 * 40))
def test_working_time_matches_hour_by_hour_reference(zone, start, hours):
    start = start.replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=hours)
    expected = sum(
        (1 for h in range(hours) if reference_is_working(zone, (start + timedelta(hours=h)).astimezone(PARIS).date())), 0
    )
    assert WorkingCalendar(zone).working_time_between(start, end) == timedelta(hours=expected)


# ---------------------------------------------------------------- deadline rules


def test_most_specific_deadline_rule_wins(tmp_path):
    path = tmp_path / "deadlines.toml"
    path.write_text(
        """
[defaults]
email = 5
paper = 10

[[rule]]
channel = "email"
service = "etrangers"
working_days = 8

[[rule]]
channel = "email"
category = "reclamation"
service = "etrangers"
working_days = 3
""",
        encoding="utf-8",
    )
    rules = load_deadline_rules(path)
    assert rules.days_for("email", "information", "etrangers") == 8
    assert rules.days_for("email", "reclamation", "etrangers") == 3
    assert rules.days_for("email", "information", "qualite") == 5
    assert rules.days_for("paper", "information", "qualite") == 10
    assert rules.days_for("email", "automatique", "qualite") is None
    assert rules.days_for("email", "hors_perimetre", "qualite") is None
    assert rules.days_for("email", "information", "qualite", has_reply_address=False) is None


def test_bad_deadline_rules_are_refused_in_french(tmp_path):
    path = tmp_path / "deadlines.toml"
    path.write_text('[[rule]]\nchannel = "fax"\nworking_days = -2\n\n[[rule]]\nworking_days = 3\ncolour = 1\n', encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_deadline_rules(path)
    text = "\n".join(err.value.problems)
    assert "deadlines.toml, rule[1].working_days : entier positif attendu" in text
    assert "deadlines.toml, rule[2].colour : clé inconnue" in text


def test_shipped_deadline_rules_load():
    from tracer.paths import default_rules_dir

    rules = load_deadline_rules(default_rules_dir() / "deadlines.toml")
    assert rules.days_for("email", "information", None) == 5
    assert rules.days_for("paper", "reclamation", None) == 10
    assert DeadlineRules.default().days_for("paper", "information", None) == 10
