"""Business hours: wall-clock schedules in IANA zones (India, and the hours New York springs
forward and falls back), intervals across midnight, holidays, and field-level validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.business_hours import (
    BusinessHours,
    Weekday,
    check,
    is_open,
    parse_business_hours,
)
from services.common.errors import InvalidArgument

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def schedule(time_zone: str, weekly: dict[str, Any], holidays: list[str] | None = None) -> Any:
    return {"time_zone": time_zone, "weekly": weekly, "holidays": holidays or []}


def office(time_zone: str, start: str = "09:00", end: str = "18:00") -> BusinessHours:
    return parse_business_hours(
        schedule(time_zone, {day: [{"start": start, "end": end}] for day in WEEKDAYS})
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def open_minutes(hours: BusinessHours, start: datetime, end: datetime) -> list[datetime]:
    """Every UTC minute in [start, end) at which ``hours`` is open."""
    minutes = int((end - start).total_seconds() // 60)
    instants = (start + timedelta(minutes=index) for index in range(minutes))
    return [instant for instant in instants if is_open(hours, instant)]


def violations(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_business_hours(raw)
    return {violation.field: violation.description for violation in caught.value.violations}


def test_21_00_in_kolkata_is_outside_office_hours_and_10_30_is_within() -> None:
    hours = office("Asia/Kolkata")
    evening = utc("2026-12-01T15:30:00")  # Tuesday 21:00 IST (UTC+05:30)
    result = check(hours, evening)
    assert not result.open
    assert result.local_time.hour == 21
    assert result.detail == "outside business hours (Tuesday 2026-12-01 21:00 IST)"
    assert is_open(hours, utc("2026-12-01T05:00:00"))  # 10:30 IST
    assert not is_open(hours, utc("2026-12-01T03:29:00"))  # 08:59 IST
    assert is_open(hours, utc("2026-12-01T03:30:00"))  # 09:00 IST opens
    assert not is_open(hours, utc("2026-12-01T12:30:00"))  # 18:00 IST closed (end exclusive)
    assert not is_open(hours, utc("2026-12-05T05:00:00"))  # Saturday


def test_an_evening_shift_is_open_at_21_00_in_kolkata() -> None:
    hours = parse_business_hours(
        schedule("Asia/Kolkata", {"tuesday": [{"start": "20:00", "end": "23:00"}]})
    )
    assert check(hours, utc("2026-12-01T15:30:00")).detail == (
        "within business hours (Tuesday 2026-12-01 21:00 IST)"
    )


def test_the_hour_new_york_springs_forward_does_not_exist_on_the_wall_clock() -> None:
    # 2026-03-08: at 02:00 EST (07:00Z) clocks jump to 03:00 EDT.
    night = parse_business_hours(
        schedule("America/New_York", {"sunday": [{"start": "01:00", "end": "04:00"}]})
    )
    opened = open_minutes(night, utc("2026-03-08T04:00:00"), utc("2026-03-08T10:00:00"))
    assert opened[0] == utc("2026-03-08T06:00:00")  # 01:00 EST
    assert opened[-1] == utc("2026-03-08T07:59:00")  # 03:59 EDT
    assert len(opened) == 120  # 01:00-04:00 on the wall is two real hours that night
    assert check(night, utc("2026-03-08T07:00:00")).local_time.tzname() == "EDT"

    missing_hour = parse_business_hours(
        schedule("America/New_York", {"sunday": [{"start": "02:00", "end": "03:00"}]})
    )
    assert open_minutes(missing_hour, utc("2026-03-08T00:00:00"), utc("2026-03-09T05:00:00")) == []
    # A week later the same interval is an ordinary hour.
    assert (
        len(open_minutes(missing_hour, utc("2026-03-15T05:00:00"), utc("2026-03-15T09:00:00")))
        == 60
    )

    inside_gap = parse_business_hours(
        schedule("America/New_York", {"sunday": [{"start": "02:30", "end": "05:00"}]})
    )
    assert is_open(inside_gap, utc("2026-03-08T07:00:00"))  # 03:00 EDT, past 02:30
    assert not is_open(inside_gap, utc("2026-03-08T06:59:00"))  # 01:59 EST


def test_the_hour_new_york_falls_back_is_open_both_times_it_occurs() -> None:
    # 2026-11-01: at 02:00 EDT (06:00Z) clocks go back to 01:00 EST.
    hours = parse_business_hours(
        schedule("America/New_York", {"sunday": [{"start": "01:00", "end": "02:00"}]})
    )
    opened = open_minutes(hours, utc("2026-11-01T03:00:00"), utc("2026-11-01T09:00:00"))
    assert opened[0] == utc("2026-11-01T05:00:00")  # 01:00 EDT
    assert opened[-1] == utc("2026-11-01T06:59:00")  # 01:59 EST
    assert len(opened) == 120
    assert check(hours, utc("2026-11-01T05:30:00")).local_time.tzname() == "EDT"
    assert check(hours, utc("2026-11-01T06:30:00")).local_time.tzname() == "EST"
    assert not is_open(hours, utc("2026-11-01T07:00:00"))  # 02:00 EST


def test_an_interval_across_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = {"friday": [{"start": "22:00", "end": "02:00"}]}
    hours = parse_business_hours(schedule("UTC", friday_night))
    assert is_open(hours, utc("2026-12-04T23:00:00"))  # Friday 23:00
    assert is_open(hours, utc("2026-12-05T01:59:00"))  # Saturday 01:59
    assert not is_open(hours, utc("2026-12-05T02:00:00"))
    assert not is_open(hours, utc("2026-12-04T21:59:00"))
    assert not is_open(hours, utc("2026-12-05T23:00:00"))  # Saturday night is not Friday's

    friday_off = parse_business_hours(schedule("UTC", friday_night, ["2026-12-04"]))
    assert not is_open(friday_off, utc("2026-12-04T23:00:00"))
    assert not is_open(friday_off, utc("2026-12-05T01:00:00"))  # the holiday's night too

    saturday_off = parse_business_hours(schedule("UTC", friday_night, ["2026-12-05"]))
    assert is_open(saturday_off, utc("2026-12-05T01:00:00"))  # Friday's shift runs on


def test_sunday_night_runs_into_monday_morning() -> None:
    hours = parse_business_hours(schedule("UTC", {"sunday": [{"start": "23:00", "end": "01:30"}]}))
    assert is_open(hours, utc("2026-12-07T01:00:00"))  # Monday 01:00
    assert not is_open(hours, utc("2026-12-07T01:30:00"))


def test_holidays_close_the_whole_local_day() -> None:
    hours = parse_business_hours(
        schedule(
            "Asia/Kolkata",
            {day: [{"start": "00:00", "end": "24:00"}] for day in WEEKDAYS},
            ["2026-12-25"],
        )
    )
    # Friday 2026-12-25 starts at 18:30Z on the 24th in India.
    assert is_open(hours, utc("2026-12-24T18:29:00"))
    christmas = check(hours, utc("2026-12-24T18:30:00"))
    assert not christmas.open
    assert christmas.holiday
    assert christmas.detail.startswith("closed for a holiday (Friday 2026-12-25 00:00")
    assert not is_open(hours, utc("2026-12-25T18:29:00"))  # 23:59 IST


def test_several_intervals_a_day_and_whole_days() -> None:
    hours = parse_business_hours(
        schedule(
            "Europe/Berlin",
            {
                "monday": [
                    {"start": "14:00", "end": "18:00"},
                    {"start": "09:00", "end": "12:00"},
                ],
                "saturday": [{"start": "00:00", "end": "24:00"}],
                "sunday": [{"start": "10:00", "end": "00:00"}],  # 00:00 as an end is midnight
            },
        )
    )
    assert [str(interval) for interval in hours.weekly[Weekday.MONDAY]] == [
        "09:00-12:00",
        "14:00-18:00",
    ]
    assert is_open(hours, utc("2026-12-07T10:00:00"))  # Monday 11:00 CET
    assert not is_open(hours, utc("2026-12-07T12:30:00"))  # 13:30, lunch
    assert is_open(hours, utc("2026-12-07T13:00:00"))
    assert is_open(hours, utc("2026-12-05T22:59:00"))  # Saturday 23:59
    assert not is_open(hours, utc("2026-12-05T23:30:00"))  # Sunday 00:30: opens at 10:00
    assert is_open(hours, utc("2026-12-06T22:59:00"))  # Sunday 23:59
    assert not is_open(hours, utc("2026-12-06T23:00:00"))  # Monday 00:00


def test_the_json_form_round_trips() -> None:
    raw = schedule(
        "America/Sao_Paulo",
        {
            "monday": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
            "friday": [{"start": "22:00", "end": "02:00"}],
        },
        ["2026-12-25", "2026-01-01"],
    )
    hours = parse_business_hours(raw)
    again = parse_business_hours(hours.to_json())
    assert again == hours
    assert hours.to_json()["holidays"] == ["2026-01-01", "2026-12-25"]


def test_an_empty_schedule_is_always_closed() -> None:
    hours = parse_business_hours({"time_zone": "UTC"})
    assert not is_open(hours, utc("2026-12-01T12:00:00"))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        is_open(office("UTC"), datetime(2026, 12, 1, 12, 0))


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "localtime", "/etc/passwd", "../../etc/passwd", "utc "]
)
def test_unknown_time_zones_are_field_errors(zone: str) -> None:
    found = violations(schedule(zone, {}))
    assert list(found) == ["business_hours.time_zone"]


def test_a_missing_time_zone_is_a_field_error() -> None:
    assert "business_hours.time_zone" in violations({"weekly": {}})


@pytest.mark.parametrize(
    ("interval", "field"),
    [
        ({"start": "25:00", "end": "26:00"}, "business_hours.weekly.monday[0].start"),
        ({"start": "9:00", "end": "17:00"}, "business_hours.weekly.monday[0].start"),
        ({"start": "09:00", "end": "12:60"}, "business_hours.weekly.monday[0].end"),
        ({"start": "24:00", "end": "02:00"}, "business_hours.weekly.monday[0].start"),
        ({"start": "09:00", "end": "24:01"}, "business_hours.weekly.monday[0].end"),
        ({"start": "\uff10\uff19:00", "end": "12:00"}, "business_hours.weekly.monday[0].start"),
        ({"start": 900, "end": "12:00"}, "business_hours.weekly.monday[0].start"),
        ({"start": "09:00", "end": "09:00"}, "business_hours.weekly.monday[0]"),
        ({"start": "00:00", "end": "00:00"}, "business_hours.weekly.monday[0]"),
        ({"start": "09:00"}, "business_hours.weekly.monday[0]"),
        ({"start": "09:00", "end": "10:00", "note": "x"}, "business_hours.weekly.monday[0]"),
    ],
)
def test_invalid_intervals_name_their_field(interval: dict[str, Any], field: str) -> None:
    assert field in violations(schedule("UTC", {"monday": [interval]}))


@pytest.mark.parametrize(
    ("weekly", "field", "other"),
    [
        (
            {"monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]},
            "business_hours.weekly.monday[1]",
            "monday[0]",
        ),
        (
            {
                "monday": [
                    {"start": "08:00", "end": "20:00"},
                    {"start": "09:00", "end": "10:00"},
                    {"start": "12:00", "end": "13:00"},
                ]
            },
            "business_hours.weekly.monday[2]",
            "monday[0]",
        ),
        (
            {
                "friday": [{"start": "22:00", "end": "02:00"}],
                "saturday": [{"start": "01:00", "end": "05:00"}],
            },
            "business_hours.weekly.saturday[0]",
            "friday[0]",
        ),
        (
            {
                "sunday": [{"start": "22:00", "end": "01:00"}],
                "monday": [{"start": "00:30", "end": "08:00"}],
            },
            "business_hours.weekly.monday[0]",
            "sunday[0]",
        ),
    ],
)
def test_overlapping_intervals_are_refused(weekly: dict[str, Any], field: str, other: str) -> None:
    found = violations(schedule("UTC", weekly))
    assert found[field] == f"overlaps {other}"


def test_touching_intervals_are_fine() -> None:
    hours = parse_business_hours(
        schedule(
            "UTC",
            {
                "monday": [{"start": "09:00", "end": "12:00"}, {"start": "12:00", "end": "18:00"}],
                "tuesday": [{"start": "18:00", "end": "00:00"}],
                "wednesday": [{"start": "00:00", "end": "06:00"}],
            },
        )
    )
    assert is_open(hours, utc("2026-12-01T23:59:00"))
    assert is_open(hours, utc("2026-12-02T00:00:00"))


def test_every_violation_is_reported_at_once() -> None:
    found = violations(
        {
            "time_zone": "Nowhere/City",
            "weekly": {"funday": [], "monday": "09:00-17:00", "tuesday": [{"start": "x"}] * 9},
            "holidays": ["2026-02-30", "tomorrow", 20261225],
            "timezone": "UTC",
        }
    )
    assert set(found) == {
        "business_hours.time_zone",
        "business_hours.weekly.funday",
        "business_hours.weekly.monday",
        "business_hours.weekly.tuesday",
        "business_hours.holidays[0]",
        "business_hours.holidays[1]",
        "business_hours.holidays[2]",
        "business_hours.timezone",
    }


def test_a_non_object_and_too_many_holidays_are_refused() -> None:
    assert list(violations(["UTC"])) == ["business_hours"]
    many = [f"2026-01-{day:02d}" for day in range(1, 29)] * 15
    assert "business_hours.holidays" in violations(schedule("UTC", {}, many))
    assert "business_hours.weekly" in violations({"time_zone": "UTC", "weekly": []})
