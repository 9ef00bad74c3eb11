"""One parser for typed points in time."""

import pytest

from medchain.errors import InvalidInput
from medchain.timeutil import unix_seconds


def test_iso_with_zone_without_zone_and_digits():
    assert unix_seconds("2026-01-02T03:04:05Z") == 1767323045
    assert unix_seconds("2026-01-02T03:04:05") == 1767323045  # no zone: UTC
    assert unix_seconds("2026-01-02T04:04:05+01:00") == 1767323045
    assert unix_seconds(" 1767323045 ") == 1767323045


def test_garbage_is_named():
    with pytest.raises(InvalidInput, match="expiry must be ISO 8601 or unix seconds, got 'soon'"):
        unix_seconds("soon", "expiry")


def test_durations_and_times_relative_to_now():
    from medchain.timeutil import DAY, duration_seconds, point_in_time

    assert [duration_seconds(t) for t in ("90", "30m", "4h", "3d", " 2s ")] == [
        90, 1800, 14400, 3 * DAY, 2,
    ]  # fmt: skip
    with pytest.raises(InvalidInput, match="--duration 'soon' is not like 3600, 30m, 4h or 3d"):
        duration_seconds("soon", "--duration")
    assert point_in_time("+30d", now=1000) == 1000 + 30 * DAY
    assert point_in_time("2026-01-02T03:04:05Z", now=0) == 1767323045
    with pytest.raises(InvalidInput, match="--until"):
        point_in_time("+soon", now=0, what="--until")
