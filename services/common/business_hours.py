"""Business hours: a weekly wall-clock schedule in an IANA time zone, with holidays.

A schedule is stored and exchanged as JSON::

    {"time_zone": "Asia/Kolkata",
     "weekly": {"monday": [{"start": "09:00", "end": "18:00"}], "friday": [...], ...},
     "holidays": ["2026-12-25"]}

Rules (validated by :func:`parse_business_hours`, every violation reported by field):

* Times are local wall-clock ``HH:MM``; ``end`` may be ``24:00``. An interval whose ``end``
  is earlier than its ``start`` **crosses midnight** (``22:00``-``02:00``): it belongs to
  the day it starts on, so a holiday on that day closes all of it, including the hours
  after midnight, and a holiday on the next day does not touch them. ``start`` equal to
  ``end`` is refused (empty or whole day? ``00:00``-``24:00`` says whole day).
* Intervals may not overlap, within a day or across midnight, Sunday night into Monday
  included. Touching (``09:00``-``12:00`` and ``12:00``-``18:00``) is fine.
* A day absent from ``weekly`` (or with no intervals) is closed; so is every holiday, a
  local date in the schedule's zone.
* Daylight saving time follows the wall clock, as a shop's opening hours do: on the night
  America/New_York springs forward, ``02:00``-``03:00`` does not exist and an interval
  inside it never opens, while ``01:00``-``04:00`` is open two real hours; when it falls
  back, the repeated hour is open both times it occurs.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Final

from services.common.errors import FieldViolation, InvalidArgument

MINUTES_PER_DAY: Final = 24 * 60
MAX_INTERVALS_PER_DAY: Final = 8
MAX_HOLIDAYS: Final = 400


class Weekday(Enum):
    """A day of the week, numbered as ``date.weekday()`` (Monday 0)."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def index(self) -> int:
        """0 for Monday .. 6 for Sunday."""
        return _WEEKDAYS.index(self)

    @classmethod
    def of(cls, day: date) -> Weekday:
        """The weekday of ``day``."""
        return _WEEKDAYS[day.weekday()]


_WEEKDAYS: Final = tuple(Weekday)


@dataclass(frozen=True, slots=True)
class OpenInterval:
    """Open from ``start`` to ``end`` minutes after local midnight of its day.

    ``end`` is 1..1440; ``end <= start`` means the interval runs into the next day.
    """

    start: int
    end: int

    @property
    def crosses_midnight(self) -> bool:
        """Whether the interval ends on the next day."""
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """A validated schedule (build it with :func:`parse_business_hours`)."""

    time_zone: str
    weekly: Mapping[Weekday, tuple[OpenInterval, ...]]
    holidays: frozenset[date]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The schedule's time zone."""
        return zoneinfo.ZoneInfo(self.time_zone)

    def to_json(self) -> dict[str, Any]:
        """The JSON form :func:`parse_business_hours` reads back unchanged."""
        return {
            "time_zone": self.time_zone,
            "weekly": {
                day.value: [
                    {"start": _clock(interval.start), "end": _clock(interval.end)}
                    for interval in intervals
                ]
                for day, intervals in self.weekly.items()
                if intervals
            },
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
        }


@dataclass(frozen=True, slots=True)
class HoursCheck:
    """Whether the schedule is open at an instant, and the local time that decided it."""

    open: bool
    local_time: datetime
    holiday: bool = False

    @property
    def detail(self) -> str:
        """For ``reason_detail`` and the explain trace."""
        when = f"{self.local_time:%A %Y-%m-%d %H:%M} {self.local_time.tzname()}"
        if self.open:
            return f"within business hours ({when})"
        if self.holiday:
            return f"closed for a holiday ({when})"
        return f"outside business hours ({when})"


def check(hours: BusinessHours, now: datetime) -> HoursCheck:
    """Whether ``hours`` is open at ``now`` (timezone-aware), with the local time."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(hours.zone)
    minute = local.hour * 60 + local.minute
    today = local.date()
    yesterday = today - timedelta(days=1)
    today_holiday = today in hours.holidays
    if not today_holiday:
        for interval in hours.weekly.get(Weekday.of(today), ()):
            end = MINUTES_PER_DAY if interval.crosses_midnight else interval.end
            if interval.start <= minute < end:
                return HoursCheck(True, local)
    if yesterday not in hours.holidays:
        for interval in hours.weekly.get(Weekday.of(yesterday), ()):
            if interval.crosses_midnight and minute < interval.end:
                return HoursCheck(True, local)
    return HoursCheck(False, local, holiday=today_holiday)


def is_open(hours: BusinessHours, now: datetime) -> bool:
    """Whether ``hours`` is open at ``now`` (timezone-aware)."""
    return check(hours, now).open


def parse_business_hours(raw: Any, field: str = "business_hours") -> BusinessHours:
    """Validate the JSON form; InvalidArgument names every bad field under ``field``."""
    violations: list[FieldViolation] = []
    if not isinstance(raw, Mapping):
        raise InvalidArgument.for_field(field, f"{field} must be an object")
    unknown = sorted(set(raw) - {"time_zone", "weekly", "holidays"})
    for key in unknown:
        violations.append(FieldViolation(f"{field}.{key}", f"unknown field {key!r}"))
    time_zone = _time_zone(raw.get("time_zone"), f"{field}.time_zone", violations)
    weekly = _weekly(raw.get("weekly", {}), f"{field}.weekly", violations)
    holidays = _holidays(raw.get("holidays", []), f"{field}.holidays", violations)
    if violations:
        raise InvalidArgument(violations[0].description, violations=violations)
    assert time_zone is not None
    return BusinessHours(time_zone, weekly, holidays)


_NOT_ZONE_NAMES: Final = frozenset({"localtime", "posixrules", "Factory"})
"""Files of a system zoneinfo directory that are not IANA zone names."""


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_ZONE_NAMES and not name.startswith(("posix/", "right/"))
    )


def _time_zone(value: Any, field: str, violations: list[FieldViolation]) -> str | None:
    if not isinstance(value, str) or not value:
        violations.append(FieldViolation(field, "time_zone is required (an IANA name)"))
        return None
    if value not in _known_zones():
        violations.append(
            FieldViolation(field, f"unknown IANA time zone {value[:64]!r} (e.g. Asia/Kolkata)")
        )
        return None
    return value


def _weekly(
    value: Any, field: str, violations: list[FieldViolation]
) -> dict[Weekday, tuple[OpenInterval, ...]]:
    if not isinstance(value, Mapping):
        violations.append(FieldViolation(field, "weekly must be an object keyed by weekday"))
        return {}
    names = {day.value: day for day in Weekday}
    weekly: dict[Weekday, tuple[OpenInterval, ...]] = {}
    placed: list[tuple[int, int, str]] = []  # (start, end) minutes of the week, field
    for key, intervals in value.items():
        day = names.get(key) if isinstance(key, str) else None
        if day is None:
            violations.append(
                FieldViolation(f"{field}.{str(key)[:32]}", "not a weekday (monday .. sunday)")
            )
            continue
        day_field = f"{field}.{day.value}"
        if not isinstance(intervals, list):
            violations.append(FieldViolation(day_field, "must be a list of intervals"))
            continue
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            violations.append(
                FieldViolation(day_field, f"at most {MAX_INTERVALS_PER_DAY} intervals a day")
            )
            continue
        parsed: list[OpenInterval] = []
        for position, item in enumerate(intervals):
            interval = _interval(item, f"{day_field}[{position}]", violations)
            if interval is None:
                continue
            parsed.append(interval)
            for segment in _week_segments(day, interval):
                placed.append((*segment, f"{day_field}[{position}]"))
        weekly[day] = tuple(sorted(parsed, key=lambda interval: interval.start))
    _check_overlaps(placed, violations)
    return weekly


def _interval(item: Any, field: str, violations: list[FieldViolation]) -> OpenInterval | None:
    if not isinstance(item, Mapping) or set(item) != {"start", "end"}:
        violations.append(
            FieldViolation(field, 'an interval is {"start": "HH:MM", "end": "HH:MM"}')
        )
        return None
    start = _minutes(item["start"], allow_24=False)
    end = _minutes(item["end"], allow_24=True)
    if start is None:
        violations.append(FieldViolation(f"{field}.start", "start must be HH:MM (00:00-23:59)"))
    if end is None:
        violations.append(FieldViolation(f"{field}.end", "end must be HH:MM (00:00-24:00)"))
    if start is None or end is None:
        return None
    if end == start:
        violations.append(
            FieldViolation(
                field, "start and end are the same time: use 00:00-24:00 for the whole day"
            )
        )
        return None
    return OpenInterval(start, end or MINUTES_PER_DAY)


def _minutes(value: Any, *, allow_24: bool) -> int | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit() and hours.isascii() and minutes.isascii()):
        return None
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60:
        return None
    if total == MINUTES_PER_DAY and allow_24:
        return total
    return total if total < MINUTES_PER_DAY else None


_WEEK: Final = 7 * MINUTES_PER_DAY


def _week_segments(day: Weekday, interval: OpenInterval) -> list[tuple[int, int]]:
    """The interval as minutes of the week, split where Sunday night wraps to Monday."""
    start = day.index * MINUTES_PER_DAY + interval.start
    length = (interval.end - interval.start) % MINUTES_PER_DAY or MINUTES_PER_DAY
    end = start + length
    if end <= _WEEK:
        return [(start, end)]
    return [(start, _WEEK), (0, end - _WEEK)]


def _check_overlaps(placed: list[tuple[int, int, str]], violations: list[FieldViolation]) -> None:
    reported: set[str] = set()
    latest_end, latest = -1, ""
    for start, end, interval in sorted(placed):
        if start < latest_end and interval != latest and interval not in reported:
            reported.add(interval)
            violations.append(FieldViolation(interval, f"overlaps {latest.rsplit('.', 1)[-1]}"))
        if end > latest_end:
            latest_end, latest = end, interval


def _holidays(value: Any, field: str, violations: list[FieldViolation]) -> frozenset[date]:
    if not isinstance(value, list):
        violations.append(FieldViolation(field, "holidays must be a list of YYYY-MM-DD dates"))
        return frozenset()
    if len(value) > MAX_HOLIDAYS:
        violations.append(FieldViolation(field, f"at most {MAX_HOLIDAYS} holidays"))
        return frozenset()
    days: set[date] = set()
    for position, item in enumerate(value):
        try:
            if not isinstance(item, str) or len(item) != 10:
                raise ValueError(item)
            days.add(date.fromisoformat(item))
        except ValueError:
            violations.append(FieldViolation(f"{field}[{position}]", "not a YYYY-MM-DD date"))
    return frozenset(days)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
