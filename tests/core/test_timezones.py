"""The local-time helpers other pages use (apps/core/timezones.py)."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format

from apps.core.timezones import (
    abbreviation,
    format_local,
    format_window,
    local_time_problem,
    zone_label,
)

DENVER = zoneinfo.ZoneInfo("America/Denver")
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
HONOLULU = zoneinfo.ZoneInfo("Pacific/Honolulu")


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (utc(2026, 12, 8, 15), DENVER, "MST"),
        (utc(2026, 7, 8, 15), DENVER, "MDT"),
        (utc(2026, 12, 8, 15), KOLKATA, "IST"),
        (utc(2026, 12, 8, 15), HONOLULU, "HST"),
        (utc(2026, 12, 8, 15), zoneinfo.ZoneInfo("Asia/Dubai"), "+04"),
    ],
)
def test_abbreviation_of_the_moment(moment, zone, expected):
    assert abbreviation(moment, zone) == expected


def test_zone_label_names_the_zone_and_its_abbreviation():
    assert zone_label(utc(2026, 12, 8, 15), DENVER) == "MST (America/Denver)"
    assert zone_label(utc(2026, 12, 8, 15), dt.UTC) == "UTC"
    with timezone.override(KOLKATA):
        assert zone_label() == "IST (Asia/Kolkata)"


def test_format_local_uses_the_active_zone_unless_told():
    moment = utc(2026, 12, 8, 15)
    with timezone.override(DENVER):
        assert format_local(moment) == "Dec. 8, 2026, 8:00 AM MST"
    assert format_local(moment, zone=KOLKATA) == "Dec. 8, 2026, 8:30 PM IST"
    assert format_local(None) == ""


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (utc(2026, 12, 8, 15), utc(2026, 12, 8, 17), "Tue Dec 8, 8:00 \u2013 10:00 AM MST"),
        (utc(2026, 12, 8, 15), utc(2026, 12, 8, 21), "Tue Dec 8, 8:00 AM \u2013 2:00 PM MST"),
        (
            utc(2026, 12, 9, 5),
            utc(2026, 12, 9, 8),
            "Tue Dec 8, 10:00 PM MST \u2013 Wed Dec 9, 1:00 AM MST",
        ),
        # Across the fall-back change: both ends say which 1 o'clock they mean.
        (
            utc(2026, 11, 1, 7, 30),
            utc(2026, 11, 1, 8, 30),
            "Sun Nov 1, 1:30 AM MDT \u2013 Sun Nov 1, 1:30 AM MST",
        ),
        (utc(2026, 12, 8, 15), None, "Tue Dec 8, 8:00 AM MST"),
        (None, None, ""),
    ],
)
def test_format_window(start, end, expected):
    assert format_window(start, end, DENVER) == expected


def test_local_time_problems_on_the_nights_the_clocks_change():
    assert local_time_problem(dt.datetime(2026, 3, 8, 1, 59), DENVER) is None
    assert local_time_problem(dt.datetime(2026, 3, 8, 3, 0), DENVER) is None
    gap = local_time_problem(dt.datetime(2026, 3, 8, 2, 30), DENVER)
    assert gap == (
        "2:30 AM on Sun Mar 8, 2026 does not exist in America/Denver: the clocks jump from "
        "2:00 AM to 3:00 AM that night. Enter a time before 2:00 AM or from 3:00 AM."
    )
    repeated = local_time_problem(dt.datetime(2026, 11, 1, 1, 30), DENVER)
    assert repeated.startswith(
        "1:30 AM on Sun Nov 1, 2026 happens twice in America/Denver (MDT, then MST): the clocks "
        "go back from 2:00 AM to 1:00 AM that night. Enter a time outside 1:00 AM\u20132:00 AM"
    )
    assert local_time_problem(dt.datetime(2026, 11, 1, 2, 0), DENVER) is None
    # Zones without daylight saving never refuse a time.
    assert local_time_problem(dt.datetime(2026, 3, 8, 2, 30), KOLKATA) is None
    assert local_time_problem(dt.datetime(2026, 11, 1, 1, 30), HONOLULU) is None


def test_half_hour_daylight_saving_is_found_too():
    # Lord Howe Island moves its clocks by 30 minutes, at 2:00 AM on the first Sunday of October.
    problem = local_time_problem(
        dt.datetime(2026, 10, 4, 2, 15), zoneinfo.ZoneInfo("Australia/Lord_Howe")
    )
    assert "jump from 2:00 AM to 2:30 AM" in problem


def test_the_abbreviation_is_printed_for_an_aware_time_in_the_repeated_hour():
    # Django prints nothing for `T` when the wall time is ambiguous; an aware value knows.
    first = timezone.localtime(utc(2026, 11, 1, 7, 30), DENVER)
    second = timezone.localtime(utc(2026, 11, 1, 8, 30), DENVER)
    assert date_format(first, "g:i A T") == "1:30 AM MDT"
    assert date_format(second, "g:i A T") == "1:30 AM MST"
