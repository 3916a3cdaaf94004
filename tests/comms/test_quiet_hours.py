import datetime as dt

import pytest

from apps.comms.services.quiet_hours import next_send_time

EIGHT, NINE_PM = dt.time(8), dt.time(21)


def _utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (_utc(2026, 11, 18, 17, 0), "America/Denver", None),  # 10:00 local
        (_utc(2026, 11, 18, 14, 0), "America/Denver", _utc(2026, 11, 18, 15, 0)),  # 07:00 -> 08:00
        (_utc(2026, 11, 18, 14, 0), "America/New_York", None),  # 09:00 in New York
        (_utc(2026, 11, 19, 3, 30), "America/Los_Angeles", None),  # 19:30 in Los Angeles
        (_utc(2026, 11, 19, 5, 30), "America/Los_Angeles", _utc(2026, 11, 19, 16, 0)),  # 21:30 -> 8
        (_utc(2026, 11, 19, 4, 0), "America/Denver", _utc(2026, 11, 19, 15, 0)),  # exactly 21:00
        (_utc(2026, 11, 18, 20, 0), "Pacific/Honolulu", None),  # 10:00 in Hawaii
    ],
)
def test_next_send_time_in_the_recipients_zone(now, tz, expected):
    assert next_send_time(now=now, tz=tz, start=EIGHT, end=NINE_PM) == expected


def test_window_opening_across_a_dst_change():
    # 2026-11-01: US clocks fall back at 2 am; 8 am Denver is then 15:00 UTC, not 14:00.
    now = _utc(2026, 11, 1, 7, 0)  # 01:00 MDT
    assert next_send_time(now=now, tz="America/Denver", start=EIGHT, end=NINE_PM) == _utc(
        2026, 11, 1, 15, 0
    )


def test_window_that_crosses_midnight():
    start, end = dt.time(22), dt.time(6)  # a night-shift business
    inside = _utc(2026, 11, 19, 6, 0)  # 23:00 Denver
    outside = _utc(2026, 11, 18, 17, 0)  # 10:00 Denver
    assert next_send_time(now=inside, tz="America/Denver", start=start, end=end) is None
    assert next_send_time(now=outside, tz="America/Denver", start=start, end=end) == _utc(
        2026, 11, 19, 5, 0
    )


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        next_send_time(now=dt.datetime(2026, 1, 1), tz="UTC", start=EIGHT, end=NINE_PM)
